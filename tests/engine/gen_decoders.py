"""Generates tiny random-weight Hugging Face decoder checkpoints (safetensors + tokenizer.json) with
transformers, for the engine's decoder parity tests. Nothing is downloaded.

    python tests/engine/gen_decoders.py OUT_DIR      # writes OUT_DIR/<name>/ for every spec
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_checkpoints  # noqa: E402  (shared weight randomiser)

CORPUS = [
    "The capital of France is Paris.",
    "A quick brown fox jumps over the lazy dog.",
    "Researchers type a sentence and watch every layer attend between tokens.",
    "Causal language models predict the next word from the words before it.",
    "Transformers stack attention and feed-forward layers, each with residual connections.",
    "Hello world! Numbers like 1234 and symbols like #, @ and % appear too.",
    "Paris is lovely in spring; London is rainy; Berlin is cold in winter.",
]


def byte_level_tokenizer(path: Path) -> int:
    """Trains a small byte-level BPE (GPT-2 style, BOS prepended) and writes tokenizer.json; returns the vocab size."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<s>"]
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B:1", special_tokens=[("<s>", bos)])
    tok.save(str(path))
    return tok.get_vocab_size(with_added_tokens=True)


def _randomize(model: torch.nn.Module, std: float) -> None:
    """The encoders' weight randomiser with this file's own seed."""
    gen_checkpoints._randomize(model, std, seed=4321)


# name -> (model_type, extra config)
SPECS = {
    "gpt2": ("gpt2", {}),
    "llama": ("llama", {}),
    "llama_tied": ("llama", {"tie_word_embeddings": True}),
    "llama_linear": ("llama", {"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}}),
    "llama_llama3": (
        "llama",
        {
            "rope_parameters": {
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 16,
                "rope_theta": 500000.0,
            }
        },
    ),
    "llama_yarn": (
        "llama",
        {"rope_parameters": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32, "rope_theta": 10000.0}},
    ),
    "qwen2": ("qwen2", {}),
    "qwen3": ("qwen3", {}),
    "mistral": ("mistral", {"sliding_window": 4}),
    "gemma3": ("gemma3_text", {}),
    "gemma2": ("gemma2", {}),
    "gemma2_gguf": ("gemma2", {"query_pre_attn_scalar": 16}),
    "gemma": ("gemma", {}),
    # Laid out as llama.cpp assumes for Gemma 3 GGUFs: global layer every sixth, scale 1/sqrt(head_dim).
    "gemma3_gguf": ("gemma3_text", {"num_hidden_layers": 6, "query_pre_attn_scalar": 16, "layer_types": None}),
}
ALL = list(SPECS)


def make(name: str, out: Path) -> Path:
    import transformers as tf

    d = out / name
    if (d / "config.json").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    v = byte_level_tokenizer(d / "tokenizer.json")
    model_type, extra = SPECS[name]
    common = dict(
        vocab_size=v,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        intermediate_size=96,
        max_position_embeddings=128,
        rms_norm_eps=1e-6,
        bos_token_id=1,
        eos_token_id=0,
        pad_token_id=0,
    )
    if model_type == "gpt2":
        cfg = tf.GPT2Config(vocab_size=v, n_embd=64, n_layer=2, n_head=4, n_positions=128, bos_token_id=1, eos_token_id=0)
        model = tf.GPT2LMHeadModel(cfg)
    elif model_type == "llama":
        cfg = tf.LlamaConfig(**{**common, "tie_word_embeddings": False, **extra})
        model = tf.LlamaForCausalLM(cfg)
    elif model_type == "qwen2":
        cfg = tf.Qwen2Config(**{**common, "tie_word_embeddings": False, **extra})
        model = tf.Qwen2ForCausalLM(cfg)
    elif model_type == "qwen3":
        cfg = tf.Qwen3Config(**{**common, "tie_word_embeddings": False, **extra})
        model = tf.Qwen3ForCausalLM(cfg)
    elif model_type == "gemma2":
        g2 = dict(
            num_hidden_layers=3,
            sliding_window=4,
            query_pre_attn_scalar=24,
            attn_logit_softcapping=2.0,  # small caps so that the tanh really bends the scores
            final_logit_softcapping=3.0,
            hidden_activation="gelu_pytorch_tanh",
        )
        cfg = tf.Gemma2Config(**{**common, **g2, **extra})
        model = tf.Gemma2ForCausalLM(cfg)
    elif model_type == "gemma":
        cfg = tf.GemmaConfig(**common, hidden_act="gelu_pytorch_tanh")
        model = tf.GemmaForCausalLM(cfg)
    elif model_type == "mistral":
        cfg = tf.MistralConfig(**{**common, "tie_word_embeddings": False, **extra})
        model = tf.MistralForCausalLM(cfg)
    elif model_type == "gemma3_text":
        g3 = dict(
            num_hidden_layers=3,
            layer_types=["sliding_attention", "full_attention", "sliding_attention"],
            sliding_window=4,
            query_pre_attn_scalar=24,
            rope_parameters={
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0},
            },
            hidden_activation="gelu_pytorch_tanh",
        )
        cfg = tf.Gemma3TextConfig(**{**common, **g3, **extra})
        model = tf.Gemma3ForCausalLM(cfg)
    else:
        raise ValueError(name)
    _randomize(model, 0.15)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)
    return d


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/artifacts/decoders")
    for n in ALL:
        print(make(n, out))
