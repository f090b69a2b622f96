"""The cross-encoder reranker on a small ONNX model made here (no cross-encoder weights ship in a package): it
scores a (query, passage) pair by how often the passage repeats words of the query, which is enough to check
the pair tokenisation, the session's inputs, batching, and that `rerank: true` reorders a real search."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from tokenizers import Tokenizer, models, pre_tokenizers, processors

from lore.backends.reranker import CrossEncoder
from lore.config import Settings
from lore.core.ingest import CorpusDoc
from lore.core.retrieve import SearchRequest
from lore.errors import InvalidInput, Unavailable
from lore.models import DEFAULT_TENANT
from lore.service import Lore

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "reset", "password", "refund", "days", "settings", "the", "a"]


def write_model(directory: Path) -> tuple[Path, Path]:
    """A tokenizer in BERT's pair layout ([CLS] query [SEP] passage [SEP], passage tokens of type 1) and a
    model whose logit is the sum over passage tokens of a per-word weight: "password" counts most."""
    vocab = {word: i for i, word in enumerate(WORDS)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer_path = directory / "tokenizer.json"
    tokenizer.save(str(tokenizer_path))
    weights = np.zeros(len(WORDS), np.float32)
    weights[vocab["password"]], weights[vocab["reset"]], weights[vocab["refund"]] = 3.0, 1.0, 0.5
    nodes = [
        helper.make_node("Gather", ["weights", "input_ids"], ["per_token"]),
        helper.make_node("Cast", ["token_type_ids"], ["passage"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["kept"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["per_token", "passage"], ["in_passage"]),
        helper.make_node("Mul", ["in_passage", "kept"], ["counted"]),
        helper.make_node("ReduceSum", ["counted", "axes"], ["logits"], keepdims=1),
    ]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    graph = helper.make_graph(
        nodes,
        "pair-scorer",
        inputs,
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])],
        [
            helper.make_tensor("weights", TensorProto.FLOAT, [len(WORDS)], weights.tolist()),
            helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model_path = directory / "cross-encoder.onnx"
    onnx.save(model, str(model_path))
    return model_path, tokenizer_path


def test_pairs_are_scored_by_the_passage_in_their_order_across_batches(tmp_path: Path) -> None:
    model, tokenizer = write_model(tmp_path)
    encoder = CrossEncoder(model, tokenizer, batch=2)
    passages = ["the refund days", "reset the password", "password password", "a", "settings"]
    scores = encoder.score("password", passages)
    assert scores.tolist() == [0.5, 4.0, 6.0, 0.0, 0.0]  # the query's own tokens (type 0) never count
    assert encoder.score("password", []).shape == (0,)


def test_missing_model_files_make_the_reranker_unavailable_without_naming_their_paths(tmp_path: Path) -> None:
    model, _ = write_model(tmp_path)
    with pytest.raises(Unavailable) as raised:
        CrossEncoder(model, tmp_path / "absent.json")
    assert raised.value.details["missing"] == ["tokenizer"] and str(tmp_path) not in raised.value.message


def test_a_reranked_search_orders_the_fused_hits_by_the_cross_encoder(
    settings: Settings, tmp_path: Path
) -> None:
    model, tokenizer = write_model(tmp_path)
    configured = settings.updated(rerank_model=model, rerank_tokenizer=tokenizer, rerank_depth=3)
    with Lore.open(configured) as lore:
        lore.add_corpus(
            [
                CorpusDoc("d1", "Refunds", "A refund takes five days after the return arrives."),
                CorpusDoc("d2", "Account", "Open settings to reset the password of the account."),
                CorpusDoc("d3", "Account", "A password password reset: settings, security, password."),
            ]
        )
        request = SearchRequest(DEFAULT_TENANT, "refund days", k=3)
        fused = lore.search(request)
        reranked = lore.search(replace(request, rerank=True, k=2))
    assert fused[0].chunk.metadata["record_id"] == "d1"
    assert [hit.chunk.metadata["record_id"] for hit in reranked] == ["d3", "d2"]
    assert (
        reranked[0].score == 10.0
    )  # three "password" and a "reset" and reranked[0].keyword_score is not None


def test_reranking_without_a_model_is_refused(lore: Lore) -> None:
    with pytest.raises(InvalidInput, match="LORE_RERANK_MODEL"):
        lore.search(SearchRequest(DEFAULT_TENANT, "anything", rerank=True))
