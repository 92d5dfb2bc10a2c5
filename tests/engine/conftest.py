"""Fixtures for the engine's parity tests. Nothing is built here: build first with
`cargo build --release -p exformer-engine --examples` (or set EXFORMER_BIN to an `exformer` binary)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def engine_binary() -> Path:
    """EXFORMER_BIN when it is a file, else the engine's example binary. When both exist the newer one wins:
    scripts/env.sh points EXFORMER_BIN at target/release/exformer, which goes stale when only the engine's
    example was rebuilt (`cargo build --release -p exformer-engine --examples`)."""
    example = ROOT / "target" / "release" / "examples" / "exformer-engine"
    env = os.environ.get("EXFORMER_BIN")
    candidates = [Path(env)] if env and Path(env).is_file() else []
    if example.is_file():
        candidates.append(example)
    if not candidates:
        return example
    return max(candidates, key=lambda p: p.stat().st_mtime)


def pytest_report_header(config):
    return f"exformer engine binary: {engine_binary()}"


class Engine:
    """Runs the CLI and reads its outputs."""

    def __init__(self, binary: Path, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.n = 0

    def run(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        e = dict(os.environ)
        e.pop("RUST_BACKTRACE", None)
        if env:
            e.update(env)
        p = subprocess.run([str(self.binary), *args], capture_output=True, text=True, env=e, timeout=600)
        if check and p.returncode != 0:
            raise AssertionError(f"engine failed ({p.returncode}): {p.stderr}")
        return p

    def attend(self, model: str, text: str, *extra: str, logits: bool = True) -> dict:
        """Runs `attend` into a safetensors file and returns {"analysis", "info", "layers", "logits"}."""
        from safetensors import safe_open

        self.n += 1
        out = self.workdir / f"run{self.n}.safetensors"
        args = ["attend", "--model", model, "--text", text, "--device", "cpu", "--out", str(out), *extra]
        if logits:
            args.append("--logits")
        self.run(*args)
        with safe_open(str(out), "pt") as f:
            meta = f.metadata()
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        analysis = json.loads(meta["analysis"])
        layers = [tensors[f"layer.{i}"] for i in range(analysis["n_layers"])]
        return {"analysis": analysis, "info": json.loads(meta["info"]), "layers": layers, "logits": tensors.get("logits"), "tensors": tensors, "meta": meta}


@pytest.fixture(scope="session")
def engine(tmp_path_factory) -> Engine:
    b = engine_binary()
    if not b.is_file():
        pytest.fail(f"engine binary {b} not found: run `cargo build --release -p exformer-engine --examples` first")
    return Engine(b, tmp_path_factory.mktemp("engine-out"))


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> Path:
    """Tiny random-weight checkpoints generated with transformers for this test session."""
    import gen_checkpoints

    out = tmp_path_factory.mktemp("checkpoints")
    for n in gen_checkpoints.ALL:
        gen_checkpoints.make(n, out)
    return out


@pytest.fixture(scope="session")
def site_packages() -> Path:
    import torch

    return Path(torch.__file__).resolve().parent.parent


# Each family's attention output projection (its input is every head's output, heads merged).
OUTPUT_PROJECTION = r"(attention\.output\.dense|attention\.out_lin|attention\.dense|attn\.c_proj|self_attn\.o_proj)$"


class ProjectionInputs(list):
    """What a transformers model's attention output projections take, in call order ([T, H*D] per
    call): the reference for the engine's `--head-outputs`. A context manager that hooks them."""

    def __init__(self, model):
        import re

        super().__init__()
        pattern = re.compile(OUTPUT_PROJECTION)
        self.modules = [m for name, m in model.named_modules() if pattern.search(name)]
        assert self.modules, f"no attention output projection found in {type(model).__name__}"
        self.handles = []

    def __enter__(self):
        self.handles = [m.register_forward_pre_hook(lambda _m, args: self.append(args[0][0].detach().clone())) for m in self.modules]
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()


def assert_head_outputs(run: dict, seen: list, tol: float, what: str):
    """The engine's `head_out.L` [T, H, D] equals what layer L's output projection took."""
    a = run["analysis"]
    t, h = len(a["tokens"]), a["n_heads"]
    assert len(seen) == a["n_layers"], f"{what}: {len(seen)} output projections ran for {a['n_layers']} layers"
    for layer, ref in enumerate(seen):
        ours = run["tensors"][f"head_out.{layer}"]
        assert tuple(ours.shape[:2]) == (t, h), f"{what}: head_out.{layer} is {tuple(ours.shape)}"
        d = (ours.reshape(t, -1).float() - ref.float()).abs().max().item()
        assert d < tol, f"{what}: head outputs of layer {layer} differ by {d}"
