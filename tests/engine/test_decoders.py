"""Parity of the engine's decoder models (GPT-2, Llama with several RoPE scalings, Qwen2, Mistral with a
sliding window, Gemma 3 with mixed sliding/global layers) with Hugging Face transformers.

Checkpoints are tiny random-weight models generated with transformers at test time (gen_decoders.py). Every
comparison runs the engine's CLI (`attend --logits`) and recomputes the same thing with transformers
(attn_implementation="eager", output_attentions=True, f32): attention of every layer and the logits must agree
within 1e-4 (max abs diff). Knockout and head ablation are reproduced in PyTorch by wrapping each model's own
eager attention function: -inf is written into the additive mask for knocked-out key columns, and the ablated
heads' context vectors are zeroed before the output projection.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch

TOL = 1e-4
TEXT = "The capital of France is Paris, a lovely city in spring."
NAMES = ["gpt2", "llama", "llama_tied", "llama_linear", "llama_llama3", "llama_yarn", "qwen2", "qwen3", "mistral", "gemma3", "gemma2", "gemma"]
MODULES = {
    "gpt2": "gpt2",
    "llama": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "mistral": "mistral",
    "gemma3_text": "gemma3",
    "gemma2": "gemma2",
    "gemma": "gemma",
}


@pytest.fixture(scope="session")
def decoders(tmp_path_factory) -> Path:
    import gen_decoders

    out = tmp_path_factory.mktemp("decoders")
    for n in gen_decoders.ALL:
        gen_decoders.make(n, out)
    return out


_MODELS: dict = {}


def hf_causal(path: Path):
    import transformers as tf

    if str(path) not in _MODELS:
        m = tf.AutoModelForCausalLM.from_pretrained(str(path), attn_implementation="eager", dtype=torch.float32)
        m.eval()
        _MODELS[str(path)] = m
    return _MODELS[str(path)]


def hf_ids(path: Path, text: str) -> list[int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    return tok.encode(text).ids


class Interventions:
    """Wraps the eager attention function of a transformers model module with knockout/ablation."""

    def __init__(self, monkeypatch, model_type: str, knockout=(), ablate=()):
        self.knockout = list(knockout)
        self.ablate = list(ablate)
        mod = importlib.import_module(f"transformers.models.{MODULES[model_type]}.modeling_{MODULES[model_type]}")
        orig = mod.eager_attention_forward
        self.calls = 0

        def wrapped(module, query, key, value, attention_mask, *args, **kwargs):
            self.calls += 1
            if self.knockout:
                t, s = query.shape[-2], key.shape[-2]
                if attention_mask is None:
                    attention_mask = torch.full((t, s), float("-inf")).triu(1)[None, None]
                else:
                    assert attention_mask.dtype.is_floating_point, attention_mask.dtype
                    attention_mask = attention_mask[..., :s].clone()
                attention_mask[..., self.knockout] = float("-inf")
            out, w = orig(module, query, key, value, attention_mask, *args, **kwargs)
            heads = [h for l, h in self.ablate if l == module.layer_idx]
            if heads:
                out = out.clone()
                out[:, :, heads, :] = 0.0  # [B, T, H, D]: context vectors before o_proj
            return out, w

        monkeypatch.setattr(mod, "eager_attention_forward", wrapped)


def hf_run(path: Path, ids: list[int], hidden: bool = False):
    m = hf_causal(path)
    with torch.no_grad():
        out = m(torch.tensor([ids]), output_attentions=True, output_hidden_states=hidden, use_cache=False)
    if hidden:
        return [a[0] for a in out.attentions], out.logits[0], [h[0] for h in out.hidden_states]
    return [a[0] for a in out.attentions], out.logits[0]


def model_type(path: Path) -> str:
    import json

    return json.loads((path / "config.json").read_text())["model_type"]


def assert_close(a: torch.Tensor, b: torch.Tensor, what: str):
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
    d = (a.float() - b.float()).abs().max().item()
    assert d <= TOL, f"{what}: max abs diff {d:.3g} > {TOL}"


def compare(run: dict, attn: list[torch.Tensor], logits: torch.Tensor):
    assert len(run["layers"]) == len(attn)
    for i, (ours, ref) in enumerate(zip(run["layers"], attn)):
        assert_close(ours, ref, f"layer {i} attention")
    assert_close(run["logits"], logits, "logits")


@pytest.mark.parametrize("name", NAMES)
def test_head_outputs_are_what_o_proj_takes(engine, decoders, name, monkeypatch):
    """`--head-outputs` with a knock-out and an ablated head: every layer's per-head attention
    outputs as transformers' output projection receives them."""
    from conftest import ProjectionInputs, assert_head_outputs

    path = decoders / name
    run = engine.attend(str(path), TEXT, "--head-outputs", "--knockout", "3", "--ablate", "1:0", logits=False)
    ids = [t["id"] for t in run["analysis"]["tokens"]]
    Interventions(monkeypatch, model_type(path), knockout=[3], ablate=[(1, 0)])
    with ProjectionInputs(hf_causal(path)) as seen:
        hf_run(path, ids)
    assert_head_outputs(run, seen, TOL, name)
    assert run["tensors"]["head_out.1"][:, 0].abs().max().item() == 0, "the ablated head outputs nothing"


@pytest.mark.parametrize("name", NAMES)
def test_decoder_parity(engine, decoders, name):
    path = decoders / name
    run = engine.attend(str(path), TEXT, "--hidden-states")
    a = run["analysis"]
    ids = [t["id"] for t in a["tokens"]]
    assert ids == hf_ids(path, TEXT)
    assert len(ids) > 8, "the test text must be longer than the sliding windows"
    attn, logits, hidden = hf_run(path, ids, hidden=True)
    compare(run, attn, logits)
    assert len(hidden) == len(attn) + 1
    for i, h in enumerate(hidden):
        assert_close(run["tensors"][f"hidden.{i}"], h, f"hidden state {i}")
    # causal: nothing above the diagonal; unmasked rows sum to one
    for layer in run["layers"]:
        assert torch.all(layer.triu(1) == 0)
        assert torch.allclose(layer.sum(-1), torch.ones(layer.shape[:2]), atol=1e-5)
    # predictions are the next-token distribution at each position
    probs = torch.softmax(logits, -1)
    for pos, preds in enumerate(a["predictions"]):
        assert len(preds) == 5
        top = torch.topk(probs[pos], 5)
        assert abs(preds[0]["prob"] - top.values[0].item()) < TOL
        assert preds[0]["id"] == top.indices[0].item() or abs(probs[pos][preds[0]["id"]] - top.values[0]) < 1e-6
    info = run["info"]
    assert info["kind"] == a["kind"]
    assert info["n_layers"] == len(run["layers"])


@pytest.mark.parametrize("name", NAMES)
def test_decoder_knockout_and_ablation(engine, decoders, name, monkeypatch):
    path = decoders / name
    knock, ablate = [2, 5], [(0, 1), (1, 3)]
    run = engine.attend(str(path), TEXT, "--knockout", "2,5", "--ablate", "0:1,1:3")
    ids = [t["id"] for t in run["analysis"]["tokens"]]
    assert [t["knocked_out"] for t in run["analysis"]["tokens"]][:6] == [False, False, True, False, False, True]
    iv = Interventions(monkeypatch, model_type(path), knockout=knock, ablate=ablate)
    attn, logits = hf_run(path, ids)
    assert iv.calls == len(attn), "the reference interventions were not applied in every layer"
    compare(run, attn, logits)
    for layer in run["layers"]:
        assert torch.all(layer[:, :, knock] == 0)
    # the interventions change the outcome (so the comparison above is not vacuous)
    monkeypatch.undo()
    _, plain_logits = hf_run(path, ids)
    assert (plain_logits - logits).abs().max() > 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_decoder_rerun_reusing_the_prefix_matches_hf(engine, decoders, name, monkeypatch):
    """A re-run after a click (knock-outs 2,5 added to a run without any) reuses positions 0-1 of the
    first run and still matches transformers run from scratch with the same knock-outs."""
    path = decoders / name
    knock = [2, 5]
    run = engine.attend(str(path), TEXT, "--knockout", "2,5", "--rerun-from", "")
    ids = [t["id"] for t in run["analysis"]["tokens"]]
    iv = Interventions(monkeypatch, model_type(path), knockout=knock)
    attn, logits = hf_run(path, ids)
    assert iv.calls == len(attn)
    compare(run, attn, logits)
    assert int(run["meta"]["reused_positions"]) == 2


@pytest.mark.parametrize("name", ["llama", "gemma3"])
def test_decoder_ablation_only(engine, decoders, name, monkeypatch):
    path = decoders / name
    run = engine.attend(str(path), TEXT, "--ablate", "0:0,0:2,1:1")
    ids = [t["id"] for t in run["analysis"]["tokens"]]
    Interventions(monkeypatch, model_type(path), ablate=[(0, 0), (0, 2), (1, 1)])
    attn, logits = hf_run(path, ids)
    compare(run, attn, logits)


@pytest.mark.parametrize("name", ["llama", "gpt2", "mistral"])
def test_decoder_knockout_of_first_token_leaves_empty_rows(engine, decoders, name):
    """Query 0 of a causal model only sees key 0: knocking it out leaves an all-zero row, and no query
    attends to it anywhere; every other row still sums to one."""
    run = engine.attend(str(decoders / name), TEXT, "--knockout", "0")
    for layer in run["layers"]:
        assert torch.all(layer[:, 0, :] == 0)
        assert torch.all(layer[:, :, 0] == 0)
        assert torch.allclose(layer[:, 1:].sum(-1), torch.ones(layer.shape[0], layer.shape[1] - 1), atol=1e-5)
        assert torch.isfinite(layer).all()
    assert torch.isfinite(run["logits"]).all()


def test_sliding_windows(engine, decoders):
    """Mistral: every layer sees at most 4 keys back. Gemma 3: layers 0 and 2 are local (window 4), layer 1 global."""
    run = engine.attend(str(decoders / "mistral"), TEXT)
    t = run["layers"][0].shape[-1]
    i, j = torch.meshgrid(torch.arange(t), torch.arange(t), indexing="ij")
    far = (i - j) >= 4
    for layer in run["layers"]:
        assert torch.all(layer[:, far] == 0)
    run = engine.attend(str(decoders / "gemma3"), TEXT)
    assert torch.all(run["layers"][0][:, far] == 0)
    assert torch.all(run["layers"][2][:, far] == 0)
    assert torch.any(run["layers"][1][:, far] > 0)
    run = engine.attend(str(decoders / "gemma2"), TEXT)  # Gemma 2: even layers local
    assert torch.all(run["layers"][0][:, far] == 0) and torch.all(run["layers"][2][:, far] == 0)
    assert torch.any(run["layers"][1][:, far] > 0)


def test_decoder_rejects_pairs_and_masks(engine, decoders):
    path = str(decoders / "llama")
    p = engine.run("attend", "--model", path, "--text", TEXT, "--pair", "Second sentence.", "--device", "cpu", "--out", str(engine.workdir / "x.json"), check=False)
    assert p.returncode != 0 and "decoder" in p.stderr and "panicked" not in p.stderr
    p = engine.run("attend", "--model", path, "--text", TEXT, "--mask", "2", "--device", "cpu", "--out", str(engine.workdir / "x.json"), check=False)
    assert p.returncode != 0 and "mask" in p.stderr and "panicked" not in p.stderr
    p = engine.run("attend", "--model", path, "--text", TEXT, "--ablate", "5:0", "--device", "cpu", "--out", str(engine.workdir / "x.json"), check=False)
    assert p.returncode != 0 and "panicked" not in p.stderr


def test_decoder_architecture_names(engine, decoders):
    for name, arch in [("gpt2", "gpt2"), ("qwen2", "qwen2"), ("qwen3", "qwen3"), ("mistral", "mistral"), ("gemma3", "gemma3_text"), ("gemma2", "gemma2"), ("gemma", "gemma"), ("llama", "llama")]:
        run = engine.attend(str(decoders / name), "Hello world.", logits=False)
        assert run["info"]["architecture"] == arch
        assert run["info"]["n_kv_heads"] == (4 if name == "gpt2" else 2)
