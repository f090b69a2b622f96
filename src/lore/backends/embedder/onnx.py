"""all-MiniLM-L6-v2 on ONNX Runtime, matching sentence-transformers: at most 256 tokens, mean pooling over the
attention mask, L2 normalisation, float32.

    >>> embedder = MiniLMEmbedder("int8", cache_dir=settings.embedding.model_cache_dir)
    >>> embedder.embed_query("reset my password").shape
    (384,)

Queries run on a session with one thread (a second thread makes a query many times slower whenever the other core is
busy); bulk embedding runs on its own session with `threads` threads and no spinning, batching texts of similar
length so that little work goes into padding.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Encoding, Tokenizer

from lore.backends.embedder.variants import RECIPE, Variant, source_model_path, variant_path

if TYPE_CHECKING:
    import onnxruntime

TOKENIZER_PATH = Path(__file__).with_name("minilm") / "tokenizer.json"
MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_IDS: dict[Variant, str] = {"fp32": f"{MODEL_NAME}@fp32", "int8": f"{MODEL_NAME}@{RECIPE}"}


class MiniLMEmbedder:
    """The `Embedder` backend for all-MiniLM-L6-v2, in its `fp32` or `int8` variant (see `variants`)."""

    dim = 384
    max_tokens = 256
    # Measured on xquad/en, stackfaq and cranfield: a question's best passage is above 0.2 whenever the passages
    # hold the answer (0.08% of xquad/en below), while 67-88% of QA pairs from different topics fall under it.
    unrelated_below: float | None = 0.2

    def __init__(
        self,
        variant: Variant = "int8",
        *,
        cache_dir: Path,
        threads: int | None = None,
        batch_size: int = 32,
    ) -> None:
        if variant not in MODEL_IDS:
            raise ValueError(f"unknown MiniLM variant {variant!r}; expected one of {sorted(MODEL_IDS)}")
        source_model_path()  # fail now, with a clear message, if the model package is missing
        self.variant: Variant = variant
        self.model_id = MODEL_IDS[variant]
        self.cache_dir = Path(cache_dir)
        self.threads = max(1, threads or os.cpu_count() or 1)
        self.batch_size = max(1, batch_size)
        self._tokenizer = load_tokenizer(truncate_at=self.max_tokens)
        self._counter = load_tokenizer(truncate_at=None)
        self._lock = threading.Lock()
        self._sessions: dict[str, onnxruntime.InferenceSession] = {}

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Bulk embedding: shape (len(texts), 384), in the input order."""
        return self._embed_batches(texts, "bulk")

    def embed_query(self, text: str) -> np.ndarray:
        """One query on the single-threaded session: shape (384,)."""
        return run_model(self._session("query"), [self._tokenizer.encode(text)])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries in batches on the single-threaded session (MiniLM embeds queries as it embeds passages)."""
        return self._embed_batches(texts, "query")

    def _embed_batches(self, texts: Sequence[str], kind: str) -> np.ndarray:
        """Batches of similar lengths (little padding), written back in the input order."""
        out = np.empty((len(texts), self.dim), np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(encoding.ids) for encoding in encodings], kind="stable")
        session = self._session(kind)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = run_model(session, [encodings[i] for i in batch])
        return out

    def coverage(self, text: str) -> float:
        return english_coverage(text)

    def count_tokens(self, text: str) -> int:
        """Tokens including [CLS] and [SEP], before truncation."""
        return len(self._counter.encode(text).ids)

    def _session(self, kind: str) -> onnxruntime.InferenceSession:
        """Sessions are made on first use (building the variant file if needed), once, whatever the threads."""
        if kind == "bulk" and self.threads == 1:
            kind = "query"  # the same options: one session is enough
        session = self._sessions.get(kind)
        if session is None:
            with self._lock:
                session = self._sessions.get(kind)
                if session is None:
                    session = self._sessions[kind] = self._new_session(kind)
        return session

    def _new_session(self, kind: str) -> onnxruntime.InferenceSession:
        threads = 1 if kind == "query" else self.threads
        return new_session(variant_path(self.variant, self.cache_dir), threads)


def load_tokenizer(truncate_at: int | None) -> Tokenizer:
    """The vendored tokenizer, without the fixed 128-token padding and truncation its file declares."""
    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.no_padding()
    if truncate_at is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length=truncate_at)
    return tokenizer


def token_counter() -> Callable[[str], int]:
    """The token counter chunking uses in worker processes: the same tokens as `count_tokens`."""
    tokenizer = load_tokenizer(truncate_at=None)
    return lambda text: len(tokenizer.encode(text).ids)


def session_options(threads: int, *, spinning: bool = False) -> onnxruntime.SessionOptions:
    """Sequential execution on `threads` intra-op threads. Spinning threads burn the other core while they wait
    and lose their time slice when it is busy: off, bulk embedding ran ~35% faster on a loaded machine."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: the optimiser's notes are not the user's business
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


def new_session(path: Path, threads: int, *, spinning: bool = False) -> onnxruntime.InferenceSession:
    import onnxruntime

    options = session_options(threads, spinning=spinning)
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_model(session: onnxruntime.InferenceSession, encodings: Sequence[Encoding]) -> np.ndarray:
    """Embed one batch, padded to its own longest text: (len(encodings), 384), unit length."""
    ids, mask = pad(encodings)
    feed = {"input_ids": ids, "attention_mask": mask}
    if any(node.name == "token_type_ids" for node in session.get_inputs()):
        feed["token_type_ids"] = np.zeros_like(ids)
    hidden = session.run(None, feed)[0]
    return normalize(mean_pool(hidden, mask))


def pad(encodings: Sequence[Encoding]) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask) as int64, right-padded with id 0."""
    width = max(len(encoding.ids) for encoding in encodings)
    ids = np.zeros((len(encodings), width), np.int64)
    mask = np.zeros((len(encodings), width), np.int64)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    return ids, mask


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of the token vectors the mask keeps, as sentence-transformers' `Pooling(mean)`."""
    weights = mask.astype(np.float32)[:, :, None]
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


def normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


_PUNCTUATION = "".join(chr(c) for c in range(0x20, 0x7F) if not chr(c).isalnum())
KNOWN_FLOOR, KNOWN_SPAN = (
    0.35,
    0.30,
)  # fitted on stackfaq, scifact and xquad/de by an earlier study, before leave-one-dataset-out


@lru_cache(maxsize=1)
def _whole_words() -> frozenset[str]:
    return frozenset(token for token in load_tokenizer(None).get_vocab() if token.isalpha())


def english_coverage(text: str) -> float:
    """How well this English-only model understands `text`, from the share of its words (of any script) that are
    whole words of the model's vocabulary: 1 for English, 0 for other languages (measured on the shared sets)."""
    words = [w.strip(_PUNCTUATION).lower() for w in text.split()]
    words = [w for w in words if len(w) > 1 and any(c.isalpha() for c in w)]
    if not words:
        return 1.0
    vocabulary = _whole_words()
    known = sum(word.isascii() and word in vocabulary for word in words) / len(words)
    return min(1.0, max(0.0, (known - KNOWN_FLOOR) / KNOWN_SPAN))
