"""What an intent model reads: the text's sentence embedding next to TF-IDF word (1-2) and character (2-5,
within word boundaries) n-grams.

The n-grams are hashed (no vocabulary of strings to store) and only the buckets seen in at least `min_df`
training texts are kept, so a model carries two small integer arrays and their idf weights. Each block is
L2-normalised on its own and the embedding block is weighted, so one linear model sees all three at chosen
scales.

    >>> grams = HashedTfidf.fit(["where is my card", "my card is lost"])
    >>> grams.transform(["my card"]).shape[0]
    1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import HashingVectorizer

BUCKETS = 1 << 20
WORD_GRAMS = (1, 2)
CHAR_GRAMS = (2, 5)


def _vectorizers() -> tuple[HashingVectorizer, HashingVectorizer]:
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"n_features": BUCKETS, "alternate_sign": False, "norm": None, "dtype": np.float32}
    words = HashingVectorizer(analyzer="word", ngram_range=WORD_GRAMS, **common)
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=CHAR_GRAMS, **common)
    return words, chars


@dataclass(frozen=True, slots=True)
class Block:
    """One analyzer's kept buckets (sorted) and their smoothed idf."""

    buckets: np.ndarray  # int32
    idf: np.ndarray  # float32

    def transform(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear tf times idf over the kept buckets, each row L2-normalised."""
        from sklearn.preprocessing import normalize

        kept = counts[:, self.buckets].tocsr()
        kept.data = (1.0 + np.log(kept.data)).astype(np.float32)
        return normalize(kept.multiply(self.idf).tocsr(), copy=False)


@dataclass(frozen=True, slots=True)
class HashedTfidf:
    """TF-IDF over hashed word and character n-grams, fitted on a training set."""

    words: Block
    chars: Block

    @classmethod
    def fit(cls, texts: Sequence[str], min_df: int = 2) -> HashedTfidf:
        words, chars = _vectorizers()
        return cls(_fit_block(words.transform(texts), min_df), _fit_block(chars.transform(texts), min_df))

    @property
    def width(self) -> int:
        return len(self.words.buckets) + len(self.chars.buckets)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        import scipy.sparse as sp

        words, chars = _vectorizers()
        blocks = [self.words.transform(words.transform(texts)), self.chars.transform(chars.transform(texts))]
        return sp.hstack(blocks, format="csr", dtype=np.float32)


def _fit_block(counts: sp.csr_matrix, min_df: int) -> Block:
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    buckets = np.flatnonzero(df >= min(min_df, n)).astype(np.int32)
    idf = (np.log((1.0 + n) / (1.0 + df[buckets])) + 1.0).astype(np.float32)
    return Block(buckets, idf)


def combine(grams: sp.csr_matrix, vectors: np.ndarray, embedding_weight: float) -> sp.csr_matrix:
    """The n-gram block beside the (unit-length) embeddings scaled by `embedding_weight`: one feature matrix."""
    import scipy.sparse as sp

    dense = sp.csr_matrix(np.asarray(vectors, dtype=np.float32) * np.float32(embedding_weight))
    return sp.hstack([grams, dense], format="csr", dtype=np.float32)
