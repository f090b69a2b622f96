"""Chat: the signed-in user's conversations, one conversation's messages, a question box, answers streamed in
with their citations linked to the cited passages, and helpful / not helpful on each answer.

A question is asked in two steps, because a browser's `EventSource` can only GET:

1. `POST /chat/{id}/questions` checks the question (the API's `MessageIn`) and the conversation, holds the
   question in the store (`ConversationRecords.hold_question`: a random token, bound to this conversation and
   to the asker) and answers with the question and an empty answer that connects to step 2's stream.
2. `GET /chat/{id}/answers/{token}` takes the held question out of the store in the statement that reads it
   (`take_question`), then answers it by the API's own path (`conversations.answer_events`: the same
   retrieval, provider chain, quota counting, stored turn and `answer` event as `POST .../messages`),
   streaming `token` events, then one `answer` event (the stored answer, rendered) or one `failed` event.

A token is taken once, by whichever worker the stream reaches: a reconnect, a reload or a second tab finds it
gone and gets a `failed` event saying so, never a second answer. The last event replaces the element that
holds the connection, which closes it, so the browser does not reconnect after a finished answer.
"""

from __future__ import annotations

from typing import Annotated, Literal

import anyio.to_thread
from fastapi import Form, Path, Request, Response
from markupsafe import Markup, escape

from lore.answers import TextDelta
from lore.answers.citations import MARKER
from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import AnsweringDep, AnswerSlotsDep, LoreDep, SearchLimiterDep, ThrottlingDep
from lore.api.routes import conversations as api_conversations
from lore.api.routes import events as api_events
from lore.api.streaming import HEADERS, streamed_answer
from lore.conversations import StoredTurn
from lore.errors import LoreError, NotFound
from lore.security.access import conversation_owner, conversation_viewer
from lore.ui.pages.search import collection_names
from lore.ui.rendering import fragment, render
from lore.ui.routing import go_to, page_router
from lore.wire.conversations import ConversationIn, ConversationPatch, MessageIn, MessageOut
from lore.wire.events import FeedbackIn

router = page_router()
TEMPLATE = "chat.html"
ConversationId = Annotated[str, Path(min_length=1, max_length=64)]
Token = Annotated[str, Path(min_length=1, max_length=64)]
SHOWN_MESSAGES = 200  # the newest ones; a longer conversation says so


def cited(message: MessageOut) -> Markup:
    """The answer's text escaped, each [n] that names one of its citations a link to the cited passage."""
    targets = {c.marker: passage_url(c.document_id, c.chunk_id) for c in message.citations}
    parts: list[str] = []
    at = 0
    for match in MARKER.finditer(message.content):
        url = targets.get(int(match.group(1)))
        if url is None:
            continue
        parts += [escape(message.content[at : match.start()]), link(url, match.group(0))]
        at = match.end()
    parts.append(escape(message.content[at:]))
    return Markup("").join(parts)


def link(url: str, text: str) -> Markup:
    return Markup('<a class="marker" href="{}">{}</a>').format(url, text)


def passage_url(document_id: str, chunk_id: int) -> str:
    return f"/documents/{document_id}?chunk={chunk_id}#chunk-{chunk_id}"


def sse(event: str, html: str) -> bytes:
    """One server-sent event whose data is an HTML fragment, one `data:` line per line of it."""
    lines = html.splitlines() or [""]
    return (f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n").encode()


@router.get("/chat")
def chat_page(request: Request, answering: AnsweringDep, principal: PrincipalDep) -> Response:
    """The caller's conversations (an admin's: the tenant's), newest first, and a button to start one."""
    listed = api_conversations.list_conversations(answering, principal)
    return render(request, TEMPLATE, {"conversations": listed.items, "conversation": None})


@router.post("/chat")
def new_conversation(request: Request, answering: AnsweringDep, principal: PrincipalDep) -> Response:
    created = api_conversations.create_conversation(answering, principal, Response(), ConversationIn())
    return go_to(request, f"/chat/{created.id}")


@router.get("/chat/{conversation_id}")
def conversation_page(
    request: Request,
    conversation_id: ConversationId,
    answering: AnsweringDep,
    lore: LoreDep,
    principal: PrincipalDep,
) -> Response:
    """One conversation the caller sees (else 404, as the API answers), its messages oldest first."""
    conversation = api_conversations.get_conversation(conversation_id, answering, principal)
    page = api_conversations.list_messages(conversation_id, answering, principal, limit=SHOWN_MESSAGES)
    context = {
        "conversations": api_conversations.list_conversations(answering, principal).items,
        "conversation": conversation,
        "messages": list(reversed(page.items)),
        "more": page.next_cursor is not None,
        "collections": collection_names(lore, principal),
        "cited": cited,
        "passage_url": passage_url,
    }
    return render(request, TEMPLATE, context)


@router.patch("/chat/{conversation_id}")
def rename_conversation(
    request: Request,
    conversation_id: ConversationId,
    answering: AnsweringDep,
    principal: PrincipalDep,
    title: Annotated[str, Form(max_length=1000)],
) -> Response:
    body = ConversationPatch(title=title.strip() or None)
    api_conversations.update_conversation(conversation_id, body, answering, principal)
    return go_to(request, f"/chat/{conversation_id}")


@router.delete("/chat/{conversation_id}")
def delete_conversation(
    request: Request,
    conversation_id: ConversationId,
    answering: AnsweringDep,
    principal: PrincipalDep,
    audit: AuditDep,
) -> Response:
    api_conversations.delete_conversation(conversation_id, answering, principal, audit)
    return go_to(request, "/chat")


@router.post("/chat/{conversation_id}/questions")
async def ask(
    request: Request,
    conversation_id: ConversationId,
    answering: AnsweringDep,
    principal: PrincipalDep,
    content: Annotated[str, Form(max_length=10_000)],
    collection: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Step 1: the question held, and the fragment that shows it and streams its answer (step 2)."""
    body = MessageIn(content=content.strip(), collection=collection or None)
    held = body.model_dump(mode="json", exclude_none=True, exclude={"stream"})
    token = await anyio.to_thread.run_sync(
        answering.records.hold_question,
        principal.tenant_id,
        conversation_id,
        conversation_owner(principal),
        held,
        conversation_viewer(principal),
    )
    context = {"question": body.content, "token": token, "conversation_id": conversation_id}
    return render(request, TEMPLATE, context, block="asked")


@router.get("/chat/{conversation_id}/answers/{token}")
async def answer_stream(
    request: Request,
    conversation_id: ConversationId,
    token: Token,
    answering: AnsweringDep,
    principal: PrincipalDep,
    limiter: SearchLimiterDep,
    slots: AnswerSlotsDep,
    throttling: ThrottlingDep,
) -> Response:
    """Step 2: the held question answered once, as server-sent events of HTML fragments."""
    owner = conversation_owner(principal)
    held = await anyio.to_thread.run_sync(
        answering.records.take_question, principal.tenant_id, conversation_id, token, owner
    )

    def failed(error: LoreError) -> bytes:
        return sse("failed", fragment(request, TEMPLATE, "failed", {"error": error}))

    if held is None:
        gone = NotFound(
            "this answer was already given or interrupted: reload the conversation, or ask again",
            details={"reason": "question_taken"},
        )
        return Response(failed(gone), media_type="text/event-stream", headers=HEADERS)

    def piece(event: TextDelta | StoredTurn) -> bytes:
        if isinstance(event, TextDelta):
            return sse("token", str(Markup("<span>{}</span>").format(event.text)))
        answer = {"message": MessageOut.of(event.answer), "cited": cited, "passage_url": passage_url}
        # The conversation's heading and its entry in the list, swapped out of band: a first answer names it.
        now = answering.records.get(principal.tenant_id, conversation_id, conversation_viewer(principal))
        named = {"c": now, "conversation": now, "oob": True}
        html = [fragment(request, TEMPLATE, "answer", answer)]
        html += [fragment(request, TEMPLATE, block, named) for block in ("heading", "entry")]
        return sse("answer", "\n".join(html))

    body = MessageIn.model_validate(held)
    try:
        events = await api_conversations.answer_events(
            conversation_id, body, answering, principal, limiter, throttling
        )
        return await streamed_answer(slots, events, piece, failed, request.receive)
    except LoreError as error:  # before the first token: said in the stream, where the page listens
        return Response(failed(error), media_type="text/event-stream", headers=HEADERS)


@router.post("/chat/{conversation_id}/messages/{message_id}/feedback")
def answer_feedback(
    request: Request,
    conversation_id: ConversationId,
    message_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    events: api_events.IntakeDep,
    principal: PrincipalDep,
    helpful: Annotated[Literal["true", "false"], Form()],
) -> Response:
    """Helpful or not, by the API's feedback handler: the buttons give way to a thanks."""
    body = FeedbackIn(helpful=helpful == "true")
    api_events.post_feedback(conversation_id, message_id, body, events, principal)
    return render(request, TEMPLATE, {"helpful": body.helpful}, block="thanks")
