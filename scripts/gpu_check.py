"""The GPU check behind scripts/gpu_check.sh (see there). Prints a parity line per checkpoint and a
timing table; exits 1 when a parity check fails."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "engine"))
TOL = 1e-4
TEXT = "The capital of France is Paris. Researchers type a sentence and watch every layer attend between tokens."
SMOLLM2 = dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
               vocab_size=49152, max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True)


def attend(bin_: Path, model: Path, text: str, device: str, out: Path, *extra: str) -> tuple[dict, dict]:
    from safetensors import safe_open

    p = subprocess.run([str(bin_), "attend", "--model", str(model), "--text", text, "--device", device, "--out", str(out), *extra],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    timings = json.loads(p.stdout.strip().splitlines()[-1]) if "--timings" in extra else {}
    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return {"analysis": json.loads(meta["analysis"]), "tensors": tensors, "meta": meta}, timings


def hf_model(path: Path, device: str, causal: bool, impl: str = "eager"):
    import torch
    import transformers as tf

    cls = tf.AutoModelForCausalLM if causal else tf.AutoModelForMaskedLM
    try:
        m = cls.from_pretrained(str(path), attn_implementation=impl, dtype=torch.float32)
    except ValueError:
        m = tf.AutoModel.from_pretrained(str(path), attn_implementation=impl, dtype=torch.float32)
    return m.eval().to(device)


def parity(bin_: Path, device: str, work: Path) -> bool:
    import torch
    import gen_checkpoints
    import gen_decoders

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ok = True
    cases = [(n, gen_checkpoints, False) for n in gen_checkpoints.ALL] + [(n, gen_decoders, True) for n in gen_decoders.ALL]
    for name, gen, causal in cases:
        path = gen.make(name, work)
        t0 = time.perf_counter()
        try:
            run, _ = attend(bin_, path, TEXT, device, work / f"{name}.safetensors", "--logits")
            ids = [t["id"] for t in run["analysis"]["tokens"]]
            m = hf_model(path, device, causal)
            with torch.no_grad():
                out = m(input_ids=torch.tensor([ids], device=device), output_attentions=True, **({"use_cache": False} if causal else {}))
            d_attn = max((run["tensors"][f"layer.{i}"] - a[0].float().cpu()).abs().max().item() for i, a in enumerate(out.attentions))
            d_logit = 0.0
            if run["tensors"].get("logits") is not None and getattr(out, "logits", None) is not None:
                d_logit = (run["tensors"]["logits"] - out.logits[0].float().cpu()).abs().max().item()
            good = d_attn <= TOL and d_logit <= TOL
            if causal:
                # The prefix-reuse path: knock-outs added to a plain run, reused positions, same numbers as a fresh run.
                fresh, _ = attend(bin_, path, TEXT, device, work / f"{name}-k.safetensors", "--logits", "--knockout", "2,5")
                again, _ = attend(bin_, path, TEXT, device, work / f"{name}-r.safetensors", "--logits", "--knockout", "2,5", "--rerun-from", "")
                d_re = max((fresh["tensors"][k] - again["tensors"][k]).abs().max().item() for k in fresh["tensors"])
                good = good and d_re <= TOL and again["meta"]["reused_positions"] == "2"
            else:
                d_re = 0.0
            print(f"parity {name:<14} {device}: attention {d_attn:.2e}, logits {d_logit:.2e}, re-run {d_re:.2e} "
                  f"({time.perf_counter() - t0:.1f} s) {'ok' if good else 'FAIL'}", flush=True)
            ok &= good
        except Exception as e:  # noqa: BLE001 - report every case
            print(f"parity {name:<14} {device}: FAIL {e}", flush=True)
            ok = False
    return ok


def smollm2_shaped(work: Path) -> Path:
    """A random-weight Llama with SmolLM2-135M's shapes and a byte-level tokenizer (timings only)."""
    import torch
    import transformers as tf
    import gen_decoders

    path = work / "smollm2-shaped"
    path.mkdir(exist_ok=True)
    gen_decoders.byte_level_tokenizer(path / "tokenizer.json")
    torch.manual_seed(0)
    cfg = tf.LlamaConfig(**SMOLLM2, bos_token_id=1, eos_token_id=0)
    m = tf.LlamaForCausalLM(cfg)
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.02)
    m.save_pretrained(str(path))
    return path


def timings(bin_: Path, device: str, work: Path, sizes: list[int]) -> None:
    import torch
    from tokenizers import Tokenizer

    path = smollm2_shaped(work)
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    words = ("the capital of france is paris and every layer of the model attends between the tokens of this sentence "
             "while researchers watch").split()
    rows = []
    for n in sizes:
        text = " ".join(words[i % len(words)] for i in range(n))
        while len(tok.encode(text).ids) > n:
            text = text.rsplit(" ", 1)[0]
        t = len(tok.encode(text).ids)
        _, e = attend(bin_, path, text, device, work / "t.safetensors", "--layers", "none", "--timings", "--click", f"{int(t * 0.95)},5")
        row = {"tokens": t, "run": e["run_s"][0], "click_end": e["click_s"][0]["s"], "click_start": e["click_s"][1]["s"]}
        ids = torch.tensor([tok.encode(text).ids], device=device)
        for impl, attn in (("eager", True), ("sdpa", False)):
            if impl == "eager" and 30 * 9 * t * t * 4 > 0.5 * (torch.cuda.get_device_properties(0).total_memory if device.startswith("cuda") else 8 * 2**30):
                row[impl] = None
                continue
            m = hf_model(path, device, True, impl)
            with torch.no_grad():
                m(input_ids=ids[:, :16], use_cache=False)  # warm-up
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                m(input_ids=ids, output_attentions=attn, use_cache=False)
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                row[impl] = time.perf_counter() - t0
            del m
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
        rows.append(row)
    print(f"\nSmolLM2-shaped random weights on {device}" + (f" ({torch.cuda.get_device_name(0)})" if device.startswith("cuda") else ""))
    print("| tokens | exformer run (s) | click at 95 % (s) | click at 5 (s) | HF eager + attentions (s) | HF SDPA (s) | run / HF SDPA |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        f = lambda x: "—" if x is None else f"{x:.3f}"  # noqa: E731
        print(f"| {r['tokens']} | {f(r['run'])} | {f(r['click_end'])} | {f(r['click_start'])} | {f(r['eager'])} | {f(r['sdpa'])} | {r['run'] / r['sdpa']:.2f}x |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", type=Path, required=True)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--tokens", type=int, nargs="+", default=[128, 512, 2048, 8192])
    ap.add_argument("--quick", action="store_true", help="parity only")
    ap.add_argument("--timings-only", action="store_true", help="skip parity")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        t0 = time.perf_counter()
        ok = True if args.timings_only else parity(args.bin, args.device, work)
        print(f"parity: {'all ok' if ok else 'FAILURES'} in {time.perf_counter() - t0:.0f} s", flush=True)
        if not args.quick:
            timings(args.bin, args.device, work, args.tokens)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
