"""Conversations and their answers (whole or streamed), the OpenAI-compatible chat API, and the events that
say how answers and results were received."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lore_client._pages import Page
from lore_client._routes import OMIT, Call, M, Namespace, Omitted, changes, endpoint, given, paged, streamed
from lore_client.answers import AnswerEvent, answer_event, chat_chunk
from lore_client.types import (
    Conversation,
    Event,
    EventsAccepted,
    Feedback,
    Filters,
    JSONObject,
    Message,
    NewEvent,
    Scalar,
    Strings,
)

Collections = str | list[str] | None  # one collection or several


def _question(
    content: str,
    stream: bool,
    provider: str | Strings | None,
    collection: Collections,
    filters: Filters | None,
) -> dict[str, object]:
    extra = given(provider=provider, collection=collection, filters=filters)
    return {"content": content, "stream": stream, **extra}


class Conversations(Namespace[M]):
    name = "conversations"

    @endpoint("POST", "/v1/conversations")
    def create(
        self, *, title: str | None = None, metadata: Mapping[str, Scalar] | None = None
    ) -> Call[Conversation]:
        return Call(json=given(title=title, metadata=metadata))

    @paged("/v1/conversations")
    def list(self, *, limit: int | None = None) -> Call[Page[Conversation]]:
        """The caller's conversations (an admin's: the tenant's), newest first."""
        return Call(query={"limit": limit})

    @endpoint("GET", "/v1/conversations/{conversation_id}")
    def get(self, conversation_id: str) -> Call[Conversation]:
        return Call(path={"conversation_id": conversation_id})

    @endpoint("PATCH", "/v1/conversations/{conversation_id}")
    def update(
        self,
        conversation_id: str,
        *,
        title: str | Omitted | None = OMIT,
        metadata: Mapping[str, Scalar] | Omitted | None = OMIT,
    ) -> Call[Conversation]:
        """Rename it or replace its metadata; None clears a field, a field left out stays."""
        return Call(path={"conversation_id": conversation_id}, json=changes(title=title, metadata=metadata))

    @endpoint("DELETE", "/v1/conversations/{conversation_id}")
    def delete(self, conversation_id: str) -> Call[None]:
        return Call(path={"conversation_id": conversation_id}, expect="empty")

    @paged("/v1/conversations/{conversation_id}/messages")
    def messages(
        self, conversation_id: str, *, order: str | None = None, limit: int | None = None
    ) -> Call[Page[Message]]:
        """Newest first, or `order="oldest"`."""
        return Call(path={"conversation_id": conversation_id}, query={"order": order, "limit": limit})

    @endpoint("POST", "/v1/conversations/{conversation_id}/messages")
    def ask(
        self,
        conversation_id: str,
        content: str,
        *,
        provider: str | Strings | None = None,
        collection: Collections = None,
        filters: Filters | None = None,
    ) -> Call[Message]:
        """Ask a question; the whole answer, citing passages as [n], once it is stored."""
        question = _question(content, False, provider, collection, filters)
        return Call(path={"conversation_id": conversation_id}, json=question)

    @streamed("POST", "/v1/conversations/{conversation_id}/messages")
    def stream(
        self,
        conversation_id: str,
        content: str,
        *,
        provider: str | Strings | None = None,
        collection: Collections = None,
        filters: Filters | None = None,
    ) -> Call[AnswerEvent]:
        """Ask a question; the answer as it is written: `Token`s, then one `Answer` with the citations."""
        question = _question(content, True, provider, collection, filters)
        return Call(path={"conversation_id": conversation_id}, json=question, events=answer_event)

    @endpoint("POST", "/v1/conversations/{conversation_id}/messages/{message_id}/feedback")
    def feedback(
        self,
        conversation_id: str,
        message_id: int,
        helpful: bool,
        *,
        reason: str | None = None,
        event_id: str | None = None,
    ) -> Call[Feedback]:
        """Whether an answer helped (`event_id` makes a resend count once)."""
        path: dict[str, str | int] = {"conversation_id": conversation_id, "message_id": message_id}
        return Call(path=path, json={"helpful": helpful, **given(reason=reason, event_id=event_id)})


class Chat(Namespace[M]):
    """The OpenAI-compatible API: any OpenAI client works too; these are its routes in this client's terms."""

    name = "chat"

    @endpoint("GET", "/v1/models")
    def models(self) -> Call[list[JSONObject]]:
        return Call(unwrap="data")

    @endpoint("GET", "/v1/models/{model_id}")
    def model(self, model_id: str) -> Call[JSONObject]:
        return Call(path={"model_id": model_id})

    @endpoint("POST", "/v1/chat/completions")
    def completions(self, /, model: str, messages: list[JSONObject], **options: Any) -> Call[JSONObject]:
        """A chat completion grounded in the knowledge base; `options` are the request's other fields
        (`max_tokens`, `lore={"collection": ...}`, ...)."""
        return Call(json={"model": model, "messages": messages, **options, "stream": False})

    @streamed("POST", "/v1/chat/completions")
    def stream(self, /, model: str, messages: list[JSONObject], **options: Any) -> Call[JSONObject]:
        """The completion's chunks as they come (the last carries `citations`)."""
        return Call(json={"model": model, "messages": messages, **options, "stream": True}, events=chat_chunk)


class Events(Namespace[M]):
    name = "events"

    @endpoint("POST", "/v1/events")
    def send(self, events: list[NewEvent]) -> Call[EventsAccepted]:
        return Call(json={"events": events})

    @paged("/v1/events/export")
    def export(
        self,
        *,
        kind: Strings | None = None,
        user_id: str | None = None,
        document_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
    ) -> Call[Page[Event]]:
        """Recorded events, newest first."""
        query = {"kind": kind, "user_id": user_id, "document_id": document_id, "since": since, "until": until}
        return Call(query={**query, "format": "json", "limit": limit})

    @endpoint("GET", "/v1/events/export")
    def export_ndjson(
        self,
        *,
        kind: Strings | None = None,
        user_id: str | None = None,
        document_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Call[str]:
        """Every matching event at once, as JSON lines."""
        query = {"kind": kind, "user_id": user_id, "document_id": document_id, "since": since, "until": until}
        return Call(query={**query, "format": "ndjson"}, expect="text")
