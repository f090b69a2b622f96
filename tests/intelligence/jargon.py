"""A tiny tenant whose users name each help topic by an in-house code word the embedding model has never seen:
what a query adapter learns from pairs, and what the base model cannot know."""

from __future__ import annotations

import json
from pathlib import Path

from lore.intelligence.adapter_pairs import Pair
from lore.service import Lore

TOPICS = {
    "zorblax": (
        "Refunds",
        "Refunds are paid back to the original card within five business days of approval.",
    ),
    "quimbly": ("Password reset", "Choose Forgot password on the sign-in page and follow the emailed link."),
    "fendrix": ("Shipping times", "Parcels leave the warehouse in two days and arrive within a week."),
    "plovat": ("Invoices", "Every invoice is a PDF under Billing, with the tax number of your company."),
    "gruntak": ("Two-step sign-in", "Scan the QR code with an authenticator app to protect your login."),
    "mexilo": ("Cancelling a plan", "Cancel under Plan; you keep access until the end of the period."),
    "trandor": ("Exporting data", "Export every record as CSV or JSON from the Data page, at any time."),
    "vospin": ("Inviting colleagues", "Send invitations from Team; each colleague gets an email to join."),
    "kelbrix": ("Rate limits", "The API allows one hundred requests a minute per key before it answers 429."),
    "yuvarno": ("Dark theme", "Switch the colour theme to dark under Appearance in your profile."),
    "daxtile": ("Working offline", "The mobile app keeps your last documents readable without a network."),
    "snorvel": ("Closing an account", "Closing your account erases its data after thirty days."),
}
TEMPLATES = [
    "how does {code} work",
    "{code} is not working",
    "problem with {code}",
    "help me with {code}",
    "question about {code}",
    "{code} stopped",
    "where do I find {code}",
    "{code} error today",
    "explain {code} please",
    "I need {code}",
]


def queries() -> list[tuple[str, str]]:
    """(query, code) for every topic and template."""
    return [(template.format(code=code), code) for code in TOPICS for template in TEMPLATES]


def load(lore: Lore, tenant_id: str = "default", collection: str = "help") -> dict[str, str]:
    """The topics' documents in the collection; code -> document id."""
    ids = {}
    for code, (title, text) in TOPICS.items():
        document = lore.add_text(
            title=title, text=text, source=f"kb:{code}", tenant_id=tenant_id, collection=collection
        )
        ids[code] = document.id
    return ids


def pairs(documents: dict[str, str]) -> list[Pair]:
    return [Pair(query, document_id=documents[code]) for query, code in queries()]


def write_beir(root: Path) -> Path:
    """The tenant as a BEIR-layout set: train on seven templates per code, test on the other three."""
    (root / "qrels").mkdir(parents=True)
    corpus = [{"_id": code, "title": title, "text": text} for code, (title, text) in TOPICS.items()]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(row) for row in corpus) + "\n")
    rows = [{"_id": f"q{i}", "text": text} for i, (text, _) in enumerate(queries())]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    header = "query-id\tcorpus-id\tscore\n"
    judged = [(f"q{i}", code, i % len(TEMPLATES) < 7) for i, (_, code) in enumerate(queries())]
    for split, train in (("train", True), ("test", False)):
        lines = "".join(f"{q}\t{code}\t1\n" for q, code, is_train in judged if is_train == train)
        (root / "qrels" / f"{split}.tsv").write_text(header + lines)
    return root
