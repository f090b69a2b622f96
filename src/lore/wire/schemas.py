"""Wire models of documents, search, jobs and backups: what the HTTP API accepts and returns, and what the
CLI's `--json` prints. Inputs forbid unknown fields and bound every size, so a request is either well-formed or
answered with a validation error before any work is done."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Json, StringConstraints

from lore.models import (
    DEFAULT_COLLECTION,
    CollectionInfo,
    Document,
    Hit,
    Job,
    JobState,
    SearchFilters,
    SearchMode,
)
from lore.wire.access import AccessIn, UserId

if TYPE_CHECKING:
    from lore.backup import BackupReport
    from lore.core.retrieve import SearchRequest

MAX_QUERY_CHARS = 1000
MAX_TITLE_CHARS = 500
MAX_SOURCE_CHARS = 2000
MAX_TAGS = 50
MAX_METADATA_KEYS = 50
MAX_DOCUMENT_IDS = 1000
MAX_COLLECTIONS = 50

Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS)]
# Scalars only, finite, and integers a 64-bit column can hold: anything else could not be stored or filtered.
MetadataScalar = (
    bool
    | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
    | Annotated[float, Field(allow_inf_nan=False)]
    | Annotated[str, StringConstraints(max_length=1000)]
)
Metadata = Annotated[dict[Name, MetadataScalar], Field(max_length=MAX_METADATA_KEYS)]
Title = Annotated[str, StringConstraints(max_length=MAX_TITLE_CHARS)]
Source = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SOURCE_CHARS)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors --------------------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(description="Stable snake_case identifier clients can branch on.")
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    error: ErrorBody


# -- documents -----------------------------------------------------------------------------------------------


ACCESS_FIELD = (
    "Restrict who may read it (its owner and the tenant's admins always may). Absent: a new document is "
    "readable by the whole tenant, a replaced one keeps its permissions."
)


class DocumentIn(Input):
    """A document given as text; Markdown structure (headings) is honoured when chunking."""

    title: Title = Field(description="Empty: taken from the text's first heading.")
    text: Annotated[str, StringConstraints(min_length=1)]
    source: Source | None = Field(
        None, description="Identity for updates: the same source replaces the document."
    )
    collection: Name = DEFAULT_COLLECTION
    tags: Tags = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)
    access: AccessIn | None = Field(None, description=ACCESS_FIELD)


class UploadFields(Input):
    """The form fields that may accompany an uploaded `file` (multipart/form-data)."""

    collection: Name = DEFAULT_COLLECTION
    tags: Tags = Field(default_factory=list, description="Repeat the field or separate tags with commas.")
    metadata: Json[Metadata] = Field(default_factory=dict, description="A JSON object of scalar values.")
    source: Source | None = None
    access: Json[AccessIn] | None = Field(None, description=ACCESS_FIELD)


def upload_schema() -> dict[str, Any]:
    """OpenAPI schema of the multipart body: the form fields plus the binary `file`."""
    schema = UploadFields.model_json_schema()
    schema["properties"]["metadata"] = {"type": "string", "description": "A JSON object of scalar values."}
    schema["properties"]["access"] = {
        "type": "string",
        "description": 'A JSON object like {"groups": ["legal"], "users": []}. ' + ACCESS_FIELD,
    }
    schema["properties"]["file"] = {"type": "string", "format": "binary"}
    schema["required"] = ["file"]
    return schema


class DocumentOut(BaseModel):
    id: str
    collection: str
    title: str
    source: str
    tags: list[str]
    metadata: dict[str, Any]
    chunk_count: int
    content_hash: str
    created_at: datetime
    updated_at: datetime
    owner: str | None = Field(description='Who wrote it first: "user:<id>", "key:<id>" or "operator".')
    restricted: bool = Field(description="Readable only by its owner, admins and the readers it grants.")

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls.model_validate(document, from_attributes=True)


class CollectionOut(BaseModel):
    name: str
    document_count: int = Field(description="Documents in it that the caller may read.")
    chunk_count: int = Field(description="Chunks of those documents.")
    created_at: datetime | None
    model: str | None = Field(description="Embedding model of its searches; null: the configured default.")
    pending_model: str | None = Field(description="Model a re-embedding under way will switch it to.")

    @classmethod
    def of(cls, info: CollectionInfo) -> CollectionOut:
        return cls(
            name=info.name,
            document_count=info.document_count,
            chunk_count=info.chunk_count,
            created_at=info.created_at,
            model=info.model_id,
            pending_model=info.pending_model_id,
        )


class CollectionList(BaseModel):
    items: list[CollectionOut]


class CollectionDeleted(BaseModel):
    name: str
    deleted_documents: int = Field(description="Documents deleted with it, in the same transaction.")


class DocumentAdded(DocumentOut):
    unchanged: bool = Field(
        False,
        description="True when the upload matched the stored document of its source (same content and metadata): "
        "nothing was parsed or written, and the status is 200 instead of 201.",
    )

    @classmethod
    def added(cls, document: Document, *, unchanged: bool) -> DocumentAdded:
        return cls.model_validate(document, from_attributes=True).model_copy(update={"unchanged": unchanged})


class DocumentDetail(DocumentOut):
    text: str

    @classmethod
    def of(cls, document: Document) -> DocumentDetail:
        return cls.model_validate(replace(document, text=document.text or ""), from_attributes=True)


class DocumentPage(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


# -- search --------------------------------------------------------------------------------------------------


class FiltersIn(Input):
    tags: Tags = Field(default_factory=list, description="Every tag must be present.")
    metadata: Metadata = Field(default_factory=dict, description="Every key must equal its value.")
    document_ids: Annotated[list[Name], Field(max_length=MAX_DOCUMENT_IDS)] = Field(default_factory=list)

    def to_domain(self) -> SearchFilters:
        return SearchFilters(tuple(self.tags), dict(self.metadata), tuple(self.document_ids))


class SearchIn(Input):
    query: Annotated[str, StringConstraints(max_length=MAX_QUERY_CHARS)]
    k: int = Field(10, description="Number of hits, 1 to the server's `max_k`.")
    mode: SearchMode = "hybrid"
    collection: Name | Annotated[list[Name], Field(min_length=1, max_length=MAX_COLLECTIONS)] | None = Field(
        None, description="One collection or several; default: every collection of the tenant."
    )
    filters: FiltersIn | None = None
    as_user: UserId | None = Field(
        None, description="Admins only: search as this user of the tenant would, with their permissions."
    )
    rerank: bool = Field(
        False, description="Reorder the top hits with the server's cross-encoder (422 when it has none)."
    )

    @property
    def first_collection(self) -> str | None:
        """The collection asked for first (None: none named), as a search event records it."""
        if isinstance(self.collection, str):
            return self.collection
        return self.collection[0] if self.collection else None

    def to_domain(self, tenant_id: str) -> SearchRequest:
        from lore.core.retrieve import SearchRequest

        collections = [self.collection] if isinstance(self.collection, str) else self.collection
        filters = self.filters.to_domain() if self.filters else SearchFilters()
        return SearchRequest(
            tenant_id, self.query, self.k, self.mode, collections, filters, rerank=self.rerank
        )


class Scores(BaseModel):
    vector: float | None = Field(
        description="Cosine similarity; null when the vector retriever was not used."
    )
    keyword: float | None = Field(description="BM25; null when the keyword retriever was not used.")


class HitOut(BaseModel):
    rank: int = Field(description="1-based position in the hits: what a click event reports.")
    chunk_id: int
    document_id: str
    collection: str
    title: str
    source: str
    heading_path: list[str]
    snippet: str
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) offsets of matched words in `snippet`."
    )
    text: str
    score: float = Field(
        description="The fused score hits are ranked by: relative to this query's other candidates (its best "
        "hit scores near 1 whatever it matched), so compare it within one search only."
    )
    relevance: float | None = Field(
        description="How relevant the passage is on an absolute scale, comparable across searches: 0 at or "
        "under the embedding model's calibrated floor (a passage Lore would not answer from), 1 for the query's "
        "own text, linear in the cosine between; null in keyword mode and for uncalibrated models."
    )
    scores: Scores
    tags: list[str]
    metadata: dict[str, Any]

    @classmethod
    def of(cls, hit: Hit, rank: int) -> HitOut:
        chunk = hit.chunk
        return cls(
            rank=rank,
            chunk_id=chunk.id,
            document_id=chunk.document_id,
            collection=chunk.collection,
            title=chunk.title,
            source=chunk.source,
            heading_path=chunk.heading_path,
            snippet=hit.snippet,
            highlights=hit.highlights,
            text=chunk.text,
            score=hit.score,
            relevance=hit.relevance,
            scores=Scores(vector=hit.vector_score, keyword=hit.keyword_score),
            tags=chunk.tags,
            metadata=chunk.metadata,
        )


class SearchOut(BaseModel):
    search_id: str = Field(
        description="Names this search in the click and feedback events that follow it (docs/events.md)."
    )
    query: str
    mode: SearchMode
    took_ms: float
    hits: list[HitOut]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


# -- jobs ----------------------------------------------------------------------------------------------------

MAX_INGEST_DOCUMENTS = 1000


class IngestIn(Input):
    """A batch of text documents to index in the background; each is written (or replaced, by source) alone."""

    documents: Annotated[list[DocumentIn], Field(min_length=1, max_length=MAX_INGEST_DOCUMENTS)]


class JobProgress(BaseModel):
    done: int
    total: int = Field(description="0 until the job has counted its work.")


class JobError(BaseModel):
    code: str
    message: str
    attempt: int = Field(description="The attempt that failed.")


class JobOut(BaseModel):
    id: str
    kind: str
    state: JobState
    progress: JobProgress
    attempts: int
    max_attempts: int
    error: JobError | None = Field(description="The last failure; kept on retry until the job succeeds.")
    result: dict[str, Any] | None
    worker: str | None = Field(description="The worker holding the job while it runs (host:pid:...).")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            state=job.state,
            progress=JobProgress(done=job.progress_done, total=job.progress_total),
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            error=JobError(**job.error) if job.error else None,
            result=job.result,
            worker=job.lease_owner,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            updated_at=job.updated_at,
        )


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


# -- backups -------------------------------------------------------------------------------------------------


class BackupOut(BaseModel):
    name: str
    bytes: int
    created_at: datetime


class BackupCreated(BackupOut):
    revision: str | None = Field(description="Schema revision of the archived store.")
    last_seq: int = Field(description="Position in the change sequence the archive reflects.")
    tables: dict[str, int] = Field(description="Rows archived per table.")
    seconds: float

    @classmethod
    def of(cls, report: BackupReport) -> BackupCreated:
        return cls(
            name=report.path.name,
            bytes=report.bytes,
            created_at=datetime.fromtimestamp(report.path.stat().st_mtime, UTC),
            revision=report.revision,
            last_seq=report.last_seq,
            tables=report.tables,
            seconds=round(report.seconds, 3),
        )


class BackupPage(BaseModel):
    items: list[BackupOut]
    next_cursor: str | None


# -- metrics history -----------------------------------------------------------------------------------------


class MetricsSample(BaseModel):
    """One interval of the server's figures; the latencies and the hit rate are null when nothing was
    measured in it."""

    at: datetime = Field(description="End of the interval, UTC.")
    requests_per_second: float
    error_rate: float = Field(description="Share of the interval's requests answered with a 5xx, 0..1.")
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    cache_hit_rate: float | None = Field(description="Hits per lookup of every cache in the interval.")
    queue_depth: int = Field(description="Jobs queued at the end of the interval.")


class MetricsHistory(BaseModel):
    interval_seconds: float
    window_seconds: float
    samples: list[MetricsSample] = Field(description="Oldest first.")
