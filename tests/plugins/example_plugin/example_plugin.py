"""An example Lore plug-in: a hashing embedder, a provider quoting the best passage, and a job kind."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lore.answers import AnswerRequest, Completion, Provider, TextDelta
from lore.config import Settings
from lore.jobs import Kind, ReportProgress
from lore.registry import EmbedderPlugin

if TYPE_CHECKING:
    from lore.service import Lore

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _bucket(word: str, buckets: int) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest()) % buckets


class HashingEmbedder:
    """Bag of words hashed into 384 dimensions (what the usearch index holds): texts sharing words are near."""

    model_id = "example-hashing@384"
    dim = 384
    max_tokens = 256
    unrelated_below: float | None = None

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for word in _words(text):
                out[row, _bucket(word, self.dim)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_documents(texts)

    def coverage(self, text: str) -> float:
        return 1.0

    def count_tokens(self, text: str) -> int:
        return len(_words(text))


def create_embedder(settings: Settings) -> HashingEmbedder:
    return HashingEmbedder()


def token_counter() -> Callable[[str], int]:
    """Module-level, so that worker processes can unpickle it."""
    return HashingEmbedder().count_tokens


embedder = EmbedderPlugin(create_embedder, token_counter, {HashingEmbedder.model_id: {}})


class QuoteProvider:
    """Answers with the first sentence of the best passage, cited."""

    name = "example"
    model = "quote-1"

    def stream(self, request: AnswerRequest) -> Iterator[TextDelta | Completion]:
        text = request.passages[0].chunk.text.split(". ")[0].rstrip(".") + ". [1]" if request.passages else ""
        yield TextDelta(text)
        yield Completion(text, self.model, prompt_tokens=0, completion_tokens=len(_words(text)))


def create_provider(settings: Settings) -> Provider:
    return QuoteProvider()


def _count_words(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    texts = params["texts"]
    for done, _text in enumerate(texts, 1):
        progress(done, len(texts))
    return {"words": sum(len(_words(text)) for text in texts)}


count_words = Kind(_count_words)
