"""The demo corpus (../shared/corpus/hf_docs_sample.jsonl) as one text, for long-prompt tests and
benchmarks; a one-sentence stand-in when the corpus is missing."""
import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "hf_docs_sample.jsonl"


def corpus_text() -> str:
    docs = []
    if CORPUS.is_file():
        for line in CORPUS.read_text().splitlines():
            try:
                docs.append(json.loads(line)["text"])
            except (ValueError, KeyError):
                continue
    if not docs:
        docs = ["The capital of France is Paris, and every layer of the model attends between the tokens."]
    return "\n\n".join(docs)
