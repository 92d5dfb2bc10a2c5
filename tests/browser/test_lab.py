"""Real-browser end-to-end test of the exformer widget in JupyterLab.

Starts JupyterLab (the venv's) on a copy of notebooks/quickstart.ipynb, then runs
tests/browser/lab.mjs, which drives Debian's chromium through playwright-core: run every cell
with the exformer kernel, check the live widget (tokens, curves, predictions), knock a token out
with the keyboard, switch the layer, save and reload the page and check that the view comes back
from the live kernel. Screenshots and the driver's JSON result go to tests/artifacts/browser/.

Needs `scripts/setup.sh --tests` (chromium, `npm ci` in tests/browser) and the built kernel;
skips with the reason when one of them is missing.
"""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from corpus import corpus_text

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
CHROMIUM = "/usr/bin/chromium"
# The whole test (server start, first kernel start, every cell, the browser checks) stays under
# about ten minutes.
DRIVER_BUDGET_S = 480
SERVER_START_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kernelspec_dir() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "kernels" / "exformer"


def _missing() -> str:
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (run scripts/setup.sh --tests)"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "tests/browser/node_modules is missing (run scripts/setup.sh --tests)"
    if not (_kernelspec_dir() / "kernel.json").exists():
        return f"the exformer kernelspec is not installed in {sys.prefix} (run scripts/setup.sh)"
    argv0 = json.loads((_kernelspec_dir() / "kernel.json").read_text())["argv"][0]
    if not Path(argv0).exists():
        return f"the kernelspec's binary {argv0} does not exist (run scripts/setup.sh)"
    return ""


def _pids_mentioning(marker: str) -> list[int]:
    """Processes whose command line contains `marker` (a path only this test's processes use)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if marker.encode() in (d / "cmdline").read_bytes():
                pids.append(int(d.name))
        except OSError:
            continue
    return pids


def _stop(proc: subprocess.Popen, base: str, token: str, marker: str) -> None:
    """Shuts the server down (it shuts its kernels down), then ends anything left by pid."""
    if proc.poll() is None:
        try:
            req = urllib.request.Request(f"{base}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=10).close()
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(10)
                    break
                except subprocess.TimeoutExpired:
                    continue
    # Kernels run in their own sessions; any still alive mention this test's runtime directory.
    left = _pids_mentioning(marker)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (left := [p for p in left if Path(f"/proc/{p}").exists() and _alive(p)]):
            time.sleep(0.2)
        if not left:
            break


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


LONG_TOKENS = 8190
LONG_CELLS = [
    "let model = exformer::load(\"smollm2\")?;",
    # The demo corpus, cut to just under the model's 8192 positions (1 % steps at character boundaries).
    "let text = std::fs::read_to_string(\"long.txt\")?;\n"
    "let mut n = text.len().min(40_000);\n"
    "let text = loop {\n"
    "    while !text.is_char_boundary(n) { n -= 1; }\n"
    "    match model.engine().tokenize(&exformer::Input::new(&text[..n])) {\n"
    f"        Ok(t) if t.len() <= {LONG_TOKENS} => break text[..n].to_string(),\n"
    "        _ => n = n * 99 / 100,\n"
    "    }\n"
    "};",
    "let view = model.attend(&text)?;\nview",
]


PROMPT_TOKENS = 500


def _prompt_cells(max_tokens: int) -> list:
    """Cells that load SmolLM2 and attend over long.txt cut to at most `max_tokens` tokens."""
    return [c.replace(f"t.len() <= {LONG_TOKENS}", f"t.len() <= {max_tokens}") for c in LONG_CELLS]


def write_notebook(path: Path, cells: list) -> None:
    """A notebook of Rust cells for the exformer kernel."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "exformer", "display_name": "Rust (exformer)", "language": "rust"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)


def _long_notebook(root: Path) -> None:
    """long.ipynb (three Rust cells) and long.txt (the demo corpus, repeated past 8k tokens)."""
    text = corpus_text()
    while len(text) < 60_000:
        text = text + "\n\n" + text
    (root / "long.txt").write_text(text)
    write_notebook(root / "long.ipynb", LONG_CELLS)
    write_notebook(root / "prompt.ipynb", _prompt_cells(PROMPT_TOKENS))


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on a free port with a random token, over a copy of the quickstart and a
    long-prompt notebook."""
    with lab_server(tmp_path) as info:
        yield info


@contextlib.contextmanager
def lab_server(tmp_path: Path, artifacts: Path = ARTIFACTS):
    """What the `lab` fixture yields, for scripts too (benches/widget_bench.py --browser): the server
    runs in TMP_PATH/root; its log is copied to ARTIFACTS/lab.log when it stops."""
    why = _missing()
    if why:
        pytest.skip(why)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / "quickstart.ipynb")
    _long_notebook(root)
    port = _free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        {
            # private settings, workspaces and runtime files: nothing from the user's own lab
            "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
            "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        }
    )
    # no news / update toasts over the notebook
    notif = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True)
    (notif / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    log_path = tmp_path / "lab.log"
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [
        str(jupyter) if jupyter.exists() else "jupyter",
        "lab",
        "--no-browser",
        f"--ServerApp.token={token}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        "--expose-app-in-browser",
        "--allow-root",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    info = {"base": base, "token": token, "root": root, "log": log_path, "proc": proc}
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                req = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=3) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() - t0 > SERVER_START_S:
                pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        info["start_s"] = round(time.monotonic() - t0, 1)
        yield info
    finally:
        _stop(proc, base, token, str(tmp_path / "runtime"))
        log.close()
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(log_path, artifacts / "lab.log")


def test_widget_in_jupyterlab(lab):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    result_path = ARTIFACTS / "result.json"
    if result_path.exists():
        result_path.unlink()
    cmd = [
        "node",
        str(HERE / "lab.mjs"),
        "--base", lab["base"],
        "--token", lab["token"],
        "--notebook", "quickstart.ipynb",
        "--out", str(ARTIFACTS),
        "--result", str(result_path),
        "--budget", str(DRIVER_BUDGET_S),
        "--chromium", CHROMIUM,
    ]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=DRIVER_BUDGET_S + 60)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"the browser driver ran past {DRIVER_BUDGET_S + 60} s\n{out[-6000:]}")
    wall = time.monotonic() - t0
    (ARTIFACTS / "driver.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    print(proc.stdout[-8000:])
    if proc.stderr.strip():
        print(proc.stderr[-3000:], file=sys.stderr)
    assert result_path.exists(), f"the driver wrote no result (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(result_path.read_text())
    kernel_log = lab["log"].read_text()[-4000:]
    detail = (
        f"driver exit {proc.returncode}: {result.get('failure')}\n"
        f"console errors: {json.dumps(result.get('console_errors', [])[-15:], indent=1)}\n"
        f"page errors: {json.dumps(result.get('page_errors', [])[-5:], indent=1)}\n"
        f"server/kernel log tail:\n{kernel_log}"
    )
    assert proc.returncode == 0, detail
    assert result["ok"], detail
    steps = result["steps"]
    assert steps and all(s["ok"] for s in steps), detail
    names = " | ".join(s["name"] for s in steps)
    for must in ("live widget (not the PNG fallback)", "predictions for the last token changed", "the attention curves changed",
                 "the kernel answered with attn for the new layer", "restored: knock-out kept",
                 "restored: the widget state came from the live kernel", "predictions are back to the ones before the knock-out",
                 "Matrix view draws", "Model view draws"):
        assert must in names, f"the driver skipped a check: {must}"
    obs = result["observations"]
    assert obs["before"]["predictions"]["predictions"] != obs["after_knockout"]["predictions"]["predictions"]
    assert obs["after_knockout"]["run_id_seen"] > obs["before"]["run_id_seen"]
    assert obs["after_reload"]["curves"]["ink"] > 0
    shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
    for prefix in ("02-widget-rendered", "03-after-knockout", "04-layer-", "05-after-reload", "06-after-double-click"):
        assert any(s.startswith(prefix) for s in shots), f"missing screenshot {prefix}*: {shots}"
    # Interactions update the view in place: the widget is not rebuilt, keyboard focus stays.
    assert obs.get("view_kept_after_knockout") is True, "a knock-out must not re-create the widget view"
    assert obs.get("view_kept_after_layer_switch") is True, "a layer switch must not re-create the widget view"
    assert obs.get("keyboard_focus_kept_after_enter") is True, "keyboard focus stays on the token after Enter"
    print(f"browser test: server up in {lab['start_s']} s, driver {wall:.0f} s; timings {result['timings']}; screenshots in {ARTIFACTS}")


def _run_driver(lab, name: str, musts: tuple, extra: tuple = (), budget: int = 420, notebook: str = "", out: Path | None = None) -> dict:
    """Runs tests/browser/NAME.mjs on NAME.ipynb (or `notebook`); fails unless every check passed and
    each check named in `musts` ran. Returns the driver's JSON result (artifacts in
    tests/artifacts/browser-NAME, or `out`)."""
    out = out or ROOT / "tests" / "artifacts" / f"browser-{name}"
    out.mkdir(parents=True, exist_ok=True)
    result_path = out / "result.json"
    result_path.unlink(missing_ok=True)
    cmd = ["node", str(HERE / f"{name}.mjs"), "--base", lab["base"], "--token", lab["token"], "--notebook", notebook or f"{name}.ipynb",
           "--out", str(out), "--result", str(result_path), "--budget", str(budget), "--chromium", CHROMIUM, *extra]
    proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=budget + 60)
    (out / "driver.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    print(proc.stdout[-5000:])
    assert result_path.exists(), f"the driver wrote no result (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    result = json.loads(result_path.read_text())
    detail = f"{result.get('failure')}\npage errors: {result.get('page_errors')[-3:]}\nserver log:\n{lab['log'].read_text()[-3000:]}"
    assert proc.returncode == 0 and result["ok"], detail
    names = " | ".join(s["name"] for s in result["steps"])
    for must in musts:
        assert must in names, f"the driver skipped a check: {must}"
    return result


def test_long_input_in_jupyterlab(lab):
    """About 8k tokens of SmolLM2 in JupyterLab: the kernel sends the shown layer pooled (not the
    whole T×T), the matrix view draws it, a click zooms to a full-resolution tile fetched from the
    kernel, and a double-click there knocks a key out (the re-run reuses the prefix); the change
    shows in the interventions line and the predictions' before → after; a token is found by
    #index (the view zooms to it), the layer changes, and the knock-out is undone from the line."""
    result = _run_driver(lab, "long", musts=(
        "the long input opens in the kernel-pooled matrix view", "the zoom shows a window of the last tokens",
        "one key inside the zoomed window is knocked out", "the interventions line lists the knock-out",
        "the predictions panel shows before → after", "finding #index zooms to that token and pins it",
        "the next layer is shown", "undo from the interventions line restores the run"))
    # What the browser received for the first paint: the pooled layer, not n_heads × T² bytes.
    assert result["observations"]["first_paint_bytes"] < 6 * 2**20, result["observations"]["first_paint_bytes"]
    print(f"long input: timings {result['timings']}, first paint received {result['observations']['first_paint_bytes'] / 2**20:.2f} MB")


def test_prompt_length_in_jupyterlab(lab):
    """About 500 tokens of SmolLM2 in JupyterLab: the head view opens, changes layer, toggles a head,
    takes the threshold from the keyboard and hovers within the paint budget (it draws only the rows
    in view and each query's strongest edges); a token is found by #index, knocked out from the
    matrix view, shown in the interventions line and the predictions' before → after, and undone; the
    first knock-out moves nothing under the pointer (matrix, and a head-view double-click)."""
    result = _run_driver(lab, "prompt", extra=("--paint-ms", "100"), musts=(
        "the head view opens virtualised", "the next layer is shown", "the threshold slider takes the arrow keys inside JupyterLab",
        "finding #index pins that token and scrolls it into view", "the double-clicked column's token is knocked out",
        "the interventions line lists it", "the predictions panel shows before → after",
        "undo from the interventions line restores the run", "every repaint takes ≤ 100 ms",
        "the first knock-out leaves the matrix where it was", "the first knock-out moves nothing under the pointer"))
    assert not result["page_errors"], result["page_errors"]
    print(f"prompt length: {result['observations']['tokens']} tokens; timings {result['timings']}; repaint ms {result['paint_ms']}")
