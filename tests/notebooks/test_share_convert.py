"""exformer_share's rewriting of a notebook, without a kernel: buffers survive the page encoding,
other widgets keep their state and nbconvert's widget manager, the module goes once per page.
(The end-to-end checks over a real kernel and browser are in tests/browser/test_share.py.)"""
import base64
import gzip
import json
import sys
from pathlib import Path

import nbformat
import numpy as np
from nbconvert import HTMLExporter
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from exformer_share import ExformerSharePreprocessor, convert  # noqa: E402

VIEW, STATE = convert.WIDGET_VIEW, convert.WIDGET_STATE
ESM = (ROOT / "widget" / "exformer.js").read_text()
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(a.astype(np.uint8).tobytes()).decode()


def _exformer_model(rng, L=3, H=2, T=5, layer=1):
    all_ = rng.integers(0, 256, size=(L, H, T, T))
    state = {"_model_name": "AnyModel", "_esm": ESM, "_css": ".exformer{}", "model_name": "m", "kind": "causal_lm",
             "n_layers": L, "n_heads": H, "seq_len": T, "tokens": [{"text": f"t{i}<&>"} for i in range(T)], "layer": layer,
             "attn_layer": layer, "attn_size": T, "thumb_size": T, "busy": True}
    buffers = [{"path": ["attn"], "encoding": "base64", "data": _b64(all_[layer])},
               {"path": ["attn_all"], "encoding": "base64", "data": _b64(all_)},
               {"path": ["thumbs"], "encoding": "base64", "data": _b64(all_)}]
    return {"model_name": "AnyModel", "model_module": "anywidget", "model_module_version": "~0.11.*", "state": state, "buffers": buffers}, all_


def _notebook(models, views):
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {STATE: {"version_major": 2, "version_minor": 0, "state": models}}
    for mid in views:
        out = nbformat.v4.new_output("display_data", data={VIEW: {"model_id": mid, "version_major": 2, "version_minor": 1},
                                                            "image/png": PNG, "text/plain": f"AttentionView: {mid}\ntokens"})
        nb.cells.append(nbformat.v4.new_code_cell("view", outputs=[out]))
    return nb


def test_buffers_survive_and_duplicates_go_once():
    model, all_ = _exformer_model(np.random.default_rng(0))
    st = convert.static_state(model)
    assert st["busy"] is False and "_esm" not in st
    assert st["_buffers_alias"] == {"thumbs": "attn_all"} and set(st["_buffers_gzip"]) == {"attn_all"}
    back = gzip.decompress(base64.b64decode(st["_buffers_gzip"]["attn_all"]))
    assert back == all_.astype(np.uint8).tobytes()


def test_other_widgets_keep_nbconvert_rendering():
    rng = np.random.default_rng(1)
    a, _ = _exformer_model(rng)
    b, _ = _exformer_model(rng)
    slider = {"model_name": "IntSliderModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
              "state": {"value": 3}}
    box = {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
           "state": {"children": ["IPY_MODEL_b"]}}
    nb = _notebook({"a": a, "b": b, "s": slider, "box": box}, ["a", "b", "s"])
    ex = HTMLExporter(config=Config())
    ex.register_preprocessor(ExformerSharePreprocessor(), enabled=True)
    body, res = ex.from_notebook_node(nb)
    assert res["exformer_share"] == {"views": 2, "modules": 1}
    assert body.count('class="exformer-share"') == 2 and body.count('id="exformer-share-module-') == 1
    # the slider (and the box that holds view b) keep their state and nbconvert's widget manager
    start = body.index(f'<script type="{STATE}">') + len(STATE) + 16
    saved = json.loads(body[start:body.index("</script>", start)])
    assert set(saved["state"]) == {"s", "box", "b"}
    assert "embed-amd.js" in body and f'type="{VIEW}"' in body


def test_only_exformer_views_no_widget_manager():
    a, _ = _exformer_model(np.random.default_rng(2))
    nb = _notebook({"a": a}, ["a"])
    ex = HTMLExporter(config=Config())
    ex.register_preprocessor(ExformerSharePreprocessor(), enabled=True)
    body, _ = ex.from_notebook_node(nb)
    assert "embed-amd.js" not in body and STATE not in body and VIEW not in body
    assert f"data:image/png;base64,{PNG}" in body and 'alt="AttentionView: a"' in body
    # token text cannot end the state's <script>
    assert "t0<&>" not in body and "t0\\u003c\\u0026\\u003e" in body


def test_split_snapshots_only_touches_exformer_views():
    """For markdown / LaTeX exports each exformer view becomes its PNG, then its text as a second
    output; other outputs (an HTML table with a PNG beside it, plain text) stay as they are."""
    view = {"output_type": "display_data", "metadata": {}, "data": {
        VIEW: {"model_id": "m1", "version_major": 2, "version_minor": 1},
        "text/html": '<div class="exformer-snapshot"><img src="data:image/png;base64,' + PNG + '"><pre>AttentionView: m</pre></div>',
        "image/png": PNG, "text/plain": "AttentionView: m\ntokens (1): 0:\"a\""}}
    other = {"output_type": "display_data", "metadata": {}, "data": {"text/html": "<table></table>", "image/png": PNG, "text/plain": "t"}}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[nbformat.from_dict(view), nbformat.from_dict(other)])]
    assert convert.split_snapshots(nb) == 1
    outs = nb.cells[0].outputs
    assert [o.output_type for o in outs] == ["display_data", "stream", "display_data"]
    assert outs[0].data == {"image/png": PNG}
    assert outs[1].text == "AttentionView: m\ntokens (1): 0:\"a\"\n" and outs[1].name == "stdout"
    assert outs[2].data["text/html"] == "<table></table>"
    nbformat.validate(nb)
