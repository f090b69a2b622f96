"""A small synthetic labelled set of support questions for the intent tests, and the settings of a Lore to train
and serve on."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from lore.config import Settings

INTENTS = {
    "refund_request": [
        "I want a refund for {x}",
        "how do I get my money back for {x}",
        "please refund {x}",
        "can I return {x} and be reimbursed",
    ],
    "card_lost": [
        "I lost my card at {x}",
        "my card was stolen near {x}",
        "I cannot find my bank card since {x}",
        "someone took my card at {x}",
    ],
    "talk_to_human": [
        "let me speak to a person about {x}",
        "I need a human agent for {x}",
        "connect me with support staff about {x}",
        "can a real person call me about {x}",
    ],
}
FILLERS = ["the order", "the shoes", "the station", "the airport", "yesterday", "my subscription"]


def labelled_rows(fillers: list[str] = FILLERS) -> list[tuple[str, str]]:
    return [
        (template.format(x=filler), intent)
        for intent, templates in INTENTS.items()
        for template, filler in itertools.product(templates, fillers)
    ]


def as_csv(rows: list[tuple[str, str]], label_column: str = "label") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["text", label_column])
    writer.writerows(rows)
    return out.getvalue().encode()


def make_settings(data_dir: Path, model_cache: Path, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        **overrides,  # type: ignore[arg-type]
    )
