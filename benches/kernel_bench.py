"""Kernel latencies over real sockets: start -> kernel_info_reply, first cell, warm cells.
Prints a markdown table. Run after `make setup` (the evcxr build cache is warm):

    . scripts/env.sh && python benches/kernel_bench.py [--starts 3] [--cells 10]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jupyter_helpers import KERNEL, run_cell  # noqa: E402


def timed_cell(kc, code):
    t0 = time.perf_counter()
    reply, _ = run_cell(kc, code, timeout=600)
    assert reply["content"]["status"] == "ok", reply["content"]
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--cells", type=int, default=10)
    args = ap.parse_args()
    from jupyter_client.manager import KernelManager

    rows = []
    starts, firsts, first_lib = [], [], []
    warm, warm_lib = [], []
    for i in range(args.starts):
        km = KernelManager(kernel_name=KERNEL)
        t0 = time.perf_counter()
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=600)
        starts.append(time.perf_counter() - t0)
        firsts.append(timed_cell(kc, "1 + 1"))
        first_lib.append(timed_cell(kc, "exformer::version()"))
        if i == 0:
            warm = [timed_cell(kc, f"{n} + 1") for n in range(args.cells)]
            warm_lib = [timed_cell(kc, f'exformer::version().len() + {n}') for n in range(args.cells)]
        kc.stop_channels()
        km.shutdown_kernel(now=False)

    def fmt(xs):
        return f"{statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, n={len(xs)})"

    rows.append(("kernel start -> kernel_info_reply (evcxr + prelude ready)", fmt(starts)))
    rows.append(("first cell `1 + 1` after start", fmt(firsts)))
    rows.append(("first cell using the exformer crate", fmt(first_lib)))
    rows.append(("warm cell `n + 1`", fmt(warm)))
    rows.append(("warm cell using the exformer crate", fmt(warm_lib)))
    print("| measurement | median |\n| --- | --- |")
    for name, v in rows:
        print(f"| {name} | {v} |")


if __name__ == "__main__":
    main()
