"""A cross-encoder reranker on ONNX Runtime with one thread: each (query, passage) pair is read by the model
together and scored, which a bi-encoder's cosine cannot do, at the price of one model run per pair.

    >>> reranker = CrossEncoder(Path("model.onnx"), Path("tokenizer.json"))
    >>> reranker.score("reset my password", ["Open Settings, then Security.", "Refunds take five days."])
    array([ 6.1, -9.8], dtype=float32)

No PyPI package ships cross-encoder weights (docs/evaluation.md#reranking says which were checked), and Lore
downloads nothing at run time: the model is whatever ONNX file and `tokenizer.json` the operator points
`LORE_RERANK_MODEL` and `LORE_RERANK_TOKENIZER` at. The model takes BERT's `input_ids`, `attention_mask` and
(if it declares it) `token_type_ids` of the pair, and returns one logit per pair (the first column if more).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from lore.backends.embedder.onnx import new_session
from lore.errors import Unavailable

MAX_TOKENS = 512  # BERT's position limit: a longer pair loses the end of its passage


class CrossEncoder:
    """Scores (query, passage) pairs with an ONNX cross-encoder; thread-safe (one session, one thread)."""

    def __init__(
        self, model: Path, tokenizer: Path, *, max_tokens: int = MAX_TOKENS, batch: int = 16
    ) -> None:
        missing = [name for name, path in (("model", model), ("tokenizer", tokenizer)) if not path.is_file()]
        if missing:  # the server's misconfiguration: its paths are not a client's business
            raise Unavailable(
                f"the reranker's {' and '.join(missing)} file is missing: check LORE_RERANK_MODEL and "
                "LORE_RERANK_TOKENIZER",
                details={"missing": missing},
            )
        self.model_id = f"cross-encoder:{model.stem}"
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens, strategy="only_second")
        self._session = new_session(model, 1)
        self._inputs = {node.name for node in self._session.get_inputs()}
        self._batch = max(1, batch)
        self._lock = threading.Lock()

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """One relevance logit per passage, in their order."""
        out = np.empty(len(passages), np.float32)
        for start in range(0, len(passages), self._batch):
            chunk = passages[start : start + self._batch]
            encodings = self._tokenizer.encode_batch([(query, passage) for passage in chunk])
            width = max(len(encoding.ids) for encoding in encodings)
            feed = {name: np.zeros((len(chunk), width), np.int64) for name in self._inputs}
            for row, encoding in enumerate(encodings):
                size = len(encoding.ids)
                feed["input_ids"][row, :size] = encoding.ids
                feed["attention_mask"][row, :size] = 1
                if "token_type_ids" in feed:
                    feed["token_type_ids"][row, :size] = encoding.type_ids
            with self._lock:
                logits = np.asarray(self._session.run(None, feed)[0], dtype=np.float32)
            out[start : start + len(chunk)] = logits.reshape(len(chunk), -1)[:, 0]
        return out
