"""Promote a good answer to a draft article: its question, its text and the sources it cited become a document
of the drafts collection, added through the service's normal path (parsed, chunked, embedded, indexed).

A draft is tagged `draft` and restricted: only its owner (whoever promoted it) and the tenant's admins read
it, so no customer, publishable key or other editor finds it until its owner or an admin publishes it (`PUT
/v1/documents/{id}/access` with `restricted: false`). Promoting the same answer again replaces its draft (the source is
`draft:<conversation>:<message>`), so a retry never makes two.

    >>> promote(lore, principal, Promotion(conversation_id, message_id))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lore.backends.store.conversation_records import ConversationRecords
from lore.errors import InvalidInput
from lore.models import Access, Document, Message
from lore.security.access import author_of, check_collection, conversation_viewer, readers_of
from lore.security.principal import Principal
from lore.service import Lore

DRAFT_TAG = "draft"
TITLE_CHARS = 200
QUESTION_CHARS = 1000  # a metadata value's bound


@dataclass(frozen=True, slots=True)
class Promotion:
    """Which answer to promote; `title` defaults to its question, `collection` to the drafts collection."""

    conversation_id: str
    message_id: int
    title: str | None = None
    collection: str | None = None


def promote(lore: Lore, principal: Principal, promotion: Promotion) -> Document:
    """The new (or replaced) draft; `NotFound` for a message the principal may not see, `InvalidInput` for
    one that is not an answer or that abstained."""
    collection = check_collection(
        principal, promotion.collection or lore.settings.intelligence.gaps_drafts_collection
    )
    records = lore.store.conversations
    answer = _answer(records, principal, promotion)
    question = _question(records, principal, promotion.conversation_id, answer)
    sources = _readable_sources(lore, principal, answer.citations)
    title = promotion.title or _shorten(question or "Promoted answer", TITLE_CHARS)
    return lore.add_text(
        title=title,
        text=draft_text(question, answer.content, sources),
        source=f"draft:{promotion.conversation_id}:{promotion.message_id}",
        tenant_id=principal.tenant_id,
        collection=collection,
        tags=[DRAFT_TAG],
        metadata={
            "promoted_conversation_id": promotion.conversation_id,
            "promoted_message_id": promotion.message_id,
            "question": _shorten(question, QUESTION_CHARS),
        },
        author=author_of(principal),
        access=Access(restricted=True),
    )


def _answer(records: ConversationRecords, principal: Principal, promotion: Promotion) -> Message:
    viewer = conversation_viewer(principal)
    message = records.message(principal.tenant_id, promotion.conversation_id, promotion.message_id, viewer)
    details = {"conversation_id": promotion.conversation_id, "message_id": promotion.message_id}
    if message.role != "assistant":
        raise InvalidInput("only an answer can be promoted, not a question", details=details)
    if message.metadata.get("abstained"):
        raise InvalidInput("this answer abstained: it has nothing to promote", details=details)
    return message


def _question(
    records: ConversationRecords, principal: Principal, conversation_id: str, answer: Message
) -> str:
    """The question the answer replies to (its `reply_to`), or "" for an answer stored without one."""
    asked = answer.metadata.get("reply_to")
    if not isinstance(asked, int):
        return ""
    viewer = conversation_viewer(principal)
    return records.message(principal.tenant_id, conversation_id, asked, viewer).content


def _readable_sources(
    lore: Lore, principal: Principal, citations: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The cited passages whose documents still exist and the principal may read: a draft lists no document
    its promoter could not see (the draft may be opened to everyone later)."""
    readers, kept = readers_of(principal), []
    for citation in citations:
        document = lore.store.documents.get_document(
            principal.tenant_id, str(citation.get("document_id")), readers=readers
        )
        if document is not None and principal.can_use_collection(document.collection):
            kept.append(citation)
    return kept


def draft_text(question: str, answer: str, sources: Sequence[Mapping[str, Any]]) -> str:
    """Markdown: the question, the answer (its [n] markers kept) and the numbered sources it cites."""
    parts = [f"**Question:** {question}", answer.strip()] if question else [answer.strip()]
    if sources:
        lines = [f"[{c.get('marker')}] {c.get('title')} ({c.get('source')})" for c in sources]
        parts.append("## Sources\n\n" + "\n".join(f"- {line}" for line in lines))
    return "\n\n".join(parts) + "\n"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
