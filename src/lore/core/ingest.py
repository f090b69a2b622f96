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
from typing import Any, Protocol

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
    ParsedDocument,
    ServingModels,
)

PIPELINE_VERSION = "2"  # bump when parsing or chunking changes, so every document is re-indexed once
EMBED_BATCH_CHUNKS = 256  # chunks gathered across documents before one embedding call


@dataclass(frozen=True, slots=True)
class Failure:
    source: str
    code: str
    message: str


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
    documents: list[Document] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Progress:
    files_done: int
    files_total: int
    chunks: int
    embedded: int
    elapsed: float


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


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Failure]]:
    """Supported files under the given paths (hidden files and folders skipped); the rest as failures."""
    files: list[Path] = []
    failures: list[Failure] = []
    for root in paths:
        if not root.exists():
            failures.append(Failure(str(root), "not_found", "no such file or directory"))
        elif root.is_file():
            _classify(root.resolve(), files, failures)
        else:
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root).parts
                if path.is_file() and not any(part.startswith(".") for part in relative):
                    _classify(path.resolve(), files, failures)
    return files, failures


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
    """Embeds what the cache lacks for a batch of prepared documents, then writes each one atomically.

    Each document is embedded with its collection's active model and, while a re-embedding of the collection
    runs, with the pending model too, so documents added meanwhile are in the new version when it switches.
    """

    documents: Documents
    vectors: VectorSource
    reembedding: Reembedding
    models: WritingModels

    def write(self, batch: list[Prepared]) -> tuple[list[Document], int]:
        """Returns the stored documents and how many texts had to be embedded."""
        plans = [(item, *self.models.serving(item.draft.tenant_id, item.draft.collection)) for item in batch]
        wanted: dict[str, list[ChunkDraft]] = {}
        for item, active, pending in plans:
            for model in filter(None, (active, pending)):
                wanted.setdefault(model, []).extend(item.chunks)
        vectors: dict[str, dict[str, np.ndarray]] = {}
        embedded = 0
        for model, chunks in wanted.items():
            vectors[model], fresh = self._vectors(model, chunks)
            embedded += fresh
        documents = []
        for item, active, pending in plans:
            documents.append(self.documents.write_document(item.draft, item.chunks, vectors[active], active))
            if pending is not None:
                mine = {chunk.content_hash: vectors[pending][chunk.content_hash] for chunk in item.chunks}
                self._add_pending(item.draft, pending, mine)
        return documents, embedded

    def _add_pending(self, draft: DocumentDraft, model: str, vectors: dict[str, np.ndarray]) -> None:
        # Conflict: the re-embedding switched (having embedded these chunks itself) or was abandoned.
        with contextlib.suppress(Conflict):
            self.reembedding.add_model_vectors(draft.tenant_id, draft.collection, model, vectors)

    def _vectors(self, model: str, chunks: list[ChunkDraft]) -> tuple[dict[str, np.ndarray], int]:
        texts = {chunk.content_hash: chunk.embed_text for chunk in chunks}
        vectors = self.vectors.cached_vectors(model, list(texts))
        missing = [h for h in texts if h not in vectors]
        if missing:
            fresh = self.models.embedder_for(model).embed_documents([texts[h] for h in missing])
            vectors.update(zip(missing, fresh, strict=True))
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
