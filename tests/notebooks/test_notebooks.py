"""Every notebook in notebooks/ executes with nbclient on the exformer kernel; widget outputs
carry the live view plus PNG and text fallbacks; widget state is saved in the notebook.
Executed copies are kept in tests/artifacts/notebooks/."""
import base64
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "notebooks"
sys.path.insert(0, str(ROOT / "tests" / "engine"))

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def execute(name: str, env=None):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, kernel_name="exformer", timeout=600, startup_timeout=300, store_widget_state=True,
                            resources={"metadata": {"path": str(ARTIFACTS)}})
    kwargs = {}
    if env:
        kwargs["env"] = {**os.environ, **env}
    client.execute(**kwargs)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, ARTIFACTS / f"{name}.ipynb")
    return nb


def outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield from cell.outputs


def widget_outputs(nb):
    return [o for o in outputs(nb) if WIDGET_MIME in o.get("data", {})]


def check_widget_outputs(nb, expected):
    errors = [o for o in outputs(nb) if o.output_type == "error"]
    assert not errors, f"{errors[0].ename}: {errors[0].evalue}"
    ws = widget_outputs(nb)
    assert len(ws) == expected, [o.output_type for o in outputs(nb)]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    for o in ws:
        data = o["data"]
        model_id = data[WIDGET_MIME]["model_id"]
        assert model_id in state, "the widget's state is saved in the notebook"
        saved = state[model_id]["state"]
        assert saved["_model_name"] == "AnyModel" and saved["_esm"].startswith("//")
        assert saved["seq_len"] == len(saved["tokens"]) > 0
        png = base64.b64decode(data["image/png"])
        assert png.startswith(PNG_SIG) and len(png) > 1000
        assert data["text/plain"].startswith("AttentionView:")
    return state


def test_quickstart():
    nb = execute("quickstart")
    check_widget_outputs(nb, expected=3)
    texts = "".join(o.get("text", "") for o in outputs(nb) if o.output_type == "stream")
    before = next(l for l in texts.splitlines() if l.startswith("next token before"))
    after = next(l for l in texts.splitlines() if l.startswith("next token after"))
    assert before != after, "knocking out ' France' changes the next-token distribution"
    assert (ARTIFACTS / "quickstart_view.html").stat().st_size > 10_000


def test_encoders():
    nb = execute("encoders")
    state = check_widget_outputs(nb, expected=3)
    kinds = sorted(s["state"]["kind"] for s in state.values() if "kind" in s["state"])
    assert kinds.count("masked_lm") >= 2 and "encoder" in kinds
    pair = [s["state"] for s in state.values() if any(t["segment"] == 1 for t in s["state"].get("tokens", []))]
    assert pair, "the sentence pair marks segment B"


def test_decoders():
    nb = execute("decoders")
    check_widget_outputs(nb, expected=1)
    texts = "".join(o.get("text", "") for o in outputs(nb) if o.output_type == "stream")
    assert "before:" in texts and "after ablating" in texts


def test_other_architectures(tmp_path):
    import gen_checkpoints
    import gen_decoders
    env = {
        "EXFORMER_DEMO_GPT2": str(gen_decoders.make("gpt2", tmp_path)),
        "EXFORMER_DEMO_QWEN2": str(gen_decoders.make("qwen2", tmp_path)),
        "EXFORMER_DEMO_GEMMA3": str(gen_decoders.make("gemma3", tmp_path)),
        "EXFORMER_DEMO_ROBERTA": str(gen_checkpoints.make("roberta", tmp_path)),
    }
    nb = execute("other_architectures", env)
    state = check_widget_outputs(nb, expected=4)
    archs = {s["state"].get("model_name") for s in state.values()}
    assert len(archs - {None}) >= 1
