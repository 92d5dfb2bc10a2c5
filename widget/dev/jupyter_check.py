"""Integration check of the widget inside a real JupyterLab with anywidget (no Rust needed).

A Python anywidget stands in for the Rust back end: same trait names and binary encoding as
docs/widget-protocol.md, synthetic attention, a fake re-run on toggle messages. The script starts
JupyterLab, drives headless chromium over the DevTools protocol (websocket-client), runs the
notebook, exercises the widget and saves screenshots.

    . scripts/env.sh && python widget/dev/jupyter_check.py [--dark] [--out /tmp/xf-jlab]

Prints PASS/FAIL lines; exit status 1 on failure.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import nbformat
import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
WIDGET = os.path.dirname(HERE)

CELL = r'''
import pathlib, numpy as np, anywidget, traitlets as t
W = pathlib.Path(%(widget)r)

def layer_attn(l, T, H, kind, knocked=()):
    rng = np.random.default_rng(l)
    logits = rng.random((H, T, T)) * 0.8
    for h in range(H):
        p = (h + l) %% 5
        for i in range(T):
            j = [i - 1, i + 1, 0, i, T - 1][p]
            if 0 <= j < T:
                logits[h, i, j] += 4
    if kind == "causal_lm":
        logits[:, np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] = -np.inf
    for k in knocked:
        logits[:, :, k] = -np.inf
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)

def to_u8(a):
    return np.round(np.clip(a, 0, 1) * 255).astype(np.uint8).tobytes()

class Exformer(anywidget.AnyWidget):
    _esm = (W / "exformer.js").read_text()
    _css = (W / "exformer.css").read_text()
    model_name = t.Unicode("python stand-in").tag(sync=True)
    kind = t.Unicode("masked_lm").tag(sync=True)
    n_layers = t.Int(4).tag(sync=True)
    n_heads = t.Int(4).tag(sync=True)
    seq_len = t.Int(0).tag(sync=True)
    tokens = t.List().tag(sync=True)
    predictions = t.List().tag(sync=True)
    layer = t.Int(1).tag(sync=True)
    heads = t.List([]).tag(sync=True)
    view = t.Unicode("head").tag(sync=True)
    threshold = t.Float(0.05).tag(sync=True)
    hide_special = t.Bool(False).tag(sync=True)
    combine = t.Unicode("each").tag(sync=True)
    pair_filter = t.Unicode("all").tag(sync=True)
    mode = t.Unicode("mask").tag(sync=True)
    focus = t.Int(-1).tag(sync=True)
    attn = t.Bytes(b"").tag(sync=True)
    attn_layer = t.Int(0).tag(sync=True)
    thumbs = t.Bytes(b"").tag(sync=True)
    thumb_size = t.Int(0).tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    run_id = t.Int(0).tag(sync=True)

    def __init__(self, words, **kw):
        super().__init__(**kw)
        toks = [{"text": "[CLS]", "special": True, "segment": 0, "masked": False, "knocked_out": False}]
        toks += [{"text": w, "special": False, "segment": 0, "masked": False, "knocked_out": False} for w in words]
        toks.append({"text": "[SEP]", "special": True, "segment": 0, "masked": False, "knocked_out": False})
        self.messages = []
        self.on_msg(self._on_msg)
        self._run(toks)

    def _run(self, toks):
        T, H, L = len(toks), self.n_heads, self.n_layers
        knocked = [i for i, x in enumerate(toks) if x["knocked_out"]]
        self.layers = [layer_attn(l, T, H, self.kind, knocked) for l in range(L)]
        S = min(T, 32)
        th = np.zeros((L, H, S, S))
        for l in range(L):
            for i in range(T):
                for j in range(T):
                    a, b = i * S // T, j * S // T
                    th[l, :, a, b] = np.maximum(th[l, :, a, b], self.layers[l][:, i, j])
        with self.hold_sync():
            self.seq_len = T
            self.tokens = toks
            self.predictions = [[{"token": x["text"], "prob": 0.6}, {"token": "cat", "prob": 0.2}] for x in toks]
            self.thumb_size = S
            self.thumbs = to_u8(th)
            self.attn = to_u8(self.layers[self.layer])
            self.attn_layer = self.layer
            self.run_id += 1
            self.busy = False

    @t.observe("layer")
    def _layer(self, change):
        self.attn = to_u8(self.layers[change["new"]])
        self.attn_layer = change["new"]

    def _on_msg(self, _w, content, buffers):
        self.messages.append(content)
        toks = [dict(x) for x in self.tokens]
        if content.get("type") == "toggle":
            x = toks[content["index"]]
            key = "masked" if content["mode"] == "mask" else "knocked_out"
            x[key] = not x[key]
        elif content.get("type") == "clear":
            for x in toks:
                x["masked"] = x["knocked_out"] = False
        self.busy = True
        self._run(toks)

w = Exformer("the cat sat on the mat because it was tired .".split())
w
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class CDP:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.n = 0

    def call(self, method, **params):
        self.n += 1
        mid = self.n
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expr, await_promise=True):
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=await_promise, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(json.dumps(r["exceptionDetails"])[:800])
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout=60, what=""):
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                if self.js(expr):
                    return True
            except RuntimeError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"timed out waiting for {what or expr}")

    def shot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def click(self, selector):
        """A real mouse click (JupyterLab toolbar buttons act on mousedown)."""
        r = self.js(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
        for typ in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=typ, x=r[0], y=r[1], button="left", clickCount=1)

    def key(self, key, code, vk, modifiers=0):
        for typ in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=typ, key=key, code=code, windowsVirtualKeyCode=vk, modifiers=modifiers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dark", action="store_true")
    ap.add_argument("--out", default="/tmp/xf-jlab")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="xf-jlab-")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells.append(nbformat.v4.new_code_cell(CELL % {"widget": WIDGET}))
    nbformat.write(nb, os.path.join(work, "check.ipynb"))
    settings = os.path.join(work, "settings")
    if args.dark:
        os.makedirs(os.path.join(settings, "@jupyterlab", "apputils-extension"), exist_ok=True)
        with open(os.path.join(settings, "@jupyterlab", "apputils-extension", "themes.jupyterlab-settings"), "w") as f:
            json.dump({"theme": "JupyterLab Dark"}, f)
    port = free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=settings, JUPYTER_CONFIG_DIR=os.path.join(work, "cfg"))
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.token=",
         "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", "--allow-root", f"--notebook-dir={work}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=open(os.path.join(work, "lab.log"), "w"), stderr=subprocess.STDOUT, env=env)
    dport = free_port()
    chrome = None
    cdp = None
    results = []

    def check(name, ok, detail=""):
        line = f"{'PASS' if ok else 'FAIL'} {name}" + ("" if ok else f" :: {detail}")
        results.append(line)
        print(line, flush=True)

    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2)
                break
            except Exception:
                time.sleep(0.5)
        chrome = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--remote-debugging-port={dport}", "--remote-allow-origins=*",
             "--window-size=1280,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ws_url = None
        for _ in range(60):
            try:
                tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{dport}/json", timeout=2))
                ws_url = next(t["webSocketDebuggerUrl"] for t in tabs if t["type"] == "page")
                break
            except Exception:
                time.sleep(0.5)
        cdp = CDP(ws_url)
        cdp.call("Page.enable")
        cdp.call("Runtime.enable")
        cdp.call("Page.navigate", url=f"http://127.0.0.1:{port}/lab/tree/check.ipynb")
        cdp.wait("!!document.querySelector('.jp-Notebook .jp-CodeCell') && !!document.querySelector('.jp-Notebook-ExecutionIndicator, .jp-Toolbar')", 120, "notebook")
        cdp.wait("(() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator'); return !s || !/Kernel starting|Connecting/i.test(s.textContent || ''); })()", 60, "kernel")
        time.sleep(3)
        cdp.js("(() => { const b = [...document.querySelectorAll('.jp-Dialog button')].find(x => /Select/.test(x.textContent)); if (b) b.click(); return true; })()")
        cdp.wait("/Python/.test(document.querySelector('.jp-Toolbar-kernelName, .jp-KernelName, .jp-NotebookPanel-toolbar')?.textContent || '')", 90, "kernel name")
        time.sleep(6)
        # run the cell with the toolbar's run button
        cdp.js("document.querySelector('.jp-Notebook .jp-CodeCell').click(); true")
        cdp.click("[data-command=\"notebook:run-cell-and-select-next\"]")
        cdp.wait("!!document.querySelector('.exformer .xf-col-from .xf-tok')", 120, "widget render")
        time.sleep(1)
        q = lambda expr: cdp.js(expr)
        T = q("document.querySelectorAll('.exformer .xf-col-from .xf-tok').length")
        check("widget renders 13 token rows", T == 13, str(T))
        check("no widget error", q("document.querySelector('.exformer .xf-error').hidden"), q("document.querySelector('.exformer .xf-error').textContent"))
        check("head boxes with thumbnails", q("document.querySelectorAll('.exformer .xf-headbox canvas').length") == 4)
        dark = q("document.querySelector('.exformer').classList.contains('xf-dark')")
        check("theme detected", bool(dark) == args.dark, f"xf-dark={dark}")
        q("document.querySelectorAll('.jp-Notification-Toast-Close, .jp-toast-dismiss, .Toastify__close-button').forEach(b => b.click()); document.querySelector('.exformer').scrollIntoView(); true")
        time.sleep(0.5)
        cdp.shot(os.path.join(args.out, f"head{'-dark' if args.dark else ''}.png"))
        # hover + predictions
        q("document.querySelectorAll('.exformer .xf-col-from .xf-tok')[3].dispatchEvent(new PointerEvent('pointerover', {bubbles: true})); true")
        time.sleep(0.5)
        cap = q("document.querySelector('.exformer .xf-pred-caption').textContent")
        check("hover shows predictions", "#3" in (cap or ""), cap)
        # toggle → python on_msg → tokens come back masked
        q("document.querySelectorAll('.exformer .xf-col-from .xf-tok')[4].dispatchEvent(new MouseEvent('dblclick', {bubbles: true})); true")
        cdp.wait("document.querySelectorAll('.exformer .xf-col-from .xf-tok')[4].classList.contains('is-masked')", 30, "masked token")
        check("double-click masks through the kernel", True)
        # layer change → python observer → new attn
        q("document.querySelector('.exformer [aria-label=\"Next layer\"]').click(); true")
        time.sleep(1.5)
        cdp.wait("!document.querySelector('.exformer .xf-body').classList.contains('is-loading')", 30, "layer answer")
        sel = q("document.querySelector('.exformer select[aria-label=\"Layer\"]').value")
        check("layer change answered", sel == "2", sel)
        # views
        q("[...document.querySelectorAll('.exformer .xf-seg-btn')].find(b => b.textContent === 'Matrix').click(); true")
        time.sleep(1)
        check("matrix view draws", q("document.querySelector('.exformer .xf-heat').width > 0"))
        q("document.querySelector('.exformer').scrollIntoView(); true")
        cdp.shot(os.path.join(args.out, f"matrix{'-dark' if args.dark else ''}.png"))
        q("[...document.querySelectorAll('.exformer .xf-seg-btn')].find(b => b.textContent === 'Model').click(); true")
        time.sleep(1)
        check("model view draws", q("document.querySelector('.exformer .xf-grid').width > 0"))
        cdp.shot(os.path.join(args.out, f"model{'-dark' if args.dark else ''}.png"))
    except Exception as e:  # noqa: BLE001
        check("run", False, repr(e))
        try:
            cdp.shot(os.path.join(args.out, "failure.png"))
            print("outputs:", (cdp.js("[...document.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n---\\n')") or "")[-3000:])
            print("prompt:", cdp.js("document.querySelector('.jp-InputPrompt')?.textContent"))
            print("cmds:", cdp.js("[...document.querySelectorAll('[data-command]')].map(e => e.tagName + ':' + e.getAttribute('data-command')).join(' ')"))
        except Exception:
            pass
    finally:
        if chrome:
            chrome.terminate()
        lab.terminate()
        try:
            lab.wait(10)
        except Exception:
            lab.kill()
        shutil.rmtree(work, ignore_errors=True)
    fails = [r for r in results if r.startswith("FAIL")]
    print(f"{len(results) - len(fails)} passed, {len(fails)} failed; screenshots in {args.out}")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
