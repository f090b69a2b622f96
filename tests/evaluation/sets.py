"""Tiny BEIR-layout sets written for the evaluation tests."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = [
    {"_id": "d1", "title": "Refunds", "text": "Refunds are processed within five business days of approval."},
    {"_id": "d2", "title": "Passwords", "text": "To reset a password, open Settings and choose Security."},
    {"_id": "d3", "title": "Shipping", "text": "Parcels to islands travel by ferry and take a week."},
]
QUERIES = [
    # answered from its gold document, which holds the answer span
    {
        "_id": "q1",
        "text": "How fast are refunds processed?",
        "metadata": {"answers": [{"text": "five business days"}]},
    },
    {"_id": "q2", "text": "Where do I reset a password?", "metadata": {"answers": [{"text": "Settings"}]}},
    # nothing in the corpus is about it: the extractive provider abstains
    {
        "_id": "q3",
        "text": "Which telescope photographed the comet nucleus?",
        "metadata": {"answers": ["Giotto"]},
    },
    # no answer spans (as on scifact): counts everywhere but in answer recall
    {"_id": "q4", "text": "How long do parcels to islands take?"},
    # its gold document is not in the corpus: answered from d1, which is not gold, without the gold answer
    {
        "_id": "q5",
        "text": "When are refunds processed for gift cards?",
        "metadata": {"answers": [{"text": "never"}]},
    },
    {"_id": "unjudged", "text": "Is this query judged?"},
]
QRELS = {"q1": "d1", "q2": "d2", "q3": "d3", "q4": "d3", "q5": "d9"}


def write_tiny_set(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    docs = [{"_id": "d1", "title": "Refunds", "text": "Refunds take five days."}, {"_id": "d2", "text": "Hi"}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    queries = [{"_id": "q1", "text": "refund time"}, {"_id": "q2", "text": "unjudged"}]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return root


def write_answer_set(directory: Path) -> Path:
    (directory / "qrels").mkdir(parents=True)
    (directory / "corpus.jsonl").write_text("\n".join(json.dumps(row) for row in CORPUS))
    (directory / "queries.jsonl").write_text("\n".join(json.dumps(row) for row in QUERIES) + "\n\n")
    rows = "".join(f"{query}\t{doc}\t1\n" for query, doc in QRELS.items())
    (directory / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows + "q1\td3\t0\n")
    return directory
