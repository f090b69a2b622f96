"""The values that flow through the answer layer: what a provider is asked, what it streams, what it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lore.models import Hit, Role

if TYPE_CHECKING:
    from lore.interfaces import Embedder


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of the conversation."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class AnswerRequest:
    """A question, the passages retrieved for it (best first; passage n is cited as [n]) and the conversation so
    far, oldest first. `embedder` is the model that embedded the passages (None: unknown, or several): the
    extractive provider compares sentences with it and reads its calibrated abstention evidence.
    `max_tokens` bounds this answer below the configured limit (None: that limit alone)."""

    question: str
    passages: Sequence[Hit]
    history: Sequence[Turn] = ()
    embedder: Embedder | None = None
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer, sent as soon as it is produced."""

    text: str


@dataclass(frozen=True, slots=True)
class Completion:
    """What a provider returns after its last delta: the whole text and its token counts.

    `abstained` is set by providers that know they abstained; None lets the caller recognise the abstention
    sentence in the text.
    """

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    abstained: bool | None = None


@dataclass(frozen=True, slots=True)
class Citation:
    """A passage the answer cites as [marker]: where it comes from and its text."""

    marker: int
    chunk_id: int
    document_id: str
    title: str
    heading_path: tuple[str, ...]
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Cost and speed of one answer; `latency_seconds` counts retries and fallbacks too."""

    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_seconds: float
    first_token_seconds: float | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """A provider that failed before the one that answered, and why (an error code)."""

    provider: str
    error: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The final event of an answer stream: the text with its [n] markers resolved to citations."""

    text: str
    citations: tuple[Citation, ...]
    usage: Usage
    abstained: bool
    failed_attempts: tuple[Attempt, ...] = field(default=())


ProviderEvent = TextDelta | Completion
AnswerEvent = TextDelta | Answer
