"""`Lore`: the service the CLI and the API call alike. It owns the lifecycle of the parts it is built from and
delegates each call to the part that owns the state: ingestion, the model directory, index sync, the search
cache, the retriever, the recorder of the server's events and the recommenders."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from lore.backends.cache import Caches, open_caches
from lore.backends.store.access_records import no_document
from lore.backends.store.database import Database
from lore.backends.store.documents import named_collections
from lore.bus import BusEvent, EventBus
from lore.caching import CacheStats
from lore.config import Settings
from lore.core import ingest, reembedding
from lore.core.bm25 import KeywordIndex
from lore.core.ingest import CorpusDoc
from lore.core.probes import Probes
from lore.core.rerank import PairScorer, rerank
from lore.core.retrieve import Retriever, SearchRequest
from lore.errors import InvalidInput
from lore.intelligence.events import EventRecorder
from lore.intelligence.recommend.serving import Recommendations
from lore.interfaces import Embedder, VectorIndex
from lore.models import (
    DEFAULT_COLLECTION,
    DEFAULT_TENANT,
    OPERATOR,
    Access,
    Author,
    CollectionInfo,
    Document,
    Hit,
    Page,
    Readers,
)
from lore.names import check_name, no_collection
from lore.registry import (
    create_embedder,
    create_embedder_for,
    create_store,
    create_vector_index,
    token_counter_factory,
)
from lore.service.embedding_models import ModelDirectory
from lore.service.index_sync import IndexSync
from lore.service.ingestion import Added, Destination, Ingestion
from lore.service.query_adapters import QueryAdapters, QuerySpaces
from lore.service.readiness import Check, Component, probe_all
from lore.service.search_cache import SearchCache
from lore.service.visibility import Visibility
from lore.webhooks import Webhooks


class Lore:
    """Documents in, hits out: `Lore.open(settings)` builds every part from settings through the registry.

    >>> with Lore.open() as lore:
    ...     lore.add_text(title="Refunds", text="Refunds take 5 business days.")
    ...     lore.search(SearchRequest(DEFAULT_TENANT, "how long do refunds take"))
    """

    def __init__(
        self,
        settings: Settings,
        store: Database,
        index: VectorIndex,
        embedder: Embedder,
        caches: Caches | None = None,
    ) -> None:
        caches = caches or open_caches(settings)
        self.settings = settings
        self.probes = Probes()  # timings of searches, embeddings and jobs, for whoever attaches (the API)
        self.bus = EventBus()  # what happened (a document indexed, a job failed), for webhooks
        self.store = store
        self.index = index
        self.models = ModelDirectory(
            settings,
            embedder,
            store.reembedding,
            store.vectors,
            caches.query_vectors,
            create_embedder_for,
            self.probes,
        )
        self.cache = SearchCache(caches, self.models, settings.caches.chunk_cache_size)
        self.adapters = QueryAdapters(store.trained_models, settings.intelligence.adapter_refresh_seconds)
        keywords = KeywordIndex() if settings.index.keyword_index == "memory" else None
        self.index_sync = IndexSync(
            store.changes,
            store.vectors,
            store.documents,
            index,
            keywords,
            self.models,
            self.cache,
            check_seconds=settings.index.index_sync_seconds,
            inline_changes=settings.index.inline_catch_up_changes,
        )
        visibility = Visibility(store.access)
        self.retriever = Retriever(
            store.documents,
            store.keywords,
            index,
            QuerySpaces(self.models, self.adapters),
            visibility,
            keywords,
            self.cache.chunks,
            self.probes,
        )
        self.recommendations = Recommendations(store, visibility, self.models, settings)
        self._reranker: PairScorer | None = None
        recording = settings.intelligence
        self.events = EventRecorder(
            store.events,
            enabled=recording.record_searches,
            flush_seconds=recording.event_flush_seconds,
            flush_events=recording.event_flush_events,
            capacity=recording.event_buffer_events,
        )
        writer = ingest.Writer(store.documents, store.vectors, store.reembedding, self.models)
        self.ingestion = Ingestion(
            settings,
            store.documents,
            writer,
            self.models,
            self.index_sync,
            token_counter_factory(settings),
            self.bus,
        )
        self.webhooks = Webhooks.on_bus(store, settings, self.bus)

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
        self.events.close()  # what is still buffered is written before the store closes
        self.webhooks.deliveries.close()
        self.ingestion.close()
        self.index_sync.close()
        self.index.save()
        self.index.close()
        self.store.close()
        self.cache.close()

    def __enter__(self) -> Lore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def embedder(self) -> Embedder:
        """The configured embedder: collections without a recorded model use it."""
        return self.models.default

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
        return self.ingestion.paths(
            paths, tenant_id=tenant_id, collection=collection, tags=tags, sync=sync, on_progress=on_progress
        )

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
        author: Author = OPERATOR,
        access: Access | None = None,
    ) -> Document:
        """Index a document given as text (Markdown structure is honoured). Same source: replaced, if `author`
        owns the stored document or is an admin (else `SourceTaken`); `access` None keeps its readers."""
        to = Destination(tenant_id, collection, tags, metadata, author, access)
        return self.ingestion.text(title, text, source, to)

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
        author: Author = OPERATOR,
        access: Access | None = None,
    ) -> Added:
        """Index an uploaded file of any supported format (`source` defaults to `upload:<filename>`); the same
        content with the same metadata as the stored document of that source is not written again, and
        otherwise an existing source is replaced as by `add_text`."""
        to = Destination(tenant_id, collection, tags, metadata, author, access)
        return self.ingestion.upload(data, filename, content_type, source, to)

    def add_corpus(
        self,
        docs: Iterable[CorpusDoc],
        *,
        tenant_id: str = DEFAULT_TENANT,
        collection: str = DEFAULT_COLLECTION,
        on_progress: Callable[[int], None] | None = None,
    ) -> ingest.IngestReport:
        """Bulk-index plain (id, title, text) records, as data sets and benchmarks provide them."""
        return self.ingestion.corpus(
            docs, tenant_id=tenant_id, collection=collection, on_progress=on_progress
        )

    def get_document(
        self,
        document_id: str,
        *,
        tenant_id: str = DEFAULT_TENANT,
        with_text: bool = True,
        readers: Readers = None,
    ) -> Document:
        """`NotFound` also when `readers` may not read it."""
        found = self.store.documents.get_document(
            tenant_id, document_id, with_text=with_text, readers=readers
        )
        if found is None:
            raise no_document(document_id)
        return found

    def list_documents(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT,
        collections: Sequence[str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        readers: Readers = None,
    ) -> Page[Document]:
        """Newest first, of `collections` (None: all), only those `readers` may read."""
        return self.store.documents.list_documents(tenant_id, collections, limit, cursor, readers)

    def delete_document(
        self, document_id: str, *, tenant_id: str = DEFAULT_TENANT, readers: Readers = None
    ) -> None:
        """`NotFound` also when `readers` may not read it."""
        document = self.store.documents.get_document(tenant_id, document_id, readers=readers)
        if document is None or not self.store.documents.delete_document(tenant_id, document_id, readers):
            raise no_document(document_id)
        self.index_sync.after_write(save=False)
        data = {"document_id": document.id, "source": document.source, "title": document.title}
        self.bus.publish(BusEvent("document.deleted", tenant_id, data, collection=document.collection))

    def document_access(
        self, document_id: str, *, tenant_id: str = DEFAULT_TENANT, readers: Readers = None
    ) -> Access:
        return self.store.access.access_of(tenant_id, document_id, readers)

    def set_document_access(
        self, document_id: str, access: Access, *, tenant_id: str = DEFAULT_TENANT, author: Author = OPERATOR
    ) -> Access:
        """Who may read the document from now on, for every search at once (their cache keys change with
        it); `author` must be able to read it."""
        return self.store.access.set_access(tenant_id, document_id, access, author)

    # -- collections ------------------------------------------------------------------------------------------

    def list_collections(
        self, *, tenant_id: str = DEFAULT_TENANT, readers: Readers = None
    ) -> list[CollectionInfo]:
        """Name order, with counts of what `readers` may read."""
        return self.store.documents.list_collections(tenant_id, readers)

    def get_collection(
        self, collection: str, *, tenant_id: str = DEFAULT_TENANT, readers: Readers = None
    ) -> CollectionInfo:
        (found,) = named_collections(
            self.list_collections(tenant_id=tenant_id, readers=readers), [collection]
        )
        return found

    def delete_collection(self, collection: str, *, tenant_id: str = DEFAULT_TENANT) -> int:
        """The collection and every document in it, in one transaction; how many documents went."""
        check_name("collection", collection)
        deleted = self.store.documents.delete_collection(tenant_id, collection)
        if deleted is None:
            raise no_collection(collection, [c.name for c in self.list_collections(tenant_id=tenant_id)])
        self.index_sync.after_write(save=True)
        return deleted

    # -- search -----------------------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> list[Hit]:
        """Hits of the tenant's collections, from the cache while nothing they hold has changed; with
        `rerank`, the top `rerank_depth` fused hits reordered by the cross-encoder."""
        if not 1 <= request.k <= self.settings.serving.max_k:
            raise InvalidInput(
                f"k must be between 1 and {self.settings.serving.max_k}", details={"k": request.k}
            )
        if request.rerank:
            scorer = self.reranker()
            depth = min(max(request.k, self.settings.serving.rerank_depth), self.settings.serving.max_k)
            fused = self.search(replace(request, k=depth, rerank=False))
            return rerank(request.query, fused, scorer, request.k)
        if not request.query.strip():
            raise InvalidInput("query must not be empty")
        for collection in request.collections or ():
            check_name("collection", collection)
        self.index_sync.sync_if_due()
        versions = self.cache.versions(request)
        if max(versions) > self.index_sync.applied_seq:
            # Another replica wrote: catch up before answering, whatever the throttle says (in a server only
            # when that is cheap; otherwise the answer comes from what is applied, and is not cached).
            self.index_sync.catch_up_to(max(versions))
        hidden = self.retriever.hidden(request)
        plan = self.retriever.plan(request)
        key = self.cache.key(request, plan, versions, hidden)
        hits = self.cache.get(key)
        if hits is None:
            hits = self.retriever.search(request, hidden, plan)
            if self.index_sync.applied_seq >= max(versions):
                self.cache.put(key, hits, hidden)
        return hits

    def reranker(self) -> PairScorer:
        """The cross-encoder of `rerank_model`, loaded on first use; refused when none is configured."""
        serving = self.settings.serving
        if self._reranker is None:
            if serving.rerank_model is None or serving.rerank_tokenizer is None:
                raise InvalidInput(
                    "reranking is not configured on this server: set LORE_RERANK_MODEL and "
                    "LORE_RERANK_TOKENIZER to an ONNX cross-encoder and its tokenizer.json",
                    details={"rerank": True},
                )
            from lore.backends.reranker import CrossEncoder

            self._reranker = CrossEncoder(serving.rerank_model, serving.rerank_tokenizer)
        return self._reranker

    def nearest(self, request: SearchRequest, model: str, vector: np.ndarray) -> list[Hit]:
        """The readable chunks nearest a vector of `model` (not a query's text): uncached, since such vectors
        (centroids of questions) are rarely asked for twice."""
        self.index_sync.sync_if_due()
        return self.retriever.nearest(request, model, vector)

    def cache_stats(self) -> dict[str, CacheStats]:
        """Every cache by name, for /metrics."""
        return self.cache.stats()

    # -- embedding models and the derived indexes -------------------------------------------------------------

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
        named_collections(self.store.documents.list_collections(tenant_id), [collection])
        embedder = self.models.embedder_for(model)
        self.sync_index()
        report = reembedding.run(
            self.store.reembedding,
            embedder,
            tenant_id,
            collection,
            self.models.serving(tenant_id, collection).active,
            on_progress=on_progress,
            after_batch=self.sync_index,
            batch_size=batch_size,
        )
        self.index_sync.after_write(save=True)
        return report

    def sync_index(self) -> int:
        """Replay store changes (also those of other processes) into this process's indexes."""
        return self.index_sync.sync()

    def rebuild_index(self) -> int:
        """Rebuild the derived indexes from the store; returns the number of vectors."""
        self.adapters.clear()  # a restored store may hold other adapters
        return self.index_sync.rebuild()

    def readiness(self) -> dict[str, Component]:
        """What /readyz reports of this process's parts: the store answers, the indexes are current with it,
        and Redis answers when the caches live there; each with its status and latency."""
        checks: dict[str, Check] = {
            "store": self._store_state,
            "keyword_index": self._stored_keywords_state,  # replaced by the in-memory index's when there is one
            **self.index_sync.checks(),
        }
        vector_state = checks["vector_index"]
        checks["vector_index"] = lambda: {**vector_state(), "embedder": self.embedder.model_id}
        if self.cache.caches.ping is not None:
            checks["redis"] = self.cache.caches.ping
        return probe_all(checks)

    def _store_state(self) -> dict[str, Any]:
        return {"backend": self.store.engine.dialect.name, "store_seq": self.store.changes.last_seq()}

    def _stored_keywords_state(self) -> dict[str, Any]:
        """The store's own keyword index answers a query (FTS5, or PostgreSQL's full text)."""
        self.store.keywords.keyword_search(DEFAULT_TENANT, "readiness", 1)
        return {"backend": self.store.engine.dialect.name}
