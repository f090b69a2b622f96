"""Ingest orchestration: files, uploads, text and data-set records turned into prepared documents, written in
batches with their collections' current models, and the indexes brought up to date after each batch.

Files, uploads and text are parsed and chunked in the parsing sandbox (`lore.core.sandbox`), whose workers this
owns: started when first needed, stopped by `close`. Data-set records need no parsing and are chunked here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from lore.bus import BusEvent, EventBus
from lore.config import Settings
from lore.core import ingest
from lore.core.ingest import CorpusDoc
from lore.core.parsers import ParseLimits
from lore.core.sandbox import Sandbox, SandboxLimits
from lore.errors import Conflict, PayloadTooLarge
from lore.interfaces import Documents
from lore.models import OPERATOR, Access, Author, Block, Document, KnownDocument, ParsedDocument
from lore.names import check_name
from lore.service.embedding_models import ModelDirectory
from lore.service.index_sync import IndexSync

Known = dict[str, KnownDocument]  # source -> what the store holds of it


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a document is written, the labels it carries, who writes it and who may read it (None: a stored
    document's readers stay, a new one is unrestricted)."""

    tenant_id: str
    collection: str
    tags: Sequence[str] = ()
    metadata: dict[str, Any] | None = None
    author: Author = OPERATOR
    access: Access | None = None


class Fetched(NamedTuple):
    """A document a connector fetched: its bytes, the source it is cited by, the name and content type the
    parser reads its format from, and a title replacing the parsed one when set."""

    source: str
    filename: str
    data: bytes
    content_type: str | None = None
    title: str = ""


class Added(NamedTuple):
    """A document added, or found stored already with the same content and metadata (`unchanged`)."""

    document: Document
    unchanged: bool


class Ingestion:
    """Writes documents through `writer`; unchanged sources are recognised by their fingerprint and skipped."""

    def __init__(
        self,
        settings: Settings,
        documents: Documents,
        writer: ingest.Writer,
        models: ModelDirectory,
        sync: IndexSync,
        token_counter: Callable[[], ingest.TokenCounter],
        bus: EventBus | None = None,
    ) -> None:
        self.settings = settings
        self.documents = documents
        self.writer = writer
        self.models = models
        self.sync = sync
        self.token_counter = token_counter  # picklable: documents are chunked in worker processes
        self.bus = bus or EventBus()
        self._sandbox: Sandbox | None = None
        self._sandbox_lock = threading.Lock()

    def sandbox(self) -> Sandbox:
        """The parsing sandbox, its workers set up to chunk for the default embedder."""
        with self._sandbox_lock:
            if self._sandbox is None:
                self._sandbox = Sandbox(
                    self.settings.parsing.parse_workers,
                    sandbox_limits(self.settings),
                    ingest.init_worker,
                    self._setup(),
                )
            return self._sandbox

    def close(self) -> None:
        with self._sandbox_lock:
            sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            sandbox.close()

    def _setup(self) -> ingest.WorkerSetup:
        return ingest.WorkerSetup(
            self.token_counter,
            self.models.default.max_tokens,
            self.settings.serving.max_document_chars,
            parse_limits(self.settings),
            self.settings.serving.max_document_chunks,
        )

    def paths(
        self,
        paths: Sequence[Path],
        *,
        tenant_id: str,
        collection: str,
        tags: Sequence[str],
        sync: bool,
        on_progress: Callable[[ingest.Progress], None] | None,
    ) -> ingest.IngestReport:
        check_name("tenant", tenant_id)
        check_name("collection", collection)
        start = time.perf_counter()
        files, failures, skipped = ingest.discover(paths)
        report = ingest.IngestReport(files=len(files), failures=failures, skipped=skipped)
        known = self.documents.document_hashes(tenant_id, collection)
        sizes: dict[str, int] = {}
        jobs = self._file_jobs(files, known, report, (tenant_id, collection, tuple(tags)), sizes)
        tracker = ingest.Tracker(on_progress, len(files), sizes, start)
        tracker.skipped(len(files) - len(jobs))  # unchanged or unreadable: done already
        prepared = ingest.prepare_jobs(self.sandbox(), jobs) if jobs else iter(())
        for batch, batch_failures in ingest.batched(prepared, ingest.FILE_BATCH_CHUNKS):
            report.failures.extend(batch_failures)
            for failure in batch_failures:
                tracker.failed(failure)
            self._write_batch(batch, known, report, tracker)
        if sync:
            report.removed = self._remove_missing(paths, files, known, (tenant_id, collection))
        for failure in report.failures:
            self._ingest_failed(failure, tenant_id, collection)
        self.sync.after_write(save=True)
        report.seconds = ingest.elapsed_since(start)
        return report

    def _file_jobs(
        self,
        files: list[Path],
        known: Known,
        report: ingest.IngestReport,
        into: tuple[str, str, tuple[str, ...]],
        sizes: dict[str, int],
    ) -> list[ingest.ParseJob]:
        """A parse job for each file that changed (`into`: tenant, collection, tags), its size in `sizes`."""
        tenant_id, collection, tags = into
        salt = ingest.salt_for(self.models.default.model_id, tags)
        jobs = []
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as error:
                report.failures.append(ingest.Failure(str(path), "unreadable", error.strerror or str(error)))
                continue
            digest = ingest.fingerprint(data, salt)
            if unchanged(known, str(path), digest):
                report.unchanged += 1
            else:
                sizes[str(path)] = len(data)
                jobs.append(ingest.ParseJob(str(path), path.name, tenant_id, collection, digest, tags))
        return jobs

    def _write_batch(
        self,
        batch: list[ingest.Prepared],
        known: Known,
        report: ingest.IngestReport,
        tracker: ingest.Tracker | None = None,
    ) -> None:
        if not batch:
            return
        if tracker is not None:
            tracker.begin(batch, sum(len(item.chunks) for item in batch))
        documents, embedded = self._write(batch, tracker)
        for document in documents:
            if document.source in known:
                report.updated += 1
            else:
                report.added += 1
            report.chunks += document.chunk_count
        report.embedded += embedded
        report.documents.extend(documents)
        self.sync.after_write(save=False)

    def _write(
        self, batch: list[ingest.Prepared], progress: ingest.WriteProgress | None = None
    ) -> tuple[list[Document], int]:
        """Write with the collections' current models; a switch committed meanwhile (Conflict) is read and the
        batch written again (writes replace by source, so a repeat is harmless; its progress is not reported
        twice)."""
        try:
            written = self.writer.write(batch, progress)
        except Conflict:
            self.sync.sync()
            written = self.writer.write(batch)
        for document in written[0]:
            self._indexed(document)
        return written

    def _indexed(self, document: Document) -> None:
        data = {
            "document_id": document.id,
            "source": document.source,
            "title": document.title,
            "chunks": document.chunk_count,
        }
        self.bus.publish(
            BusEvent("document.indexed", document.tenant_id, data, collection=document.collection)
        )

    def _ingest_failed(self, failure: ingest.Failure, tenant_id: str, collection: str) -> None:
        data = {"source": failure.source, "reason": failure.code, "message": failure.message}
        self.bus.publish(BusEvent("ingest.failed", tenant_id, data, collection=collection))

    def _remove_missing(
        self, roots: Sequence[Path], files: list[Path], known: Known, where: tuple[str, str]
    ) -> int:
        tenant_id, collection = where
        seen = {str(path) for path in files}
        prefixes = [str(root.resolve()) for root in roots]
        removed = 0
        for source, stored in known.items():
            under_root = any(source == p or source.startswith(p.rstrip("/") + "/") for p in prefixes)
            gone = under_root and source not in seen and not Path(source).exists()
            if gone and self.documents.delete_document(tenant_id, stored.document_id):
                removed += 1
                data = {"document_id": stored.document_id, "source": source}
                self.bus.publish(BusEvent("document.deleted", tenant_id, data, collection=collection))
        return removed

    def fetched(
        self,
        items: Sequence[Fetched],
        to: Destination,
        on_progress: Callable[[ingest.Progress], None] | None = None,
    ) -> ingest.IngestReport:
        """Write fetched documents (a connector's): each one whose bytes changed is parsed and written, the
        others counted unchanged; nothing is removed here (the sync engine decides what is gone)."""
        start = time.perf_counter()
        report = ingest.IngestReport(files=len(items))
        known = self.documents.document_hashes(to.tenant_id, to.collection)
        jobs = [job for job in (self._fetched_job(item, to, known, report) for item in items) if job]
        sizes = {job.source: len(job.data or b"") for job in jobs}
        tracker = ingest.Tracker(on_progress, len(items), sizes, start)
        tracker.skipped(len(items) - len(jobs))
        prepared = ingest.prepare_jobs(self.sandbox(), jobs) if jobs else iter(())
        for batch, batch_failures in ingest.batched(prepared, ingest.FILE_BATCH_CHUNKS):
            report.failures.extend(batch_failures)
            for failure in batch_failures:
                tracker.failed(failure)
            self._write_batch(batch, known, report, tracker)
        for failure in report.failures:
            self._ingest_failed(failure, to.tenant_id, to.collection)
        self.sync.after_write(save=True)
        report.seconds = ingest.elapsed_since(start)
        return report

    def _fetched_job(
        self, item: Fetched, to: Destination, known: Known, report: ingest.IngestReport
    ) -> ingest.ParseJob | None:
        digest = self._fingerprint(item.data, to)
        if unchanged(known, item.source, digest):
            report.unchanged += 1
            return None
        return _job(item.source, item.filename, digest, to, item.data, item.content_type, item.title)

    def remove(self, tenant_id: str, collection: str, sources: Iterable[str]) -> int:
        """Delete the documents of `sources` in `collection`; how many there were."""
        wanted = list(sources)
        known = self.documents.document_hashes(tenant_id, collection, wanted) if wanted else {}
        removed = 0
        for source, stored in known.items():
            if self.documents.delete_document(tenant_id, stored.document_id):
                removed += 1
                data = {"document_id": stored.document_id, "source": source}
                self.bus.publish(BusEvent("document.deleted", tenant_id, data, collection=collection))
        if removed:
            self.sync.after_write(save=True)
        return removed

    def text(self, title: str, text: str, source: str | None, to: Destination) -> Document:
        digest = self._fingerprint(f"{title}\0{text}".encode(), to)
        source = source or f"text:{digest[:16]}"
        return self._add(_job(source, "document.md", digest, to, text.encode(), "text/markdown", title))

    def upload(
        self, data: bytes, filename: str, content_type: str | None, source: str | None, to: Destination
    ) -> Added:
        """Parse and add an uploaded file, unless the same content with the same metadata is stored already."""
        if len(data) > self.settings.serving.max_upload_bytes:
            raise PayloadTooLarge(
                f"upload of {len(data)} bytes exceeds {self.settings.serving.max_upload_bytes}"
            )
        source = source or f"upload:{filename}"
        digest = self._fingerprint(data, to)
        stored = unchanged(
            self.documents.document_hashes(to.tenant_id, to.collection, [source]), source, digest
        )
        document = self.documents.get_document(to.tenant_id, stored.document_id) if stored else None
        if document is not None and may_skip(document, to.author):
            return Added(document, unchanged=True)
        return Added(self._add(_job(source, filename, digest, to, data, content_type)), unchanged=False)

    def _fingerprint(self, data: bytes, to: Destination) -> str:
        check_name("tenant", to.tenant_id)
        check_name("collection", to.collection)
        return ingest.fingerprint(data, ingest.salt_for(self.models.default.model_id, to.tags, to.metadata))

    def _add(self, job: ingest.ParseJob) -> Document:
        """Parse and chunk `job` in the sandbox, then write it."""
        prepared = self.sandbox().run(job.filename, ingest.prepare_job, job)
        (document,), _ = self._write([prepared])
        self.sync.after_write(save=False)
        return document

    def corpus(
        self,
        docs: Iterable[CorpusDoc],
        *,
        tenant_id: str,
        collection: str,
        on_progress: Callable[[int], None] | None,
    ) -> ingest.IngestReport:
        start = time.perf_counter()
        report = ingest.IngestReport()
        known = self.documents.document_hashes(tenant_id, collection)
        salt = ingest.salt_for(self.models.default.model_id, ())
        prepared = (self.prepare_record(doc, salt, tenant_id, collection, known, report) for doc in docs)
        for batch, _ in ingest.batched(item for item in prepared if item is not None):
            self._write_batch(batch, known, report)
            if on_progress:
                on_progress(report.added + report.updated + report.unchanged)
        self.sync.after_write(save=True)
        report.seconds = ingest.elapsed_since(start)
        return report

    def prepare_record(
        self,
        doc: CorpusDoc,
        salt: str,
        tenant_id: str,
        collection: str,
        known: Known,
        report: ingest.IngestReport,
    ) -> ingest.Prepared | None:
        """One data-set record chunked for writing, or None (counted unchanged) when it is stored already."""
        report.files += 1
        digest = ingest.fingerprint(f"{doc.title}\0{doc.text}".encode(), salt)
        source = f"record:{doc.id}"
        stored = known.get(source)
        if stored is not None and stored.content_hash == digest:
            report.unchanged += 1
            return None
        blocks = [Block("paragraph", p) for p in doc.text.split("\n\n") if p.strip()] or [
            Block("paragraph", "")
        ]
        parsed = ParsedDocument(doc.title or doc.id, blocks, {"record_id": doc.id})
        embedder = self.models.default
        return ingest.prepare(
            parsed,
            source=source,
            tenant_id=tenant_id,
            collection=collection,
            fingerprint_=digest,
            count_tokens=embedder.count_tokens,
            max_tokens=embedder.max_tokens,
        )


def _job(
    source: str,
    filename: str,
    digest: str,
    to: Destination,
    data: bytes,
    content_type: str | None,
    title: str = "",
) -> ingest.ParseJob:
    tags = tuple(to.tags)
    return ingest.ParseJob(
        source,
        filename,
        to.tenant_id,
        to.collection,
        digest,
        tags,
        to.metadata,
        data,
        content_type,
        title,
        to.author,
        to.access,
    )


def may_skip(stored: Document, author: Author) -> bool:
    """Whether an unchanged upload may answer with the stored document instead of writing: only for whoever
    may write it (the owner, or an admin or the operator); anyone else goes through the write's own checks."""
    return author.readers is None or stored.owner == author.name


def unchanged(known: Known, source: str, digest: str) -> KnownDocument | None:
    """What the store holds of `source`, if it holds exactly this content (same fingerprint)."""
    stored = known.get(source)
    return stored if stored is not None and stored.content_hash == digest else None


def sandbox_limits(settings: Settings) -> SandboxLimits:
    return SandboxLimits(settings.parsing.parse_cpu_seconds, settings.parsing.parse_memory_bytes)


def parse_limits(settings: Settings) -> ParseLimits:
    parsing = settings.parsing
    return ParseLimits(
        max_unzipped_bytes=parsing.max_unzipped_bytes,
        max_zip_ratio=parsing.max_zip_ratio,
        max_document_pages=parsing.max_document_pages,
        max_page_points=parsing.max_page_points,
        max_stream_bytes=parsing.max_stream_bytes,
    )
