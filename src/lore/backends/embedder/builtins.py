"""The built-in embedders, registered through the same call a third party uses; `lore.registry` imports this
module at the first lookup of an embedder, so opening the store alone loads no tokenizer or runtime."""

from __future__ import annotations

from lore.backends.embedder import e5, onnx
from lore.backends.embedder.choice import resolve_variant
from lore.config import Settings
from lore.interfaces import Embedder
from lore.registry import EmbedderPlugin, embedders


def _minilm(settings: Settings) -> Embedder:
    return onnx.MiniLMEmbedder(
        variant=resolve_variant(settings.embedding.embedding_variant),
        cache_dir=settings.embedding.model_cache_dir,
        threads=settings.embedding.embed_threads,
        batch_size=settings.embedding.embed_batch_size,
    )


def _e5(settings: Settings) -> Embedder:
    return e5.E5Embedder(
        threads=settings.embedding.embed_threads, batch_size=settings.embedding.embed_batch_size
    )


embedders.add(
    "minilm",
    EmbedderPlugin(
        _minilm,
        onnx.token_counter,
        {model_id: {"embedding_variant": variant} for variant, model_id in onnx.MODEL_IDS.items()},
    ),
)
embedders.add("e5", EmbedderPlugin(_e5, e5.token_counter, {e5.MODEL_ID: {}}))
