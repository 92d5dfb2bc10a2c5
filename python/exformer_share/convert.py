"""Turns the exformer views of an executed notebook into self-contained HTML outputs.

Each view's output (widget-view + PNG + text) becomes one `text/html` output that draws the view
from the notebook's saved widget state with the widget's own module (`createStaticModel`, as
`save_html` does), with no kernel and no network. The module and its CSS are written once per page,
gzip-compressed; the attention buffers are gzip-compressed too (a causal LM's upper triangle is
zero). The view's PNG snapshot sits in the same output and stays on screen where JavaScript does not
run. Exformer models are then dropped from the notebook's widget state; when no other widget is
left, `metadata.widgets` goes too, so nbconvert no longer loads the widget HTML manager from a CDN.
Other widgets keep their state and render as nbconvert renders them.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
from pathlib import Path

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
LOADER_JS = (Path(__file__).with_name("loader.js")).read_text()
PAGE_CSS = """
.exformer-share { margin: 4px 0; }
.exformer-share > .exformer-share-png { display: block; max-width: 100%; height: auto; }
.exformer-share > .exformer-share-text { margin: 4px 0 0; white-space: pre-wrap; font-size: 12px; }
.exformer-share.is-live > .exformer-share-png, .exformer-share.is-live > .exformer-share-text { display: none; }
"""


def is_exformer(model: dict) -> bool:
    """An anywidget model whose module is the exformer widget."""
    s = model.get("state", {})
    return (
        model.get("model_name") == "AnyModel"
        and isinstance(s.get("_esm"), str)
        and "createStaticModel" in s["_esm"]
        and "tokens" in s
        and "n_layers" in s
    )


def _joined(value) -> str:
    """An output's MIME value as one string (nbformat may store it as a list of lines)."""
    return "".join(value) if isinstance(value, list) else (value or "")


def _gzip_b64(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")


def _script_json(obj) -> str:
    """JSON safe inside <script>: `<`, `>` and `&` only occur in strings, escaped as \\u00XX."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _decode_buffers(model: dict) -> dict[str, bytes]:
    out = {}
    for b in model.get("buffers", []):
        path = b.get("path") or []
        if len(path) != 1:
            raise ValueError(f"nested buffer path {path}")
        data = b.get("data", "")
        out[path[0]] = bytes.fromhex(data) if b.get("encoding") == "hex" else base64.b64decode(data)
    return out


def static_state(model: dict) -> dict:
    """The state `createStaticModel` takes, with the buffers gzip + base64 under `_buffers_gzip`
    and a buffer equal to another one given as an alias (`thumbs` is `attn_all` when the thumbnails
    are at full resolution; `attn` is left out when it is a slice of `attn_all`)."""
    s = model["state"]
    state = {k: v for k, v in s.items() if not k.startswith("_") and k not in ("layout", "tabbable", "tooltip")}
    state["busy"] = False
    bufs = _decode_buffers(model)
    alias = {}
    all_ = bufs.get("attn_all") or b""
    n_l, n_h, t = s.get("n_layers", 0), s.get("n_heads", 0), s.get("seq_len", 0)
    per = n_h * t * t
    if all_ and per and len(all_) == n_l * per:
        if bufs.get("thumbs") == all_ and s.get("thumb_size") == t:
            del bufs["thumbs"]
            alias["thumbs"] = "attn_all"
        layer = s.get("attn_layer", -1)
        if s.get("attn_size") == t and 0 <= layer < n_l and bufs.get("attn") == all_[layer * per:(layer + 1) * per]:
            del bufs["attn"]  # createStaticModel slices attn_all at `layer`
            state["layer"] = layer
    state["_buffers_gzip"] = {k: _gzip_b64(v) for k, v in bufs.items() if v}
    if alias:
        state["_buffers_alias"] = alias
    return state


def _module_id(esm: str) -> str:
    return hashlib.sha256(esm.encode()).hexdigest()[:12]


def _page_head(modules: dict[str, dict]) -> str:
    """Module(s), CSS and loader: once per page, in the first view's output."""
    parts = []
    css = "\n".join(dict.fromkeys(m["css"] for m in modules.values()))
    css = css.replace("</style", "<\\/style")  # cannot end the element early
    parts.append(f"<style>{PAGE_CSS}\n{css}</style>")
    for mid, m in modules.items():
        parts.append(f'<script type="text/plain" id="exformer-share-module-{mid}" data-encoding="gzip+base64">'
                     f'{_gzip_b64(m["esm"].encode())}</script>')
    parts.append(f"<script>{LOADER_JS}</script>")
    return "\n".join(parts)


def _view_html(model_id: str, module_id: str, state: dict, png: str | None, text: str) -> str:
    summary = text.strip().splitlines()[0] if text.strip() else "exformer attention view"
    # where the script does not run: the PNG over the text summary (as the view's own HTML output)
    img = (f'<img class="exformer-share-png" src="data:image/png;base64,{png}" alt="{html.escape(summary)}">'
           f'<pre class="exformer-share-text">{html.escape(text)}</pre>'
           if png else f'<pre class="exformer-share-png">{html.escape(text)}</pre>')
    return (f'<div class="exformer-share" data-exformer-module="{module_id}" data-model-id="{html.escape(model_id)}">'
            f'<script type="application/json" class="exformer-share-state">{_script_json(state)}</script>'
            f"{img}<div class=\"exformer-share-root\"></div></div>")


def _referenced(models: dict, ids: set[str]) -> set[str]:
    """Ids among `ids` that a model outside `ids` references (IPY_MODEL_<id>)."""
    text = json.dumps({k: v.get("state", {}) for k, v in models.items() if k not in ids})
    return {i for i in ids if f"IPY_MODEL_{i}" in text}


def convert_notebook(nb) -> dict:
    """Rewrites `nb` in place (an nbformat NotebookNode or plain dict); returns counts."""
    widgets = nb.get("metadata", {}).get("widgets", {})
    models = (widgets.get(WIDGET_STATE) or {}).get("state") or {}
    exf = {k for k, m in models.items() if is_exformer(m)}
    modules: dict[str, dict] = {}
    converted: set[str] = set()
    first_box = None
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data") or {}
            view = data.get(WIDGET_VIEW)
            if not isinstance(view, dict) or view.get("model_id") not in exf:
                continue
            mid = view["model_id"]
            model = models[mid]
            try:
                state = static_state(model)
            except (ValueError, KeyError, TypeError):
                continue  # leave it to nbconvert (it shows the PNG)
            esm = model["state"]["_esm"]
            module_id = _module_id(esm)
            modules.setdefault(module_id, {"esm": esm, "css": model["state"].get("_css", "")})
            text = _joined(data.get("text/plain"))
            png = _joined(data.get("image/png"))
            box = _view_html(mid, module_id, state, png.replace("\n", "") if png else None, text)
            out["data"] = {"text/html": box, "text/plain": text}
            out.setdefault("metadata", {})
            converted.add(mid)
            if first_box is None:
                first_box = out
    if first_box is not None:
        # the head goes with the first view; modules found later on the page are added there too
        first_box["data"]["text/html"] = _page_head(modules) + "\n" + first_box["data"]["text/html"]
    keep = _referenced(models, converted)
    for mid in converted - keep:
        del models[mid]
    if converted and not models:
        nb["metadata"].pop("widgets", None)
    return {"views": len(converted), "modules": len(modules)}


SNAPSHOT_HTML = '<div class="exformer-snapshot">'


def split_snapshots(nb) -> int:
    """For exports that show one MIME type per output and no HTML (markdown, LaTeX / PDF, rST):
    each exformer view output (widget, HTML picture + text, PNG, text) becomes its PNG followed by
    its text summary as a second output, so both are shown. Returns how many were split."""
    n = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            outputs.append(out)
            data = out.get("data") or {}
            if not _joined(data.get("text/html")).startswith(SNAPSHOT_HTML) or "image/png" not in data:
                continue
            text = _joined(data.get("text/plain"))
            out["data"] = {"image/png": data["image/png"]}
            outputs.append(type(out)(output_type="stream", name="stdout", text=text.rstrip("\n") + "\n"))
            n += 1
        cell["outputs"] = outputs
    return n
