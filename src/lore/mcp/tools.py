"""What Lore's MCP tools and resources do, as plain async functions of a `Call` and their validated arguments.

Each asks for the scope its REST route needs (`ROUTE_SCOPES` of that route, looked up, never restated), reads
only what the caller may read (tenant, collections, document permissions), and goes through the same metering
(quotas, usage) and audit as the route. A refusal is a `LoreError`; `lore.mcp.server` turns it into a tool error
carrying the error's code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

import anyio
import anyio.to_thread
from pydantic import BaseModel, Field, StringConstraints

from lore.api.audit import RequestAudit, document_summary
from lore.api.permissions import ROUTE_SCOPES
from lore.api.streaming import AnswerSlots
from lore.conversations import Answering, Question, StoredTurn
from lore.errors import Forbidden
from lore.intelligence.events import new_id, search_event
from lore.models import DEFAULT_COLLECTION, Document, Page
from lore.security.access import (
    ask_as,
    asker_of,
    author_of,
    check_collection,
    collections_for,
    conversation_owner,
    conversation_viewer,
    readers_of,
    search_as,
    visible,
)
from lore.security.principal import Principal
from lore.security.scopes import Scope
from lore.service import Lore
from lore.wire.conversations import MAX_QUESTION_CHARS, NO_NUL, CitationOut, MessageIn
from lore.wire.recommendations import RecommendationsOut
from lore.wire.schemas import (
    MAX_QUERY_CHARS,
    DocumentDetail,
    HitOut,
    Input,
    Name,
    SearchIn,
    SearchMode,
    Source,
    Tags,
    Title,
)

E = TypeVar("E")

# The REST route whose permission (and quotas) each tool shares.
SEARCH = "POST /v1/search"
ASK = "POST /v1/conversations/{conversation_id}/messages"
START_CONVERSATION = "POST /v1/conversations"
GET_DOCUMENT = "GET /v1/documents/{document_id}"
LIST_DOCUMENTS = "GET /v1/documents"
RELATED = "GET /v1/documents/{document_id}/related"
ADD_DOCUMENT = "POST /v1/documents"

HIT_FIELDS = {"rank", "document_id", "title", "snippet", "source", "collection", "score"}
DOCUMENT_FIELDS = {"id", "title", "text", "metadata", "source", "collection", "tags"}
DocumentId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Meter(Protocol):
    """The throttle's part in a tool call: over HTTP the app's `Throttling`; on stdio (the machine's operator,
    like the CLI) nothing."""

    async def admit(self, principal: Principal, route: str) -> None:
        """Refuse (`RateLimited`, `QuotaExceeded`) what `route` does if the tenant's quotas are used up."""

    def succeeded(self, route: str) -> None:
        """The call did what `route` does: count it in the tenant's usage as that route."""

    def answered(self, principal: Principal, events: Iterator[E]) -> Iterator[E]:
        """An answer's events, its tokens counted as they pass."""


@dataclass(frozen=True, slots=True)
class Backing:
    """What the tools run on: the service, answering, and the server's limits on concurrent searches and answers
    (None: no limit but the thread pool's)."""

    lore: Lore
    answering: Answering
    search_limiter: anyio.CapacityLimiter | None = None
    answer_slots: AnswerSlots | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call: who makes it, on what, audited and metered how."""

    principal: Principal
    backing: Backing
    audit: RequestAudit
    meter: Meter


def allowed(principal: Principal, route: str) -> bool:
    return principal.allows(Scope(ROUTE_SCOPES[route]))


def require(principal: Principal, route: str) -> None:
    """Forbidden unless the principal holds the scope `route` needs."""
    if not allowed(principal, route):
        needed = str(ROUTE_SCOPES[route])
        raise Forbidden(
            f"this needs the {needed} scope",
            details={"required": needed, "scopes": sorted(principal.scopes)},
        )


# -- arguments ------------------------------------------------------------------------------------------------


class SearchArgs(Input):
    query: Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS)]
    mode: SearchMode = "hybrid"
    collection: Name | None = Field(
        None, description="Only this collection; default: every one you may read."
    )
    k: int = Field(10, description="How many hits, 1 to the server's maximum.")


class AskArgs(Input):
    question: Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=NO_NUL)]
    conversation_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, description="Continue this conversation (a follow-up); default: a new one."
    )
    collection: Name | None = Field(None, description="Answer from this collection only.")


class DocumentArgs(Input):
    id: DocumentId


class RelatedArgs(Input):
    document_id: DocumentId
    k: int = Field(10, ge=1, le=50)


class AddDocumentArgs(Input):
    title: Title
    text: Annotated[str, StringConstraints(min_length=1)]
    collection: Name = DEFAULT_COLLECTION
    tags: Tags = Field(default_factory=list)
    source: Source | None = Field(
        None, description="Identity for updates: the same source replaces the document."
    )


# -- tools ----------------------------------------------------------------------------------------------------


async def search(call: Call, args: SearchArgs) -> dict[str, Any]:
    principal, lore = call.principal, call.backing.lore
    require(principal, SEARCH)
    body = SearchIn(query=args.query, k=args.k, mode=args.mode, collection=args.collection)
    request = search_as(principal, body.to_domain(principal.tenant_id))
    hits = await anyio.to_thread.run_sync(lore.search, request, limiter=call.backing.search_limiter)
    search_id = new_id()
    lore.events.record(
        search_event(asker_of(principal), search_id, args.query, args.mode, args.collection, hits)
    )
    call.meter.succeeded(SEARCH)
    return {
        "search_id": search_id,
        "hits": [
            HitOut.of(hit, rank).model_dump(mode="json", include=HIT_FIELDS)
            for rank, hit in enumerate(hits, 1)
        ],
    }


async def ask(call: Call, args: AskArgs) -> dict[str, Any]:
    principal, answering = call.principal, call.backing.answering
    require(principal, ASK)
    if args.conversation_id is None:
        require(principal, START_CONVERSATION)
    question = ask_as(principal, MessageIn(content=args.question, collection=args.collection).to_domain())
    await call.meter.admit(principal, ASK)
    started = None
    if args.conversation_id is None:
        owner = conversation_owner(principal)
        started = await anyio.to_thread.run_sync(
            lambda: answering.records.create(principal.tenant_id, owner=owner).id
        )
    try:
        turn = await _answer(call, question, args.conversation_id or started or "")
    except BaseException:  # a failed question leaves no empty conversation behind
        if started is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(answering.records.delete, principal.tenant_id, started)
        raise
    call.meter.succeeded(ASK)
    answer = turn.answer
    return {
        "conversation_id": turn.conversation_id,
        "message_id": answer.id,
        "answer": answer.content,
        "citations": [CitationOut(**citation).model_dump(mode="json") for citation in answer.citations],
        "abstained": bool(answer.metadata.get("abstained", False)),
    }


async def _answer(call: Call, question: Question, conversation_id: str) -> StoredTurn:
    """As the REST route answers: retrieval admitted like a search, the answer written in an answer slot."""
    principal, backing = call.principal, call.backing
    prepared = await anyio.to_thread.run_sync(
        backing.answering.prepare,
        principal.tenant_id,
        conversation_id,
        question,
        conversation_viewer(principal),
        limiter=backing.search_limiter,
    )
    events = call.meter.answered(principal, backing.answering.answer(prepared))
    if backing.answer_slots is None:
        return await anyio.to_thread.run_sync(_turn_of, events)
    await backing.answer_slots.acquire()
    try:
        return await backing.answer_slots.run(_turn_of, events)
    finally:
        backing.answer_slots.release()


def _turn_of(events: Iterator[object]) -> StoredTurn:
    for event in events:
        if isinstance(event, StoredTurn):
            return event
    raise AssertionError("unreachable: an answer stream ends with the stored turn or raises")


async def get_document(call: Call, args: DocumentArgs) -> dict[str, Any]:
    document = await anyio.to_thread.run_sync(readable, call, args.id)
    detail = DocumentDetail.of(document)
    return detail.model_dump(mode="json", include=DOCUMENT_FIELDS)


def readable(call: Call, document_id: str) -> Document:
    """The document with its text, if the caller may read it (its collection included); else `NotFound`."""
    principal = call.principal
    require(principal, GET_DOCUMENT)
    found = call.backing.lore.get_document(
        document_id, tenant_id=principal.tenant_id, readers=readers_of(principal), with_text=True
    )
    return visible(principal, found)


async def related(call: Call, args: RelatedArgs) -> dict[str, Any]:
    principal = call.principal
    require(principal, RELATED)
    found = await anyio.to_thread.run_sync(
        lambda: call.backing.lore.recommendations.related(
            principal.tenant_id,
            args.document_id,
            k=args.k,
            readers=readers_of(principal),
            collections=collections_for(principal, None),
        )
    )
    return RecommendationsOut.of(found).model_dump(mode="json")


async def add_document(call: Call, args: AddDocumentArgs) -> dict[str, Any]:
    principal = call.principal
    require(principal, ADD_DOCUMENT)
    check_collection(principal, args.collection)
    await call.meter.admit(principal, ADD_DOCUMENT)
    document = await anyio.to_thread.run_sync(_add, call, args)
    summary = document_summary(document, via="mcp")
    await anyio.to_thread.run_sync(call.audit.record, "document.added", document.id, summary)
    call.meter.succeeded(ADD_DOCUMENT)
    return {
        "id": document.id,
        "title": document.title,
        "collection": document.collection,
        "source": document.source,
    }


def _add(call: Call, args: AddDocumentArgs) -> Document:
    principal = call.principal
    return call.backing.lore.add_text(
        title=args.title,
        text=args.text,
        source=args.source,
        tenant_id=principal.tenant_id,
        collection=args.collection,
        tags=args.tags,
        author=author_of(principal),
    )


# -- resources ------------------------------------------------------------------------------------------------


def documents_page(call: Call, cursor: str | None, limit: int) -> Page[Document]:
    """A page of the documents the caller may read, newest first."""
    principal = call.principal
    require(principal, LIST_DOCUMENTS)
    return call.backing.lore.list_documents(
        tenant_id=principal.tenant_id,
        collections=collections_for(principal, None),
        limit=limit,
        cursor=cursor,
        readers=readers_of(principal),
    )


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool as the server lists and dispatches it; `route` names the REST route whose scope it needs."""

    name: str
    description: str
    args: type[BaseModel]
    route: str
    run: Callable[[Call, Any], Awaitable[dict[str, Any]]]
    read_only: bool = True


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "search",
            "Search the knowledge base (hybrid, vector or keyword): hits with title, snippet, source, "
            "document id and score.",
            SearchArgs,
            SEARCH,
            search,
        ),
        Tool(
            "ask",
            "Answer a question from the knowledge base, citing its passages as [n]; `abstained` is true when "
            "Lore found nothing to answer from. Pass the returned conversation_id to follow up.",
            AskArgs,
            ASK,
            ask,
            read_only=False,
        ),
        Tool(
            "get_document",
            "A document's title, text, metadata and source.",
            DocumentArgs,
            GET_DOCUMENT,
            get_document,
        ),
        Tool(
            "related",
            "Documents related to one (by content and by what readers read).",
            RelatedArgs,
            RELATED,
            related,
        ),
        Tool(
            "add_document",
            "Add a text document (Markdown headings are honoured); the same source replaces it.",
            AddDocumentArgs,
            ADD_DOCUMENT,
            add_document,
            read_only=False,
        ),
    )
}
