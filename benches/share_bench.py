"""Page sizes of shared notebooks: what an exported HTML page weighs, and what each exformer view
adds to it. Prints tables; not a test.

    . scripts/env.sh && python benches/share_bench.py [NOTEBOOK ...]

Default notebook: docs/example_executed.ipynb (the quickstart, executed: a 12-token SmolLM2 view,
a 9-token BERT view, a 121-token view). For each notebook:

1. per view: tokens, layers x heads, the attention weights it carries, the bytes of its attention
   buffers in the page (gzip + base64) and per weight, its PNG, its state, and the page of a
   notebook holding that view alone (the widget module then counted once, with it);
2. the whole page: stock nbconvert of the same notebook without exformer_share (widgets from a
   CDN), the exformer_share page (`jupyter nbconvert --to html` in the venv), nbconvert's own
   template (an empty notebook), and the widget module once per page;
3. the saved .ipynb: its widget state and each MIME type of the views' outputs.
"""
import base64
import copy
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import nbformat  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402
from traitlets.config import Config  # noqa: E402

from exformer_share import ExformerSharePreprocessor, convert  # noqa: E402

WIDGET_VIEW = convert.WIDGET_VIEW
WIDGET_STATE = convert.WIDGET_STATE
LIMIT_12 = 400 * 1024


def page(nb, share: bool) -> int:
    ex = HTMLExporter(config=Config())
    if share:
        ex.register_preprocessor(ExformerSharePreprocessor(), enabled=True)
    body, _ = ex.from_notebook_node(copy.deepcopy(nb))
    return len(body.encode())


def views(nb):
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for ci, cell in enumerate(nb.cells):
        for oi, o in enumerate(cell.get("outputs", [])):
            v = o.get("data", {}).get(WIDGET_VIEW)
            if v and v["model_id"] in models and convert.is_exformer(models[v["model_id"]]):
                yield ci, oi, o, models[v["model_id"]]


def alone(nb, ci, oi):
    """The notebook with that one view and nothing else (no other cell, the view's model only)."""
    one = copy.deepcopy(nb)
    cell = one.cells[ci]
    cell.outputs = [cell.outputs[oi]]
    one.cells = [cell]
    mid = cell.outputs[0]["data"][WIDGET_VIEW]["model_id"]
    st = one.metadata["widgets"][WIDGET_STATE]["state"]
    for k in list(st):
        if k != mid:
            del st[k]
    return one


def kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


def bench(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    empty = nbformat.v4.new_notebook()
    empty.metadata = copy.deepcopy(nb.metadata)
    empty.metadata.pop("widgets", None)
    base = page(empty, share=False)
    print(f"\n## {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}\n")
    rows = []
    for ci, oi, o, m in views(nb):
        s = m["state"]
        T, L, H = s["seq_len"], s["n_layers"], s["n_heads"]
        st = convert.static_state(m)
        gz = st.get("_buffers_gzip", {})
        in_page = sum(len(v) for v in gz.values())
        raw = sum(len(base64.b64decode(b["data"])) for b in m.get("buffers", []))
        has_all = any(b["path"] == ["attn_all"] and b["data"] for b in m.get("buffers", []))
        weights = L * H * T * T if has_all else H * s.get("attn_size", T) ** 2 + L * H * s.get("thumb_size", 0) ** 2
        png = len("".join(o["data"]["image/png"]).replace("\n", ""))
        state_json = len(json.dumps({k: v for k, v in st.items() if not k.startswith("_buffers")}).encode())
        one = alone(nb, ci, oi)
        p1 = page(one, share=True)
        rows.append((T, f"{L} x {H}", "all layers" if has_all else "1 layer + thumbs", weights, raw, in_page, in_page / weights,
                     png, state_json, p1, p1 - base))
    print("| tokens | layers x heads | attention carried | weights | buffers raw | buffers in page (gzip+b64) | bytes/weight "
          "| PNG (b64) | other state | page with this view alone | that page minus nbconvert's template |")
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:,} | {kb(r[4])} | {kb(r[5])} | {r[6]:.2f} | {kb(r[7])} | {kb(r[8])} | {kb(r[9])} | {kb(r[10])} |")
    models = nb.metadata["widgets"][WIDGET_STATE]["state"]
    esm = next(m["state"]["_esm"] for m in models.values() if convert.is_exformer(m))
    css = next(m["state"].get("_css", "") for m in models.values() if convert.is_exformer(m))
    module = len(base64.b64encode(gzip.compress(esm.encode(), 9, mtime=0)))
    stock, shared = page(nb, share=False), page(nb, share=True)
    n = len(rows)
    print()
    print("| page | bytes |")
    print("| --- | ---: |")
    print(f"| nbconvert's template alone (empty notebook: CSS, require.js + MathJax tags) | {kb(base)} |")
    print(f"| stock nbconvert, {n} views (widget manager from a CDN: blank offline) | {kb(stock)} |")
    print(f"| exformer_share, {n} views (offline, interactive) | {kb(shared)} |")
    print(f"| of which the widget module, once per page (gzip+b64 of {kb(len(esm))}) + CSS | {kb(module)} + {kb(len(css))} |")
    print(f"| JS module copies on the exformer_share page | 1 (stock: {n}, one `_esm` per view in the widget state) |")
    # the saved notebook itself: what each part of the views' outputs weighs
    by_mime: dict[str, int] = {}
    for _, _, o, _ in views(nb):
        for mime, v in o["data"].items():
            by_mime[mime] = by_mime.get(mime, 0) + len(json.dumps(v).encode())
    print()
    print("| the .ipynb | bytes |")
    print("| --- | ---: |")
    print(f"| whole file | {kb(path.stat().st_size)} |")
    print(f"| widget state (`metadata.widgets`: {n} `_esm` copies, buffers) | {kb(len(json.dumps(nb.metadata['widgets']).encode()))} |")
    for mime in sorted(by_mime, key=lambda m: -by_mime[m]):
        what = {"image/png": "the PNGs", "text/html": "the PNG + text HTML (the PNGs again)", "text/plain": "the text summaries"}.get(mime, "")
        print(f"| views' `{mime}` {what} | {kb(by_mime[mime])} |")
    for r in rows:
        if r[0] == 12:
            verdict = "ok" if r[10] <= LIMIT_12 else "OVER"
            print(f"\n12-token view: {kb(r[10])} over nbconvert's template (module + state + PNG), limit {kb(LIMIT_12)}: {verdict}; "
                  f"the whole page {kb(r[9])}")


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or [ROOT / "docs" / "example_executed.ipynb"]
    for p in paths:
        bench(p.resolve())


if __name__ == "__main__":
    main()
