"""What `exformer attend --layers L --out F.safetensors` holds in memory beside the layer it writes.

For each prompt length: peak RSS of a run that writes no attention (`--layers none`), of one that
writes one layer, and of one that writes two; the file's size; the peak beyond what the file holds
(issue 15's target at 8,192 tokens: at most 3 GB) and beyond the baseline. The layers are streamed to the file a block of query rows at a
time, so the peak should stay near the baseline whatever the layer's size.

    python benches/layer_file_bench.py [--tokens 2048 8192] [--layer 5]
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from corpus import corpus_text  # noqa: E402
from long_bench import prompt, run_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "exformer"


def attend(text: str, layers: str, out: Path) -> dict:
    return run_json([str(BIN), "attend", "--model", "smollm2", "--text", text, "--device", "cpu",
                     "--layers", layers, "--timings", "--out", str(out)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, nargs="+", default=[2048, 8192])
    ap.add_argument("--layer", type=int, default=5)
    args = ap.parse_args()
    if not BIN.is_file():
        sys.exit(f"{BIN} not found: cargo build --release -p exformer-cli")
    from decoder_bench import gguf_path
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf_path().parent), gguf_file=gguf_path().name)
    text = corpus_text()
    full = tok(text)["input_ids"]
    print("| tokens | layers written | file | peak RSS | peak − file | baseline (`--layers none`) | peak − baseline | attention + write s |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in args.tokens:
        p = prompt(tok, n, full, text)
        with tempfile.TemporaryDirectory() as d:
            base = attend(p, "none", Path(d) / "none.safetensors")
            for layers in (str(args.layer), f"{args.layer},{args.layer + 1}"):
                out = Path(d) / "o.safetensors"
                e = attend(p, layers, out)
                size = out.stat().st_size / 2**30
                peak = e["peak_rss_mb"] / 1024
                b = base["peak_rss_mb"] / 1024
                print(f"| {e['tokens']} | {layers} | {size:.2f} GiB | {peak:.2f} GiB | {peak - size:.2f} GiB | {b:.2f} GiB "
                      f"| {peak - b:+.2f} GiB | {e['attention_s']:.1f} |", flush=True)
                os.unlink(out)


if __name__ == "__main__":
    main()
