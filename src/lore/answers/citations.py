"""Resolve the [n] markers of an answer to the passages they name, and recognise an abstention."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lore.answers.prompt import ABSTENTION
from lore.answers.types import Citation
from lore.models import Hit

MARKER = re.compile(r"\[(\d{1,3})\]")  # what cites passage n; source text that looks like it is defused
_ABSTENTION_OPENING = re.compile(r"^\W*i (?:do not|don't|don’t) know\b", re.IGNORECASE)


def cite(text: str, passages: Sequence[Hit]) -> tuple[Citation, ...]:
    """The passages the text cites, in order of first citation; markers naming no passage are ignored."""
    numbers = dict.fromkeys(int(m) for m in MARKER.findall(text))
    return tuple(citation(n, passages[n - 1]) for n in numbers if 1 <= n <= len(passages))


def citation(marker: int, hit: Hit) -> Citation:
    chunk = hit.chunk
    return Citation(
        marker=marker,
        chunk_id=chunk.id,
        document_id=chunk.document_id,
        title=chunk.title,
        heading_path=tuple(chunk.heading_path),
        source=chunk.source,
        text=chunk.text,
    )


def is_abstention(text: str) -> bool:
    """Whether a model's reply is the abstention sentence (or opens by saying it does not know)."""
    return text.strip() == ABSTENTION or bool(_ABSTENTION_OPENING.match(text))
