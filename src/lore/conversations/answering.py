"""Answer a question from the knowledge base: ground it, stream the answer, and (in a conversation) store it.

    >>> turn = conversations.prepare("default", conversation_id, Question("How do I get a refund?"))
    >>> for event in conversations.answer(turn):
    ...     ...  # TextDelta pieces, then one StoredTurn (the question and the answer, as stored)

`prepare` does everything that can fail on the caller's input (unknown conversation, unknown provider, bad
filters) and the retrieval, before any text is produced, so an API can still answer with an error status.
`ground` is the same first step without a stored conversation: what `/v1/chat/completions` uses.
Every answer is recorded as an `answer` event (`Lore.events`), with the confidence the abstention was decided
by: the best passage's semantic score.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from lore.answers import Answer, AnswerRequest, ProviderChain, TextDelta, Turn, standalone_query
from lore.answers.tenants import TenantProviders
from lore.answers.types import Usage
from lore.backends.store.conversation_records import ConversationRecords
from lore.bus import BusEvent
from lore.core.retrieve import SearchRequest
from lore.intelligence.events import Answered, Asker, answer_event, new_id
from lore.intelligence.intents.routing import Routing, route
from lore.intelligence.intents.serving import Caller, IntentService
from lore.interfaces import Embedder
from lore.models import (
    Conversation,
    ConversationOwner,
    Hit,
    Message,
    NewMessage,
    Readers,
    SearchFilters,
    SearchMode,
    utcnow,
)
from lore.service import Lore

TITLE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Question:
    """What is asked, where and how to look, which providers may answer (None: the configured chain), and
    whose reading the answer serves: it is grounded only in passages `readers` may read. `asker` is whom its
    answer event is recorded for (None: the operator)."""

    text: str
    collections: Sequence[str] | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)
    providers: Sequence[str] | None = None
    mode: SearchMode = "hybrid"
    readers: Readers = None
    asker: Asker | None = None
    max_tokens: int | None = None  # the answer's length limit, below the configured one


@dataclass(frozen=True, slots=True)
class Grounding:
    """A question ready to be answered: its passages retrieved (`retrieved`; the request holds none of them
    when even the best is unrelated to the question), its providers checked against the tenant's policy.
    `search_id` names the retrieval, for clicks on its citations and feedback on its answer."""

    tenant_id: str
    question: Question
    request: AnswerRequest
    retrieved: tuple[Hit, ...]
    retrieval_query: str
    asked_at: datetime
    providers: tuple[str, ...]  # to try in order: what the question named, as far as the tenant allows
    search_id: str
    conversation: Conversation | None = None
    routing: Routing | None = None  # the question's intent and the tenant's rule for it

    @property
    def confidence(self) -> float | None:
        """The best passage's semantic (vector) score, in 0..1: what the abstention floor is checked against;
        None when no passage has one (nothing found, or keyword retrieval only)."""
        scores = [hit.vector_score for hit in self.retrieved if hit.vector_score is not None]
        return min(1.0, max(0.0, max(scores))) if scores else None


@dataclass(frozen=True, slots=True)
class StoredTurn:
    """The last event of a conversation's answer: the question and the answer as stored."""

    conversation_id: str
    question: Message
    answer: Message


def citations_of(answer: Answer) -> list[dict[str, Any]]:
    return [
        {**asdict(citation), "heading_path": list(citation.heading_path)} for citation in answer.citations
    ]


def usage_of(answer: Answer) -> dict[str, Any]:
    usage = answer.usage
    first = usage.first_token_seconds
    return {
        "provider": usage.provider,
        "model": usage.model,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "latency_ms": round(usage.latency_seconds * 1000, 3),
        "first_token_ms": round(first * 1000, 3) if first is not None else None,
    }


def answer_metadata(answer: Answer, grounding: Grounding) -> dict[str, Any]:
    """What a stored answer records besides its text: whether Lore said it does not know, what it searched
    for, and which providers failed first."""
    return {
        "abstained": answer.abstained,
        "search_id": grounding.search_id,
        "retrieval_query": grounding.retrieval_query,
        "retrieved": len(grounding.retrieved),
        "passages": len(grounding.request.passages),
        "failed_attempts": [asdict(attempt) for attempt in answer.failed_attempts],
        "intent": grounding.routing.metadata() if grounding.routing is not None else None,
        "escalate": grounding.routing is not None and grounding.routing.escalate,
    }


class Answering:
    """Retrieval, the provider chain and the conversation store, put together."""

    def __init__(
        self,
        lore: Lore,
        chain: ProviderChain,
        records: ConversationRecords,
        *,
        passages: int | None = None,
        providers: TenantProviders | None = None,
        intents: IntentService | None = None,
    ) -> None:
        self.lore = lore
        self.intents = intents or IntentService(lore.store, lore.models, lore.settings, lore.events)
        self.chain = chain
        self.providers = providers or TenantProviders(chain, lore.settings)
        self.records = records
        self.passages = passages or lore.settings.answers.answer_passages
        self.history_messages = lore.settings.answers.answer_history_messages

    def ground(self, tenant_id: str, question: Question, history: Sequence[Turn] = ()) -> Grounding:
        """Check the providers and retrieve the passages, the question read in the light of `history`."""
        providers = tuple(self.providers.resolve(tenant_id, question.providers))
        query = standalone_query(question.text, history)
        search = SearchRequest(
            tenant_id,
            query,
            self.passages,
            question.mode,
            question.collections,
            question.filters,
            question.readers,
            rerank=self.lore.settings.answers.answer_rerank,
        )
        return self.grounded(tenant_id, question, self.lore.search(search), history, query, providers)

    def grounded(
        self,
        tenant_id: str,
        question: Question,
        retrieved: Sequence[Hit],
        history: Sequence[Turn] = (),
        query: str | None = None,
        providers: Sequence[str] | None = None,
    ) -> Grounding:
        """The question grounded in passages already retrieved (by `ground`, or by an evaluation that leaves
        some documents out)."""
        if providers is None:
            providers = self.providers.resolve(tenant_id, question.providers)
        embedder = self._embedder(tenant_id, question)
        # Nothing the question is about: every provider is asked with no passages, and abstains.
        passages = () if _unrelated(embedder, retrieved) else tuple(retrieved)
        request = AnswerRequest(question.text, passages, tuple(history), embedder, question.max_tokens)
        return Grounding(
            tenant_id,
            question,
            request,
            tuple(retrieved),
            query or question.text,
            utcnow(),
            tuple(providers),
            new_id(),
        )

    def _embedder(self, tenant_id: str, question: Question) -> Embedder | None:
        """The model that embeds the searched collections; None when they use several."""
        models = list(self.lore.models.plan(tenant_id, question.collections))
        return self.lore.models.embedder_for(models[0]) if len(models) == 1 else None

    def prepare(
        self,
        tenant_id: str,
        conversation_id: str,
        question: Question,
        viewer: ConversationOwner | None = None,
    ) -> Grounding:
        """`ground`, with the conversation's recent messages as the history; `viewer` (None: an admin) must
        own the conversation. With an active intent model, the tenant's rule for the question's intent applies:
        its canned reply answers without retrieval, its collection and tags narrow the search."""
        conversation = self.records.get(tenant_id, conversation_id, viewer)
        recent = self.records.recent(tenant_id, conversation_id, self.history_messages, viewer)
        history = [Turn(message.role, message.content) for message in recent]
        caller = Caller(conversation.owner or "operator", conversation.end_user, conversation.id)
        routing = route(self.intents, self.lore.store.intent_routes, tenant_id, question.text, caller)
        if routing is not None and routing.reply is not None:
            request = AnswerRequest(question.text, (), tuple(history))
            asked = utcnow()
            return Grounding(
                tenant_id, question, request, (), question.text, asked, (), new_id(), conversation, routing
            )
        grounding = self.ground(tenant_id, _narrowed(question, routing), history)
        return replace(grounding, conversation=conversation, routing=routing)

    def stream(self, grounding: Grounding) -> Iterator[TextDelta | Answer]:
        """The answer, unstored: text deltas, then the `Answer` (recorded without a message)."""
        for event in self._provided(grounding):
            if isinstance(event, Answer):
                self._record(grounding, event)
            yield event

    def answer(self, grounding: Grounding) -> Iterator[TextDelta | StoredTurn]:
        """Text deltas, then the stored turn. Nothing is stored when the answer fails or the caller stops
        reading before its end."""
        conversation = grounding.conversation
        if conversation is None:
            raise ValueError("answer() needs a prepared conversation turn; use stream() without one")
        for event in self._provided(grounding):
            if isinstance(event, TextDelta):
                yield event
                continue
            turn = self._store(grounding, conversation, event)
            self._record(grounding, event, turn)
            yield turn

    def _provided(self, grounding: Grounding) -> Iterator[TextDelta | Answer]:
        if grounding.routing is not None and grounding.routing.reply is not None:
            return _canned(grounding.routing.reply)
        return self.providers.stream(grounding.tenant_id, grounding.request, grounding.providers)

    def _record(self, grounding: Grounding, answer: Answer, turn: StoredTurn | None = None) -> None:
        question = grounding.question
        answered = Answered(
            search_id=grounding.search_id,
            question=question.text,
            abstained=answer.abstained,
            provider=answer.usage.provider,
            confidence=grounding.confidence,
            document_ids=[citation.document_id for citation in answer.citations],
            conversation_id=turn.conversation_id if turn else None,
            message_id=turn.answer.id if turn else None,
        )
        asker = question.asker or Asker(grounding.tenant_id, "operator")
        self.lore.events.record(answer_event(asker, answered))
        if answer.abstained:
            self._abstained(grounding.tenant_id, question, answered)

    def _abstained(self, tenant_id: str, question: Question, answered: Answered) -> None:
        """An answer that said it does not know: the knowledge base may lack what was asked."""
        data = {
            "question": answered.question,
            "search_id": answered.search_id,
            "provider": answered.provider,
            "conversation_id": answered.conversation_id,
            "message_id": answered.message_id,
        }
        only = question.collections[0] if question.collections and len(question.collections) == 1 else None
        self.lore.bus.publish(BusEvent("answer.abstained", tenant_id, data, collection=only))

    def _store(self, grounding: Grounding, conversation: Conversation, answer: Answer) -> StoredTurn:
        question = NewMessage("user", grounding.question.text, grounding.asked_at)
        reply = NewMessage(
            "assistant",
            answer.text,
            utcnow(),
            citations=citations_of(answer),
            usage=usage_of(answer),
            metadata=answer_metadata(answer, grounding),
        )
        title = _title(grounding.question.text) if conversation.title is None else None
        asked, answered = self.records.append_turn(
            grounding.tenant_id, conversation.id, question, reply, title=title
        )
        return StoredTurn(conversation.id, asked, answered)


def _unrelated(embedder: Embedder | None, passages: Sequence[Hit]) -> bool:
    """Whether even the best passage is semantically unrelated to the question, by the calibrated floor of
    the model that embeds the searched collections (no floor when they use several models or an
    uncalibrated one). Keyword matches alone (a shared common word) do not make a passage relevant."""
    floor = embedder.unrelated_below if embedder is not None else None
    scores = [hit.vector_score for hit in passages]
    if floor is None or not passages or any(score is None for score in scores):
        return False
    return max(score for score in scores if score is not None) < floor


def _narrowed(question: Question, routing: Routing | None) -> Question:
    """The question searched where its intent's rule points: its collection (if the caller may search it)
    and its tags on top of the question's own."""
    rule = routing.rule if routing is not None else None
    if rule is None:
        return question
    collections = question.collections
    if rule.collection is not None and (collections is None or rule.collection in collections):
        collections = (rule.collection,)
    tags = tuple(dict.fromkeys([*question.filters.tags, *rule.tags]))
    return replace(question, collections=collections, filters=replace(question.filters, tags=tags))


def _canned(reply: str) -> Iterator[TextDelta | Answer]:
    """A rule's canned reply, as an answer stream of one delta."""
    yield TextDelta(reply)
    yield Answer(reply, (), Usage("intent_route", "canned_reply", 0, 0, 0.0, None), abstained=False)


def _title(question: str) -> str:
    """A conversation without a title is named after its first question."""
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"
