"""Wire models of conversations and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from lore.models import Conversation, EndUserData, Message, SearchFilters
from lore.wire.events import EventOut
from lore.wire.schemas import MAX_COLLECTIONS, FiltersIn, Input, Metadata, Name, Title

if TYPE_CHECKING:
    from lore.conversations import Question

MAX_QUESTION_CHARS = 4000
MAX_PROVIDERS = 8
NO_NUL = r"^[^\x00]*$"  # a NUL character is never part of a question, and PostgreSQL cannot store one

ProviderName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ConversationIn(Input):
    title: Title | None = Field(None, description="Null: named after its first question.")
    metadata: Metadata = Field(default_factory=dict)


class ConversationPatch(Input):
    """The fields given are replaced; those left out stay as they are."""

    title: Title | None = None
    metadata: Metadata | None = None

    def changes(self) -> dict[str, Any]:
        changed = self.model_dump(include=self.model_fields_set)
        if "metadata" in changed and changed["metadata"] is None:
            changed["metadata"] = {}
        return changed


class ConversationOut(BaseModel):
    id: str
    title: str | None
    metadata: dict[str, Any]
    message_count: int
    created_at: datetime
    updated_at: datetime
    owner: str | None = Field(description='Who started it: "user:<id>" or "key:<id>".')
    end_user: str | None = Field(description="The end user of a publishable key's page, if it named one.")

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationOut:
        return cls.model_validate(conversation, from_attributes=True)


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class CitationOut(BaseModel):
    marker: int = Field(description="The n of the answer's [n].")
    chunk_id: int
    document_id: str
    title: str
    heading_path: list[str]
    source: str
    text: str = Field(description="The cited passage.")


class AnswerUsage(BaseModel):
    provider: str = Field(description="The provider that answered.")
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float = Field(description="Retrieval excluded; retries and fallbacks included.")
    first_token_ms: float | None


class MessageOut(BaseModel):
    id: int
    conversation_id: str
    role: str = Field(description="`user` or `assistant`.")
    content: str = Field(description="An answer cites its passages as [n] markers.")
    citations: list[CitationOut]
    usage: AnswerUsage | None = Field(description="Null on questions.")
    metadata: dict[str, Any] = Field(
        description="On answers: `abstained` (Lore said it does not know), `search_id` (names the answer's "
        "retrieval, for clicks on its citations), `retrieval_query`, `retrieved` and `passages` (found; given "
        "to the provider), `failed_attempts` (providers that failed before the one that answered), `reply_to` "
        "(the question's id), `intent` (the question's intent, confidence, model version and the intent route "
        "applied, when the tenant has an active intent model; else null) and `escalate` (true when that route "
        "hands the conversation to a human). Feedback on an answer: `POST .../messages/{id}/feedback`."
    )
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(
            id=message.id,
            conversation_id=message.conversation_id,
            role=message.role,
            content=message.content,
            citations=[CitationOut(**citation) for citation in message.citations],
            usage=AnswerUsage(**message.usage) if message.usage is not None else None,
            metadata=message.metadata,
            created_at=message.created_at,
        )


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class MessageIn(Input):
    content: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=NO_NUL)
    ] = Field(description="The question.")
    stream: bool = Field(
        False, description="true: `text/event-stream` of `token` events, then one `message` event."
    )
    provider: (
        ProviderName | Annotated[list[ProviderName], Field(min_length=1, max_length=MAX_PROVIDERS)] | None
    ) = Field(
        None, description="A provider or a fallback chain (`openai,extractive`); default: the configured one."
    )
    collection: Name | Annotated[list[Name], Field(min_length=1, max_length=MAX_COLLECTIONS)] | None = Field(
        None, description="Where to look: one collection or several; default: every collection."
    )
    filters: FiltersIn | None = None

    def to_domain(self) -> Question:
        from lore.conversations import Question

        return Question(
            self.content,
            collections=[self.collection] if isinstance(self.collection, str) else self.collection,
            filters=self.filters.to_domain() if self.filters else SearchFilters(),
            providers=provider_list(self.provider),
        )


def provider_list(value: str | list[str] | None) -> list[str] | None:
    """`"openai, extractive"` or `["openai", "extractive"]` -> the list; None stays None."""
    if value is None:
        return None
    from lore.answers import provider_names

    names = provider_names(",".join(value) if isinstance(value, list) else value)
    return names or None


class ConversationExport(ConversationOut):
    messages: list[MessageOut] = Field(description="Every message, oldest first.")


class EndUserExport(BaseModel):
    """Everything Lore keeps of one end user."""

    end_user: str
    exported_at: datetime
    conversations: list[ConversationExport] = Field(description="Oldest first.")
    events: list[EventOut] = Field(description="Their events, in the order they were stored.")

    @classmethod
    def of(cls, data: EndUserData, exported_at: datetime) -> EndUserExport:
        conversations = [
            ConversationExport(
                **ConversationOut.of(conversation).model_dump(),
                messages=[MessageOut.of(message) for message in messages],
            )
            for conversation, messages in data.conversations
        ]
        events = [EventOut.of(event) for event in data.events]
        return cls(
            end_user=data.end_user, exported_at=exported_at, conversations=conversations, events=events
        )


class EndUserErased(BaseModel):
    end_user: str
    conversations: int = Field(description="Conversations deleted.")
    messages: int = Field(description="Messages deleted with them.")
    events: int = Field(description="Events deleted (interactions, feedback, searches and answers).")
