"""Ingestion: discover files, parse and chunk them in the parsing sandbox's worker processes, embed what is new,
write atomically. Files, uploads and text documents alike are parsed there, each under the sandbox's limits.

Unchanged documents are recognised by a hash of their bytes (salted with the pipeline version, the embedding
model and the document's tags), so re-running an ingest does no parsing and no embedding for them; chunks whose
text was embedded before reuse the cached vector.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from lore.core.chunk import DEFAULT_MAX_CHUNKS, TokenCounter, chunk_document
from lore.core.parse import SUPPORTED_EXTENSIONS, parse_bytes, parse_file
from lore.core.parsers import ParseLimits
from lore.core.sandbox import Sandbox
from lore.errors import Conflict, LoreError, PayloadTooLarge
from lore.interfaces import Documents, Embedder, Reembedding, VectorSource
from lore.models import (
    OPERATOR,
    Access,
    Author,
    ChunkDraft,
    Document,
    DocumentDraft,
    DocumentWrite,
    ParsedDocument,
    ServingModels,
)

PIPELINE_VERSION = "2"  # bump when parsing or chunking changes, so every document is re-indexed once
EMBED_BATCH_CHUNKS = 256  # chunks gathered across documents before one embedding call
FILE_BATCH_CHUNKS = 64  # the same for files, smaller: each batch written is progress a person sees
PROGRESS_TEXTS = 64  # texts per embedding call within a batch, each reported as progress
EMBEDDING_SHARE = 0.9  # of a batch's work, what embedding it takes (the rest is writing it)


@dataclass(frozen=True, slots=True)
class Failure:
    source: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class CorpusDoc:
    """A plain (id, title, text) record, as data sets and benchmarks provide them; `Lore.add_corpus` ingests it
    without parsing."""

    id: str
    title: str
    text: str


@dataclass(slots=True)
class Prepared:
    draft: DocumentDraft
    chunks: list[ChunkDraft]


@dataclass(slots=True)
class IngestReport:
    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Failure] = field(default_factory=list)  # files of unsupported types found in folders
    documents: list[Document] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a run is: files done (written, unchanged or failed) of those found, chunks written, texts
    embedded, seconds so far, the share of the work done (by the bytes of the files to parse and embed, the
    batch being embedded counted as far as it is), and the file last done."""

    files_done: int
    files_total: int
    chunks: int
    embedded: int
    elapsed: float
    work_done: float = 0.0
    source: str = ""


class WriteProgress(Protocol):
    """What a `Writer` reports while it writes a batch: texts embedded so far, then each document written."""

    def embedded(self, texts: int) -> None: ...

    def written(self, document: Document) -> None: ...


@dataclass
class Tracker:
    """A run's progress, reported to `on_progress` whenever texts are embedded or a file is done. Work is
    counted in the bytes of the files that need parsing (`sizes`); a batch being embedded counts in proportion
    to its texts embedded."""

    on_progress: Callable[[Progress], None] | None
    files_total: int
    sizes: dict[str, int]
    start: float = field(default_factory=time.perf_counter)
    files_done: int = 0
    chunks: int = 0
    embedded_texts: int = 0
    source: str = ""
    _total_bytes: int = 0
    _done_bytes: int = 0
    _batch_bytes: int = 0
    _batch_texts: int = 0
    _batch_embedded: int = 0

    def __post_init__(self) -> None:
        self._total_bytes = sum(self.sizes.values())

    def skipped(self, count: int) -> None:
        """Files done without work (unchanged, or failed before parsing)."""
        self.files_done += count
        self.emit()

    def begin(self, batch: Sequence[Prepared], texts: int) -> None:
        """A batch of documents whose `texts` chunks (at most) are about to be embedded."""
        self._batch_bytes = sum(self.sizes.get(item.draft.source, 0) for item in batch)
        self._batch_texts, self._batch_embedded = texts, 0

    def embedded(self, texts: int) -> None:
        self.embedded_texts += texts
        self._batch_embedded += texts
        self.emit()

    def written(self, document: Document) -> None:
        self._batch_embedded = self._batch_texts  # whatever was not embedded was cached
        self._finish(document.source, self.sizes.get(document.source, 0))
        self.chunks += document.chunk_count
        self._batch_bytes -= self.sizes.get(document.source, 0)
        self.emit()

    def failed(self, failure: Failure) -> None:
        self._finish(failure.source, self.sizes.get(failure.source, 0))
        self.emit()

    def _finish(self, source: str, size: int) -> None:
        self.files_done += 1
        self._done_bytes += size
        self.source = source

    def work_done(self) -> float:
        """Below 1 until every file is done: a batch embedded but not yet written counts 90% of its bytes."""
        if not self._total_bytes:
            return 1.0 if self.files_done >= self.files_total else 0.0
        share = self._batch_embedded / self._batch_texts if self._batch_texts else 0.0
        partial = self._batch_bytes * EMBEDDING_SHARE * min(1.0, share)
        return min(1.0, (self._done_bytes + partial) / self._total_bytes)

    def emit(self) -> None:
        if self.on_progress is None:
            return
        self.on_progress(
            Progress(
                self.files_done,
                self.files_total,
                self.chunks,
                self.embedded_texts,
                elapsed_since(self.start),
                self.work_done(),
                self.source,
            )
        )


@dataclass(frozen=True, slots=True)
class ParseJob:
    """One document for a worker to parse and chunk: the file at `source` (when `data` is None) or the bytes
    given, named `filename`; `title`, when set, replaces the parsed one."""

    source: str
    filename: str
    tenant_id: str
    collection: str
    fingerprint: str
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] | None = None
    data: bytes | None = None
    content_type: str | None = None
    title: str = ""
    author: Author = OPERATOR
    access: Access | None = None


@dataclass(frozen=True, slots=True)
class WorkerSetup:
    """What each parsing worker builds its state from, once."""

    token_counter: Callable[[], TokenCounter]
    max_tokens: int
    max_chars: int | None
    limits: ParseLimits
    max_chunks: int = DEFAULT_MAX_CHUNKS


def fingerprint(data: bytes, salt: str) -> str:
    return hashlib.sha256(salt.encode() + b"\0" + data).hexdigest()


def salt_for(model_id: str, tags: Sequence[str], metadata: dict[str, object] | None = None) -> str:
    return json.dumps([PIPELINE_VERSION, model_id, sorted(tags), metadata or {}], sort_keys=True)


class Found(NamedTuple):
    """What a run found: the supported files, the paths that fail outright (missing, or a file named on its
    own that is of an unsupported type), and the unsupported files met in folders, which are skipped."""

    files: list[Path]
    failures: list[Failure]
    skipped: list[Failure]


def discover(paths: Iterable[Path]) -> Found:
    """Supported files under the given paths (hidden files and folders skipped)."""
    found = Found([], [], [])
    for root in paths:
        if not root.exists():
            found.failures.append(Failure(str(root), "not_found", "no such file or directory"))
        elif root.is_file():
            _classify(root.resolve(), found.files, found.failures)
        else:
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root).parts
                if path.is_file() and not any(part.startswith(".") for part in relative):
                    _classify(path.resolve(), found.files, found.skipped)
    return found


def _classify(path: Path, files: list[Path], failures: list[Failure]) -> None:
    if path.suffix.lower() in SUPPORTED_EXTENSIONS:
        files.append(path)
    else:
        failures.append(Failure(str(path), "unsupported_format", f"unsupported file type {path.suffix!r}"))


def prepare(
    parsed: ParsedDocument,
    *,
    source: str,
    tenant_id: str,
    collection: str,
    fingerprint_: str,
    count_tokens: TokenCounter,
    max_tokens: int,
    tags: Sequence[str] = (),
    metadata: dict[str, object] | None = None,
    max_chars: int | None = None,
    author: Author = OPERATOR,
    access: Access | None = None,
    max_chunks: int = DEFAULT_MAX_CHUNKS,
) -> Prepared:
    text = parsed.text
    if max_chars is not None and len(text) > max_chars:
        raise PayloadTooLarge(
            f"{source}: extracted text has {len(text):,} characters, over the limit of {max_chars:,} "
            "(LORE_MAX_DOCUMENT_CHARS)",
            details={"limit": max_chars, "setting": "LORE_MAX_DOCUMENT_CHARS"},
        )
    draft = DocumentDraft(
        tenant_id,
        collection,
        parsed.title,
        source,
        text,
        fingerprint_,
        list(tags),
        {**parsed.metadata, **(metadata or {})},
        author,
        access,
    )
    return Prepared(draft, chunk_document(parsed, count_tokens, max_tokens=max_tokens, max_chunks=max_chunks))


# -- in the sandbox's workers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _WorkerState:
    setup: WorkerSetup
    count_tokens: TokenCounter


_worker: _WorkerState | None = None


def init_worker(setup: WorkerSetup) -> None:
    """Build a worker's token counter, once (the sandbox runs this in each worker it starts)."""
    global _worker
    _worker = _WorkerState(setup, setup.token_counter())


def prepare_job(job: ParseJob) -> Prepared:
    """Parse and chunk one document in a worker; its failures are LoreErrors, which the sandbox passes on."""
    assert _worker is not None, "init_worker runs first"
    setup = _worker.setup
    if job.data is None:
        parsed = parse_file(Path(job.source), setup.limits)
    else:
        parsed = parse_bytes(job.data, job.filename, job.content_type, setup.limits)
    parsed.title = job.title or parsed.title
    return prepare(
        parsed,
        source=job.source,
        tenant_id=job.tenant_id,
        collection=job.collection,
        fingerprint_=job.fingerprint,
        count_tokens=_worker.count_tokens,
        max_tokens=setup.max_tokens,
        tags=job.tags,
        metadata=job.metadata,
        max_chars=setup.max_chars,
        author=job.author,
        access=job.access,
        max_chunks=setup.max_chunks,
    )


def prepare_jobs(sandbox: Sandbox, jobs: list[ParseJob]) -> Iterator[Prepared | Failure]:
    """Results in job order, parsed in the sandbox's workers; a document that fails, at a limit or otherwise,
    becomes a Failure and the others go on."""
    outcomes = sandbox.map(prepare_job, jobs, lambda job: job.filename)
    for job, outcome in zip(jobs, outcomes, strict=True):
        yield (
            Failure(job.source, outcome.code, outcome.message) if isinstance(outcome, LoreError) else outcome
        )


# -- embedding and writing --------------------------------------------------------------------------------------


class WritingModels(Protocol):
    """The models a writer embeds with: each collection's serving ones, and their embedders."""

    def serving(self, tenant_id: str, collection: str) -> ServingModels: ...

    def embedder_for(self, model: str) -> Embedder: ...


@dataclass
class Writer:
    """Embeds what the cache lacks for a batch of prepared documents, then writes the batch in one transaction.

    Each document is embedded with its collection's active model and, while a re-embedding of the collection
    runs, with the pending model too, so documents added meanwhile are in the new version when it switches.
    """

    documents: Documents
    vectors: VectorSource
    reembedding: Reembedding
    models: WritingModels

    def write(
        self, batch: list[Prepared], progress: WriteProgress | None = None
    ) -> tuple[list[Document], int]:
        """Returns the stored documents and how many texts had to be embedded."""
        plans = [(item, *self.models.serving(item.draft.tenant_id, item.draft.collection)) for item in batch]
        wanted: dict[str, list[ChunkDraft]] = {}
        for item, active, pending in plans:
            for model in filter(None, (active, pending)):
                wanted.setdefault(model, []).extend(item.chunks)
        vectors: dict[str, dict[str, np.ndarray]] = {}
        embedded = 0
        for model, chunks in wanted.items():
            vectors[model], fresh = self._vectors(model, chunks, progress)
            embedded += fresh
        writes = [
            DocumentWrite(item.draft, item.chunks, vectors[active], active) for item, active, _ in plans
        ]
        documents = self.documents.write_documents(writes)
        for document, (item, _, pending) in zip(documents, plans, strict=True):
            if progress is not None:
                progress.written(document)
            if pending is not None:
                mine = {chunk.content_hash: vectors[pending][chunk.content_hash] for chunk in item.chunks}
                self._add_pending(item.draft, pending, mine)
        return documents, embedded

    def _add_pending(self, draft: DocumentDraft, model: str, vectors: dict[str, np.ndarray]) -> None:
        # Conflict: the re-embedding switched (having embedded these chunks itself) or was abandoned.
        with contextlib.suppress(Conflict):
            self.reembedding.add_model_vectors(draft.tenant_id, draft.collection, model, vectors)

    def _vectors(
        self, model: str, chunks: list[ChunkDraft], progress: WriteProgress | None
    ) -> tuple[dict[str, np.ndarray], int]:
        """The vectors of `chunks` by content hash: cached ones read, the rest embedded `PROGRESS_TEXTS` at a
        time (shortest first, as the embedder batches them anyway), each step reported."""
        texts = {chunk.content_hash: chunk.embed_text for chunk in chunks}
        vectors = self.vectors.cached_vectors(model, list(texts))
        missing = sorted((h for h in texts if h not in vectors), key=lambda h: len(texts[h]))
        embedder = self.models.embedder_for(model)
        for start in range(0, len(missing), PROGRESS_TEXTS):
            step = missing[start : start + PROGRESS_TEXTS]
            vectors.update(zip(step, embedder.embed_documents([texts[h] for h in step]), strict=True))
            if progress is not None:
                progress.embedded(len(step))
        return vectors, len(missing)


def batched(
    items: Iterable[Prepared | Failure], max_chunks: int = EMBED_BATCH_CHUNKS
) -> Iterator[tuple[list[Prepared], list[Failure]]]:
    """Group prepared documents so one embedding call covers about `max_chunks` chunks."""
    batch: list[Prepared] = []
    failures: list[Failure] = []
    size = 0
    for item in items:
        if isinstance(item, Failure):
            failures.append(item)
            continue
        batch.append(item)
        size += len(item.chunks)
        if size >= max_chunks:
            yield batch, failures
            batch, failures, size = [], [], 0
    if batch or failures:
        yield batch, failures


def elapsed_since(start: float) -> float:
    return time.perf_counter() - start
