"""Plain domain types shared by the core, the backends, the API and the CLI."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, TypeAlias, TypeVar

if TYPE_CHECKING:
    import numpy as np

DEFAULT_TENANT = "default"
DEFAULT_COLLECTION = "default"

BlockKind = Literal["heading", "paragraph", "list", "table", "code"]
SearchMode = Literal["hybrid", "vector", "keyword"]
Role = Literal["user", "assistant"]  # who wrote a message of a conversation
MetadataValue = str | int | float | bool
T = TypeVar("T")


def partition_key(tenant_id: str, collection: str, model_id: str) -> str:
    """Name of one vector-index partition: vectors of one model in one collection of one tenant."""
    return f"{tenant_id}/{collection}/{model_id}"


def split_partition(partition: str) -> tuple[str, str, str]:
    """(tenant id, collection, model id) of a partition name made by `partition_key`."""
    tenant_id, collection, model_id = partition.split("/", 2)
    return tenant_id, collection, model_id


def utcnow() -> datetime:
    """Every timestamp Lore records is aware and in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """A time in UTC; one without an offset is read as UTC, as every time Lore records is."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def content_hash(text: str) -> str:
    """Stable identity of a piece of text: the key of the embedding cache and of change detection."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Block:
    """One structural unit of a parsed document; headings carry their level (1 = top)."""

    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None


@dataclass(slots=True)
class ParsedDocument:
    """What a parser returns: a title and the document's blocks in reading order."""

    title: str
    blocks: list[Block]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)


@dataclass(frozen=True, slots=True)
class ChunkDraft:
    """A chunk before it is stored: what the chunker produces and the embedder consumes."""

    position: int
    text: str
    heading_path: tuple[str, ...]
    token_count: int
    embed_text: str  # the text the embedder sees: title and heading path give the passage its context

    @property
    def content_hash(self) -> str:
        return content_hash(self.embed_text)


Readers: TypeAlias = frozenset[str] | None
"""Whom a read serves, as `document_access` names them ("user:<id>", "key:<id>", "group:<name>"): a restricted
document is theirs to read when it grants one of them or one of them owns it. None: every document (admins and
the operator)."""


@dataclass(frozen=True, slots=True)
class Hidden:
    """What one set of readers may not see in a tenant: the restricted documents that grant none of them, and
    those documents' chunks. Empty (false) for admins and in tenants without restricted documents."""

    documents: frozenset[str] = frozenset()
    chunks: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.documents)


NOTHING_HIDDEN = Hidden()


@dataclass(frozen=True, slots=True)
class RestrictedDocument:
    """A restricted document as searches filter by it: who reads it besides admins, and its chunks."""

    id: str
    collection: str
    owner: str | None
    grants: frozenset[str]  # "group:<name>", "user:<id>"
    chunks: tuple[int, ...]

    def readable_by(self, readers: frozenset[str]) -> bool:
        """The rule `queries.readable` applies in SQL, for a restricted document."""
        return (self.owner is not None and self.owner in readers) or not self.grants.isdisjoint(readers)


@dataclass(frozen=True, slots=True)
class Author:
    """Who writes a document: `name` becomes a new document's owner; replacing or re-permissioning a stored
    document needs its owner or an admin (`readers` None), and a restricted one must be readable by `readers`."""

    name: str
    readers: Readers

    @property
    def admin(self) -> bool:
        return self.readers is None


OPERATOR = Author("operator", None)  # the CLI and library callers on the machine


@dataclass(frozen=True, slots=True)
class Access:
    """Who may read a document besides its owner and admins: nobody else (`restricted` with no grants), the
    granted `groups` and `users` (by id), or, not `restricted`, everyone in its tenant."""

    restricted: bool
    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()

    @property
    def principals(self) -> list[str]:
        """The `document_access` rows: "group:<name>" and "user:<id>"."""
        names = [f"group:{group}" for group in self.groups] + [f"user:{user}" for user in self.users]
        return list(dict.fromkeys(names))


UNRESTRICTED = Access(restricted=False)


@dataclass(slots=True)
class DocumentDraft:
    """A document to write: everything but the identifiers and timestamps the store assigns."""

    tenant_id: str
    collection: str
    title: str
    source: str
    text: str
    content_hash: str
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    author: Author = OPERATOR
    access: Access | None = None  # None: a stored document keeps its access, a new one is unrestricted


class DocumentWrite(NamedTuple):
    """One document of a batch write: its draft, its chunks, their vectors by content hash (hashes cached
    already may be missing) and the model those vectors are of."""

    draft: DocumentDraft
    chunks: Sequence[ChunkDraft]
    vectors: Mapping[str, np.ndarray]
    model_id: str


@dataclass(slots=True)
class Document:
    id: str
    tenant_id: str
    collection: str
    title: str
    source: str
    content_hash: str
    tags: list[str]
    metadata: dict[str, Any]
    chunk_count: int
    created_at: datetime
    updated_at: datetime
    owner: str | None = None  # who wrote it first: "user:<id>", "key:<id>", "operator" (None: before owners)
    restricted: bool = False  # readable only by its owner, admins and the readers its access grants
    text: str | None = None  # loaded only when asked for


@dataclass(slots=True)
class Chunk:
    """A stored chunk with its document's display fields: what search hydrates hits from."""

    id: int
    document_id: str
    tenant_id: str
    collection: str
    position: int
    text: str
    heading_path: list[str]
    token_count: int
    content_hash: str
    title: str
    source: str
    tags: list[str]
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Narrow a search: every tag must be present, every metadata key must equal its value."""

    tags: tuple[str, ...] = ()
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    document_ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tags or self.metadata or self.document_ids)


@dataclass(slots=True)
class Hit:
    chunk: Chunk
    score: float
    snippet: str
    highlights: list[tuple[int, int]]  # [start, end) offsets of matched words in `snippet`
    vector_score: float | None = None
    keyword_score: float | None = None
    relevance: float | None = None  # 0..1 on an absolute scale (`lore.core.fusion.relevance`); None: unknown


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the store's change sequence, which derived indexes replay to catch up."""

    seq: int
    op: Literal["add", "remove"]
    chunk_id: int
    partition: str


class ScoredChunk(NamedTuple):
    """A chunk id with a retriever's score (higher is better)."""

    chunk_id: int
    score: float


class KnownDocument(NamedTuple):
    """What the store knows of a source already indexed: enough to skip it when unchanged, or remove it."""

    document_id: str
    content_hash: str


class ServingModels(NamedTuple):
    """The models a process serves a collection with: `active` embeds its searches and new chunks, `pending`
    (while a re-embedding runs) embeds new chunks too, so they are in the new version when it switches."""

    active: str
    pending: str | None


class IdVectors(NamedTuple):
    """Chunk ids with their vectors, row for row: shapes (n,) int64 and (n, dim) float32."""

    ids: np.ndarray
    vectors: np.ndarray


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(slots=True)
class CollectionInfo:
    """A collection with what it holds (of what its reader may read) and its embedding models (None: the
    configured default embedder; `pending_model_id`: a re-embedding under way)."""

    name: str
    document_count: int
    chunk_count: int
    created_at: datetime | None = None
    model_id: str | None = None
    pending_model_id: str | None = None


@dataclass(frozen=True, slots=True)
class CollectionModels:
    """A collection's embedding versions: the model its searches use (None: the configured default), the one
    a re-embedding is building, and the change from which the active model's index partition is complete."""

    tenant_id: str
    collection: str
    active: str | None
    pending: str | None = None
    pending_since: int | None = None
    model_seq: int = 0


JobState = Literal["queued", "running", "succeeded", "failed"]
JOB_STATES: tuple[JobState, ...] = ("queued", "running", "succeeded", "failed")


@dataclass(frozen=True, slots=True)
class Job:
    """A background job as the database records it, whatever queue carries it."""

    id: str
    tenant_id: str
    kind: str
    params: dict[str, Any]
    state: JobState
    progress_done: int
    progress_total: int
    attempts: int
    max_attempts: int
    error: dict[str, Any] | None
    result: dict[str, Any] | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    due_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @property
    def done(self) -> bool:
        return self.state in ("succeeded", "failed")


Order = Literal["newest", "oldest"]


@dataclass(frozen=True, slots=True)
class Conversation:
    """`owner` started it ("user:<id>" or "key:<id>"); `end_user` is the opaque id of the person on the page
    that embeds a publishable key, when it sent one."""

    id: str
    tenant_id: str
    title: str | None
    metadata: dict[str, Any]
    message_count: int
    created_at: datetime
    updated_at: datetime
    owner: str | None = None
    end_user: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationOwner:
    """Whose conversations a caller sees: those `actor` started, for the same `end_user` (None: none given)."""

    actor: str
    end_user: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One stored message. An assistant message carries its citations, usage and answer metadata (whether it
    abstained, the retrieval query, the providers that failed before the one that answered)."""

    id: int
    conversation_id: str
    role: Role
    content: str
    citations: list[dict[str, Any]]
    usage: dict[str, Any] | None
    metadata: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """One event as stored (see docs/events.md for each kind's fields); `id` is the row id the store gave it
    (0 before it is stored)."""

    tenant_id: str
    event_id: str
    kind: str
    at: datetime
    received_at: datetime
    actor: str
    user_id: str | None = None
    document_id: str | None = None
    chunk_id: int | None = None
    collection: str | None = None
    search_id: str | None = None
    conversation_id: str | None = None
    message_id: int | None = None
    query: str | None = None
    rank: int | None = None
    value: float | None = None
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: int = 0


@dataclass(frozen=True, slots=True)
class EndUserData:
    """Everything Lore keeps of one end user: their conversations, each with its messages in order, and their
    events in the order they were stored."""

    end_user: str
    conversations: list[tuple[Conversation, list[Message]]]
    events: list[Event] = field(default_factory=list)


class ErasedEndUser(NamedTuple):
    """How many of one end user's records an erasure deleted."""

    conversations: int
    messages: int
    events: int


@dataclass(frozen=True, slots=True)
class NewMessage:
    role: Role
    content: str
    created_at: datetime
    citations: Sequence[Mapping[str, Any]] = ()
    usage: Mapping[str, Any] | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """A tenant's named set of users; documents restricted to it are readable by its members and by the API
    keys that carry it."""

    name: str
    created_at: datetime
    members: tuple[str, ...] = ()  # user ids, sorted
