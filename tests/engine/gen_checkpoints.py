"""Generates tiny random-weight Hugging Face checkpoints (safetensors + tokenizer.json) for the encoder
architectures the engine supports. Used by the tests at test time; nothing is downloaded.

    python tests/engine/gen_checkpoints.py OUT_DIR      # writes OUT_DIR/<name>/ for every spec
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import torch

SITE = Path(torch.__file__).resolve().parent.parent
BERT_TOKENIZER = SITE / "cognition" / "model" / "tokenizer.json"

CORPUS = [
    "The capital of France is Paris.",
    "A quick brown fox jumps over the lazy dog.",
    "Researchers type a sentence and watch every layer attend between tokens.",
    "Masked language models predict the hidden word from both sides.",
    "Transformers stack attention and feed-forward layers, each with residual connections.",
    "Hello world! Numbers like 1234 and symbols like #, @ and % appear too.",
    "Paris is lovely in spring; London is rainy; Berlin is cold in winter.",
]


def bert_vocab_size() -> int:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(BERT_TOKENIZER)).get_vocab_size(with_added_tokens=True)


def byte_level_tokenizer(path: Path) -> int:
    """Trains a small byte-level BPE with RoBERTa specials and writes tokenizer.json; returns the vocab size."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True)
    from tokenizers import AddedToken

    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    tok.save(str(path))
    return tok.get_vocab_size(with_added_tokens=True)


def _randomize(model: torch.nn.Module, std: float, seed: int = 1234) -> None:
    """Wider-than-default random weights so attention is far from uniform (also used by gen_decoders)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * std)
            elif name.endswith("bias") or name.endswith("beta"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            else:
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)


def make(name: str, out: Path) -> Path:
    import transformers as tf

    d = out / name
    if (d / "config.json").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    common = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=64)
    if name == "roberta":
        v = byte_level_tokenizer(d / "tokenizer.json")
        cfg = tf.RobertaConfig(vocab_size=v, pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1, **{**common, "max_position_embeddings": 66})
        model = tf.RobertaForMaskedLM(cfg)
    else:
        shutil.copy(BERT_TOKENIZER, d / "tokenizer.json")
        v = bert_vocab_size()
        if name == "bert":
            model = tf.BertForMaskedLM(tf.BertConfig(vocab_size=v, **common))
        elif name == "bert_encoder":
            model = tf.BertModel(tf.BertConfig(vocab_size=v, **common), add_pooling_layer=True)
        elif name == "distilbert":
            cfg = tf.DistilBertConfig(vocab_size=v, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=64, activation="gelu")
            model = tf.DistilBertForMaskedLM(cfg)
        elif name == "albert":
            cfg = tf.AlbertConfig(vocab_size=v, embedding_size=16, num_hidden_groups=1, inner_group_num=1, hidden_act="gelu_new", **{**common, "num_hidden_layers": 3})
            model = tf.AlbertForMaskedLM(cfg)
        elif name == "albert_groups":
            cfg = tf.AlbertConfig(vocab_size=v, embedding_size=16, num_hidden_groups=2, inner_group_num=2, hidden_act="gelu_new", **{**common, "num_hidden_layers": 4})
            model = tf.AlbertForMaskedLM(cfg)
        elif name == "electra":
            cfg = tf.ElectraConfig(vocab_size=v, embedding_size=16, **common)
            model = tf.ElectraForMaskedLM(cfg)
        else:
            raise ValueError(name)
    _randomize(model, 0.15)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)
    return d


ALL = ["bert", "bert_encoder", "roberta", "distilbert", "albert", "albert_groups", "electra"]

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/artifacts/checkpoints")
    for n in ALL:
        print(make(n, out))
