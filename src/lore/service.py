"""The `Lore` service: built from Settings through the registry, called by the CLI and the API alike."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from lore.backends.cache import Caches, open_caches
from lore.backends.store.database import Database
from lore.caching import LRU, CacheStats, collection_scope, get_or_compute, tenant_scope
from lore.config import Settings
from lore.core import index_sync, ingest, reembedding
from lore.core.bm25 import KeywordIndex
from lore.core.evaluation import CorpusDoc
from lore.core.parse import parse_bytes
from lore.core.retrieve import Retriever, SearchRequest
from lore.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from lore.interfaces import Embedder, VectorIndex
from lore.models import (
    DEFAULT_COLLECTION,
    DEFAULT_TENANT,
    Block,
    Change,
    Chunk,
    CollectionModels,
    Document,
    Hit,
    KnownDocument,
    Page,
    ParsedDocument,
    split_partition,
)
from lore.registry import (
    create_embedder,
    create_embedder_for,
    create_store,
    create_vector_index,
    token_counter_factory,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(kind: str, name: str) -> str:
    """Tenant and collection names become parts of index partition names and cache keys: keep them plain."""
    if not _NAME.match(name):
        raise InvalidInput(
            f"invalid {kind} name {name!r}: use 1-64 letters, digits, '.', '_' or '-'", details={kind: name}
        )
    return name


def search_key(request: SearchRequest) -> tuple[object, ...]:
    """Everything that decides a search's hits (JSON keeps 1, true and "1" apart in metadata filters)."""
    filters = request.filters
    metadata = json.dumps(dict(filters.metadata), sort_keys=True)
    collections = None if request.collections is None else tuple(request.collections)
    return (
        request.tenant_id,
        request.query,
        request.k,
        request.mode,
        collections,
        filters.tags,
        metadata,
        filters.document_ids,
    )


def result_key(request: SearchRequest, models: Sequence[str], versions: Sequence[int]) -> str:
    """The cache key of a search: its inputs, the models that embed the searched collections and the content
    versions of those collections (a write raises a version, so older entries are never read again)."""
    return json.dumps([*search_key(request), list(models), list(versions)], ensure_ascii=False)


ModelKey = tuple[str, str]  # (tenant, collection)


class Lore:
    def __init__(
        self,
        settings: Settings,
        store: Database,
        index: VectorIndex,
        embedder: Embedder,
        caches: Caches | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.index = index
        self.embedder = embedder  # the configured default: collections without a recorded model use it
        self.embedders: dict[str, Embedder] = {embedder.model_id: embedder}
        self._embedders_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._last_sync_check = 0.0
        self._collections: dict[str, list[str]] | None = None
        self._models: dict[ModelKey, CollectionModels] | None = None
        self.caches = caches or open_caches(settings)
        self.chunk_cache: LRU[int, Chunk] = LRU(settings.chunk_cache_size)
        self.keywords = KeywordIndex() if settings.keyword_index == "memory" else None
        self.retriever = Retriever(
            store,
            index,
            self.embed_query,
            self.plan,
            coverage=lambda model, query: self.embedder_for(model).coverage(query),
            keyword_index=self.keywords,
            chunk_cache=self.chunk_cache,
        )
        self.writer = ingest.Writer(store, self.embedder_for, self.models_of)

    @classmethod
    def open(cls, settings: Settings | None = None, *, caches: Caches | None = None) -> Lore:
        settings = settings or Settings()
        store = create_store(settings)
        store.migrate()
        lore = cls(settings, store, create_vector_index(settings), create_embedder(settings), caches)
        if lore.index.applied_seq > store.changes.last_seq():
            lore.rebuild_index()  # index files newer than the store: the store was restored from a backup
        lore.sync_index()
        return lore

    def close(self) -> None:
        self.sync_index()
        self.index.save()
        self.store.close()
        self.caches.close()

    def __enter__(self) -> Lore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- documents --------------------------------------------------------------------------------------------

    def ingest_paths(
        self,
        paths: Sequence[Path],
        *,
        tenant_id: str = DEFAULT_TENANT,
        collection: str = DEFAULT_COLLECTION,
        tags: Sequence[str] = (),
        sync: bool = False,
        on_progress: Callable[[ingest.Progress], None] | None = None,
    ) -> ingest.IngestReport:
        """Index files and folders; unchanged files are skipped, `sync` removes documents whose files are gone."""
        check_name("tenant", tenant_id)
        check_name("collection", collection)
        start = time.perf_counter()
        files, failures = ingest.discover(paths)
        report = ingest.IngestReport(files=len(files), failures=failures)
        known = self.store.documents.document_hashes(tenant_id, collection)
        jobs = self._file_jobs(files, known, report, tenant_id, collection, tuple(tags))
        prepared = ingest.prepare_files(
            jobs,
            token_counter_factory(self.settings),
            self.embedder.max_tokens,
            self.settings.max_document_chars,
            self.settings.parse_workers,
        )
        done = report.unchanged
        for batch, batch_failures in ingest.batched(prepared):
            report.failures.extend(batch_failures)
            self._write_batch(batch, known, report)
            done += len(batch) + len(batch_failures)
            if on_progress:
                on_progress(
                    ingest.Progress(
                        done, len(files), report.chunks, report.embedded, ingest.elapsed_since(start)
                    )
                )
        if sync:
            report.removed = self._remove_missing(paths, files, known, tenant_id)
        self._after_write(save=True)
        report.seconds = ingest.elapsed_since(start)
        return report

    def _file_jobs(
        self,
        files: list[Path],
        known: dict[str, KnownDocument],
        report: ingest.IngestReport,
        tenant_id: str,
        collection: str,
        tags: tuple[str, ...],
    ) -> list[ingest.FileJob]:
        salt = ingest.salt_for(self.embedder.model_id, tags)
        jobs = []
        for path in files:
            try:
                digest = ingest.fingerprint(path.read_bytes(), salt)
            except OSError as error:
                report.failures.append(ingest.Failure(str(path), "unreadable", error.strerror or str(error)))
                continue
            if known.get(str(path), KnownDocument("", "")).content_hash == digest:
                report.unchanged += 1
            else:
                jobs.append(ingest.FileJob(path, tenant_id, collection, tags, digest))
        return jobs

    def _write_batch(
        self, batch: list[ingest.Prepared], known: dict[str, KnownDocument], report: ingest.IngestReport
    ) -> None:
        if not batch:
            return
        documents, embedded = self._write(batch)
        for document in documents:
            if document.source in known:
                report.updated += 1
            else:
                report.added += 1
            report.chunks += document.chunk_count
        report.embedded += embedded
        report.documents.extend(documents)
        self._after_write(save=False)

    def _write(self, batch: list[ingest.Prepared]) -> tuple[list[Document], int]:
        """Write with the collections' current models; a switch committed meanwhile (Conflict) is read and the
        batch written again (writes replace by source, so a repeat is harmless)."""
        try:
            return self.writer.write(batch)
        except Conflict:
            self.sync_index()
            return self.writer.write(batch)

    def _remove_missing(
        self, roots: Sequence[Path], files: list[Path], known: dict[str, KnownDocument], tenant_id: str
    ) -> int:
        seen = {str(path) for path in files}
        prefixes = [str(root.resolve()) for root in roots]
        removed = 0
        for source, (document_id, _digest) in known.items():
            under_root = any(source == p or source.startswith(p.rstrip("/") + "/") for p in prefixes)
            if under_root and source not in seen and not Path(source).exists():
                removed += self.store.documents.delete_document(tenant_id, document_id)
        return removed

    def add_text(
        self,
        *,
        title: str,
        text: str,
        source: str | None = None,
        tenant_id: str = DEFAULT_TENANT,
        collection: str = DEFAULT_COLLECTION,
        tags: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
    ) -> Document:
        """Index a document given as text (Markdown structure is honoured). Same source: replaced."""
        parsed = parse_bytes(text.encode("utf-8"), "document.md", "text/markdown")
        parsed.title = title or parsed.title
        data = f"{title}\0{text}".encode()
        return self._add_parsed(parsed, data, source, tenant_id, collection, tags, metadata)

    def add_upload(
        self,
        data: bytes,
        filename: str,
        content_type: str | None = None,
        *,
        tenant_id: str = DEFAULT_TENANT,
        collection: str = DEFAULT_COLLECTION,
        tags: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
        source: str | None = None,
    ) -> Document:
        if len(data) > self.settings.max_upload_bytes:
            raise PayloadTooLarge(f"upload of {len(data)} bytes exceeds {self.settings.max_upload_bytes}")
        parsed = parse_bytes(data, filename, content_type)
        return self._add_parsed(
            parsed, data, source or f"upload:{filename}", tenant_id, collection, tags, metadata
        )

    def _add_parsed(
        self,
        parsed: ParsedDocument,
        data: bytes,
        source: str | None,
        tenant_id: str,
        collection: str,
        tags: Sequence[str],
        metadata: dict[str, Any] | None,
    ) -> Document:
        check_name("tenant", tenant_id)
        check_name("collection", collection)
        digest = ingest.fingerprint(data, ingest.salt_for(self.embedder.model_id, tags, metadata))
        prepared = ingest.prepare(
            parsed,
            source=source or f"text:{digest[:16]}",
            tenant_id=tenant_id,
            collection=collection,
            fingerprint_=digest,
            count_tokens=self.embedder.count_tokens,
            max_tokens=self.embedder.max_tokens,
            tags=tags,
            metadata=metadata,
            max_chars=self.settings.max_document_chars,
        )
        (document,), _ = self._write([prepared])
        self._after_write(save=False)
        return document

    def add_corpus(
        self,
        docs: Iterable[CorpusDoc],
        *,
        tenant_id: str = DEFAULT_TENANT,
        collection: str = DEFAULT_COLLECTION,
        on_progress: Callable[[int], None] | None = None,
    ) -> ingest.IngestReport:
        """Bulk-index plain (id, title, text) records, as data sets and benchmarks provide them."""
        start = time.perf_counter()
        report = ingest.IngestReport()
        known = self.store.documents.document_hashes(tenant_id, collection)
        salt = ingest.salt_for(self.embedder.model_id, ())
        prepared = (self._prepare_record(doc, salt, tenant_id, collection, known, report) for doc in docs)
        for batch, _ in ingest.batched(item for item in prepared if item is not None):
            self._write_batch(batch, known, report)
            if on_progress:
                on_progress(report.added + report.updated + report.unchanged)
        self._after_write(save=True)
        report.seconds = ingest.elapsed_since(start)
        return report

    def _prepare_record(
        self,
        doc: CorpusDoc,
        salt: str,
        tenant_id: str,
        collection: str,
        known: dict[str, KnownDocument],
        report: ingest.IngestReport,
    ) -> ingest.Prepared | None:
        report.files += 1
        digest = ingest.fingerprint(f"{doc.title}\0{doc.text}".encode(), salt)
        source = f"record:{doc.id}"
        if known.get(source, KnownDocument("", "")).content_hash == digest:
            report.unchanged += 1
            return None
        blocks = [Block("paragraph", p) for p in doc.text.split("\n\n") if p.strip()] or [
            Block("paragraph", "")
        ]
        parsed = ParsedDocument(doc.title or doc.id, blocks, {"record_id": doc.id})
        return ingest.prepare(
            parsed,
            source=source,
            tenant_id=tenant_id,
            collection=collection,
            fingerprint_=digest,
            count_tokens=self.embedder.count_tokens,
            max_tokens=self.embedder.max_tokens,
        )

    def get_document(
        self, document_id: str, *, tenant_id: str = DEFAULT_TENANT, with_text: bool = True
    ) -> Document:
        document = self.store.documents.get_document(tenant_id, document_id, with_text=with_text)
        if document is None:
            raise NotFound(f"no document {document_id!r}", details={"document_id": document_id})
        return document

    def list_documents(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT,
        collection: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Document]:
        return self.store.documents.list_documents(tenant_id, collection, limit, cursor)

    def delete_document(self, document_id: str, *, tenant_id: str = DEFAULT_TENANT) -> None:
        if not self.store.documents.delete_document(tenant_id, document_id):
            raise NotFound(f"no document {document_id!r}", details={"document_id": document_id})
        self._after_write(save=False)

    # -- search -----------------------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> list[Hit]:
        if not 1 <= request.k <= self.settings.max_k:
            raise InvalidInput(f"k must be between 1 and {self.settings.max_k}", details={"k": request.k})
        if not request.query.strip():
            raise InvalidInput("query must not be empty")
        for collection in request.collections or ():
            check_name("collection", collection)
        self._maybe_sync()
        versions = self._versions(request)
        if max(versions) > self._applied_seq():
            self.sync_index()  # another replica wrote: catch up before answering, whatever the throttle says
        key = result_key(request, sorted(self.plan(request.tenant_id, request.collections)), versions)
        hits = self.caches.search_results.get(key)
        if hits is None:
            hits = self.retriever.search(request)
            if self._applied_seq() >= max(versions):
                self.caches.search_results.put(key, hits)
        return hits

    def _versions(self, request: SearchRequest) -> list[int]:
        """Content versions of what the request searches: its collections, or the whole tenant."""
        tenant = request.tenant_id
        scopes = (
            [tenant_scope(tenant)]
            if request.collections is None
            else [collection_scope(tenant, c) for c in sorted(set(request.collections))]
        ) or [tenant_scope(tenant)]
        local = self.caches.local.read(scopes)
        if self.caches.shared is None:
            return local
        return [max(a, b) for a, b in zip(local, self.caches.shared.read(scopes), strict=True)]

    def _applied_seq(self) -> int:
        applied = self.index.applied_seq
        return applied if self.keywords is None else min(applied, self.keywords.applied_seq)

    def embed_query(self, model: str, text: str) -> np.ndarray:
        return get_or_compute(self.caches.query_vectors, f"{model}\0{text}", lambda: self._embed(model, text))

    def _embed(self, model: str, text: str) -> np.ndarray:
        vector = self.embedder_for(model).embed_query(text)
        vector.flags.writeable = False  # shared through the cache: nobody may change it
        return vector

    def cache_stats(self) -> dict[str, CacheStats]:
        """Every cache by name, for /metrics."""
        return {**self.caches.stats(), "chunks": self.chunk_cache.stats()}

    # -- embedding models -------------------------------------------------------------------------------------

    def embedder_for(self, model: str) -> Embedder:
        """The embedder of a model id or backend name, created once per process."""
        if model in self.embedders:
            return self.embedders[model]
        with self._embedders_lock:
            if model == self.settings.embedder:
                embedder = self.embedder
            else:
                embedder = create_embedder_for(self.settings, model)
            embedder = self.embedders.setdefault(embedder.model_id, embedder)
            self.embedders[model] = embedder
            return embedder

    def models_of(self, tenant_id: str, collection: str) -> tuple[str, str | None]:
        """(active model id, pending model id or None) of a collection, as this process's index serves it."""
        if self._models is None:
            self._models = {
                (m.tenant_id, m.collection): m for m in self.store.reembedding.collection_models()
            }
        models = self._models.get((tenant_id, collection))
        if models is None:
            return self.embedder.model_id, None
        return models.active or self.embedder.model_id, models.pending

    def plan(self, tenant_id: str, collections: Sequence[str] | None) -> dict[str, list[str]]:
        """Which model embeds which of the searched collections (None: every collection with vectors)."""
        groups: dict[str, list[str]] = {}
        for collection in self.collections(tenant_id) if collections is None else collections:
            groups.setdefault(self.models_of(tenant_id, collection)[0], []).append(collection)
        return groups

    def collections(self, tenant_id: str) -> list[str]:
        """Collections of a tenant that have vectors of their active model (cached until the index changes)."""
        if self._collections is None:
            table: dict[str, list[str]] = {}
            for partition in self.store.vectors.partitions():
                tenant, collection, model = split_partition(partition)
                if model == self.models_of(tenant, collection)[0]:
                    table.setdefault(tenant, []).append(collection)
            self._collections = table
        return self._collections.get(tenant_id, [])

    def reembed(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT,
        collection: str,
        model: str,
        on_progress: Callable[[int, int], None] | None = None,
        batch_size: int = reembedding.BATCH_CHUNKS,
    ) -> reembedding.Report:
        """Re-embed a collection with another model while searches keep using the current one, then switch
        in one transaction and drop the old vectors. Resumable: a rerun skips what was embedded."""
        check_name("tenant", tenant_id)
        check_name("collection", collection)
        if collection not in {info.name for info in self.store.documents.list_collections(tenant_id)}:
            raise NotFound(f"no collection {collection!r}", details={"collection": collection})
        embedder = self.embedder_for(model)
        self.sync_index()
        report = reembedding.run(
            self.store.reembedding,
            embedder,
            tenant_id,
            collection,
            self.models_of(tenant_id, collection)[0],
            on_progress=on_progress,
            after_batch=self.sync_index,
            batch_size=batch_size,
        )
        self._after_write(save=True)
        return report

    # -- the derived index ------------------------------------------------------------------------------------

    def sync_index(self) -> int:
        """Replay store changes into the vector index (also those written by other processes). A collection
        switches to a new model exactly when the index has applied the change its new partition is complete
        at, and before the old partition's removals: a search never sees a half-built or half-dropped one."""
        with self._sync_lock:
            target = self.store.changes.last_seq()
            fresh = {(m.tenant_id, m.collection): m for m in self.store.reembedding.collection_models()}
            previous = self._models
            applied = 0
            for seq in [*_switch_points(previous, fresh, self.index.applied_seq, target), target]:
                applied += index_sync.catch_up(self.store, self.index, upto=seq, on_batch=self._on_changes)
                self._models = _models_as_of(previous, fresh, self.index.applied_seq)
            if self.keywords is not None:
                self.keywords.catch_up(
                    index_sync.KeywordView(self.store, self.models_of), self.store.documents
                )
            if applied:
                self._collections = None
            self._last_sync_check = time.monotonic()
            return applied

    def _on_changes(self, changes: list[Change]) -> None:
        """Raise the content versions of the scopes these changes touched (shared ones too, so every replica
        stops reading older results at once) and forget removed chunks."""
        versions: dict[str, int] = {}
        removed: list[int] = []
        for change in changes:
            tenant, collection, model = split_partition(change.partition)
            if change.op == "remove":
                removed.append(change.chunk_id)
            elif model == self.models_of(tenant, collection)[1]:
                continue  # a re-embedding's partition: not searched yet
            for scope in (collection_scope(tenant, collection), tenant_scope(tenant)):
                versions[scope] = max(versions.get(scope, 0), change.seq)
        self.chunk_cache.discard(removed)
        self.caches.local.raise_to(versions)
        if self.caches.shared is not None:
            self.caches.shared.raise_to(versions)

    def _maybe_sync(self) -> None:
        if time.monotonic() - self._last_sync_check < self.settings.index_sync_seconds:
            return
        self._last_sync_check = time.monotonic()
        if self.store.changes.last_seq() > self._applied_seq():
            self.sync_index()

    def _after_write(self, *, save: bool) -> None:
        self.sync_index()
        if save:
            self.index.save()

    def rebuild_index(self) -> int:
        """Rebuild the derived indexes from the store; cached results and versions start over with them (the
        store may have been restored from an older backup, whose change numbers are lower)."""
        with self._sync_lock:
            self._models = None
            total = index_sync.rebuild(self.store, self.index)
            if self.keywords is not None:
                self.keywords.clear()
                self.keywords.catch_up(
                    index_sync.KeywordView(self.store, self.models_of), self.store.documents
                )
            self._collections = None
            self.chunk_cache.clear()
            self.caches.search_results.clear()
            self.caches.local.clear()
            if self.caches.shared is not None:
                self.caches.shared.clear()
            return total

    def readiness(self) -> dict[str, Any]:
        """What /readyz reports: the store answers, and the index is current with it."""
        last = self.store.changes.last_seq()
        state: dict[str, Any] = {
            "store": "ok",
            "index": {"applied_seq": self.index.applied_seq, "store_seq": last},
            "embedder": self.embedder.model_id,
        }
        if self.keywords is not None:
            state["keyword_index"] = {"applied_seq": self.keywords.applied_seq, "store_seq": last}
        return state


def _switch_points(
    previous: dict[ModelKey, CollectionModels] | None,
    fresh: dict[ModelKey, CollectionModels],
    applied: int,
    target: int,
) -> list[int]:
    """Change numbers at which a collection's active model changes, between `applied` and `target`."""
    if previous is None:
        return []
    points = {
        models.model_seq
        for key, models in fresh.items()
        if applied < models.model_seq <= target
        and previous.get(key, CollectionModels(*key, None)).active != models.active
    }
    return sorted(points)


def _models_as_of(
    previous: dict[ModelKey, CollectionModels] | None, fresh: dict[ModelKey, CollectionModels], applied: int
) -> dict[ModelKey, CollectionModels]:
    """The store's models, except that a switch the index has not reached yet keeps the previous model."""
    if previous is None:
        return fresh
    current = {}
    for key, models in fresh.items():
        if models.model_seq > applied:
            before = previous.get(key, CollectionModels(*key, None))
            models = replace(models, active=before.active, model_seq=before.model_seq)
        current[key] = models
    return current
