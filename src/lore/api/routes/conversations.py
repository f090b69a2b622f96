"""Conversations: create, list, read and delete them, and ask questions in them (answers streamed as SSE).

A conversation is its starter's: the same user or key (and, for a publishable key, the same end user of the
page) sees it, and so do the tenant's admins; to anyone else it does not exist (404). Answers are grounded only
in what the asker may read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Body, Path, Query, Request, Response

from lore.answers import TextDelta
from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import AnsweringDep, AnswerSlotsDep, SearchLimiterDep, ThrottlingDep
from lore.api.errors import ERROR_RESPONSES
from lore.api.streaming import (
    error_data,
    event_stream,
    frame,
    json_data,
    schema_ref,
    sse_event,
    streamed_answer,
    whole_answer,
)
from lore.api.throttle import Throttling
from lore.conversations import Answering, Order, StoredTurn
from lore.errors import LoreError
from lore.security.access import ask_as, conversation_owner, conversation_viewer
from lore.security.principal import Principal
from lore.wire.conversations import (
    ConversationIn,
    ConversationOut,
    ConversationPage,
    ConversationPatch,
    MessageIn,
    MessageOut,
    MessagePage,
)

router = APIRouter(prefix="/v1", tags=["conversations"], responses=ERROR_RESPONSES)

ConversationId = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=1000)]
TOKEN = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "The stored answer; with `stream: true`, an event stream: `token` events "
        '(`{"text"}`), then one `message` event (the stored answer, as without streaming), or an `error` event '
        "if the provider fails mid-answer (nothing is stored then).",
        "content": event_stream(
            sse_event("token", json_data(TOKEN)),
            sse_event("message", json_data(schema_ref("MessageOut"))),
            sse_event("error", json_data(schema_ref("ErrorOut"))),
        ),
    }
}


@router.post("/conversations", status_code=201)
def create_conversation(
    answering: AnsweringDep,
    principal: PrincipalDep,
    response: Response,
    body: Annotated[ConversationIn | None, Body()] = None,
) -> ConversationOut:
    """Start a conversation (the body is optional); it belongs to the caller."""
    body = body or ConversationIn()
    owner = conversation_owner(principal)
    conversation = answering.records.create(principal.tenant_id, body.title, body.metadata, owner)
    response.headers["Location"] = f"/v1/conversations/{conversation.id}"
    return ConversationOut.of(conversation)


@router.get("/conversations")
def list_conversations(
    answering: AnsweringDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> ConversationPage:
    """The caller's conversations (an admin's: all of the tenant's), newest first; follow `next_cursor`."""
    viewer = conversation_viewer(principal)
    page = answering.records.list_conversations(principal.tenant_id, limit, cursor, viewer)
    return ConversationPage(items=[ConversationOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@router.get("/conversations/{conversation_id}")
def get_conversation(
    conversation_id: ConversationId, answering: AnsweringDep, principal: PrincipalDep
) -> ConversationOut:
    viewer = conversation_viewer(principal)
    return ConversationOut.of(answering.records.get(principal.tenant_id, conversation_id, viewer))


@router.patch("/conversations/{conversation_id}")
def update_conversation(
    conversation_id: ConversationId,
    body: ConversationPatch,
    answering: AnsweringDep,
    principal: PrincipalDep,
) -> ConversationOut:
    """Rename it, or replace its metadata (`null` clears it)."""
    viewer = conversation_viewer(principal)
    changed = answering.records.update(principal.tenant_id, conversation_id, body.changes(), viewer)
    return ConversationOut.of(changed)


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(
    conversation_id: ConversationId, answering: AnsweringDep, principal: PrincipalDep, audit: AuditDep
) -> Response:
    """The conversation and all its messages."""
    viewer = conversation_viewer(principal)
    conversation = answering.records.get(principal.tenant_id, conversation_id, viewer)
    answering.records.delete(principal.tenant_id, conversation_id, viewer)
    summary = {"title": conversation.title, "messages": conversation.message_count}
    audit.record("conversation.deleted", target=conversation_id, summary=summary)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/messages")
def list_messages(
    conversation_id: ConversationId,
    answering: AnsweringDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    order: Order = "newest",
) -> MessagePage:
    """Newest first (or `order=oldest`); follow `next_cursor` until it is null."""
    viewer = conversation_viewer(principal)
    page = answering.records.messages(principal.tenant_id, conversation_id, limit, cursor, order, viewer)
    return MessagePage(items=[MessageOut.of(m) for m in page.items], next_cursor=page.next_cursor)


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=201,
    response_model=MessageOut,
    responses=STREAM_RESPONSE,
)
async def post_message(
    conversation_id: ConversationId,
    body: MessageIn,
    request: Request,
    answering: AnsweringDep,
    principal: PrincipalDep,
    limiter: SearchLimiterDep,  # retrieval embeds the question: admitted like a search
    slots: AnswerSlotsDep,
    throttling: ThrottlingDep,
) -> Any:
    """Ask a question: Lore retrieves passages (reading a follow-up in the light of the conversation), answers
    from them citing each as [n], and stores the question and the answer together once the answer is whole."""
    events = await answer_events(conversation_id, body, answering, principal, limiter, throttling)
    if body.stream:
        return await streamed_answer(slots, events, _render, _render_error, request.receive, 201)
    turn = await whole_answer(slots, events, StoredTurn, request.receive)
    return MessageOut.of(turn.answer)


async def answer_events(
    conversation_id: str,
    body: MessageIn,
    answering: Answering,
    principal: Principal,
    limiter: anyio.CapacityLimiter,
    throttling: Throttling,
) -> Iterator[TextDelta | StoredTurn]:
    """The way every question in a conversation is answered, here and in the web UI's chat: asked as the
    principal (grounded in what it may read), prepared off the event loop (retrieval admitted like a search),
    its answer's tokens counted against the tenant's quota as they come."""
    question, viewer = ask_as(principal, body.to_domain()), conversation_viewer(principal)
    prepared = await anyio.to_thread.run_sync(
        answering.prepare, principal.tenant_id, conversation_id, question, viewer, limiter=limiter
    )
    return throttling.counted(principal, answering.answer(prepared))


def _render(event: TextDelta | StoredTurn) -> bytes:
    if isinstance(event, TextDelta):
        return frame({"text": event.text}, "token")
    return frame(MessageOut.of(event.answer).model_dump(mode="json"), "message")


def _render_error(error: LoreError) -> bytes:
    return frame(error_data(error), "error")
