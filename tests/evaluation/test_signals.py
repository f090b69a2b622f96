"""Signal variants of candidate pools: each changes one signal of a real ingested set and nothing else."""

import json
from pathlib import Path

import numpy as np

from lore.evaluation import signals
from lore.models import Chunk


def write_titled_set(root: Path) -> Path:
    """The word "ferry" is only in d1's title; "boats" only in its text."""
    (root / "qrels").mkdir(parents=True)
    docs = [
        {"_id": "d1", "title": "Ferry timetable", "text": "Boats leave the harbour at nine every morning."},
        {"_id": "d2", "title": "Refunds", "text": "Refunds are paid back within five business days."},
    ]
    queries = [{"_id": "q1", "text": "ferry"}, {"_id": "q2", "text": "boats"}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td1\t1\n")
    return root


def test_the_bare_keyword_variant_no_longer_reads_titles_and_the_others_keep_the_keyword_side(
    tmp_path: Path,
) -> None:
    variants = signals.load(write_titled_set(tmp_path / "titled"), tmp_path / "cache", 10)
    assert set(variants) == {"shipped", *signals.VARIANTS}
    by_id = {variant: {p.id: p for p in found} for variant, found in variants.items()}
    assert by_id["shipped"]["q1"].keyword.max() > 0  # the title matches
    assert by_id["keyword-bare"]["q1"].keyword.max() == 0  # not any more
    assert by_id["keyword-bare"]["q2"].keyword.max() > 0  # the text still does
    for variant in ("vector-exact", "vector-neighbours"):
        for query in ("q1", "q2"):
            shipped, changed = by_id["shipped"][query], by_id[variant][query]
            assert dict(zip(changed.chunks, changed.keyword, strict=True)) == dict(
                zip(shipped.chunks, shipped.keyword, strict=True)
            )
    # single-chunk documents have no neighbours: their vectors, and so the cosines, stay as they were
    exact, near = by_id["vector-exact"]["q2"], by_id["vector-neighbours"]["q2"]
    assert np.allclose(exact.vector, near.vector, atol=1e-5)
    again = signals.load(tmp_path / "titled", tmp_path / "cache", 10)  # from the cache
    assert [p.id for p in again["keyword-bare"]] == [p.id for p in variants["keyword-bare"]]


def chunk(cid: int, document: str, position: int) -> Chunk:
    return Chunk(cid, document, "t", "c", position, "text", [], 1, "h", "", "", [], {})


def test_a_chunk_is_blended_with_the_chunks_before_and_after_it_in_its_own_document() -> None:
    chunks = {1: chunk(1, "a", 0), 2: chunk(2, "a", 1), 3: chunk(3, "a", 2), 4: chunk(4, "b", 0)}
    ids = np.array([1, 2, 3, 4])
    vectors = np.eye(4, dtype=np.float32)
    out = signals.blended(chunks, ids, vectors, 0.5)
    assert np.allclose(out[0], [1, 0.5, 0, 0])  # the first chunk has one neighbour
    assert np.allclose(out[1], [0.25, 1, 0.25, 0])  # the middle one, two
    assert np.allclose(out[3], [0, 0, 0, 1])  # a document of one chunk is unchanged
    assert signals.multi_chunk_documents(chunks) == 1


def test_the_exact_index_ranks_by_cosine_and_returns_the_vectors_it_searches() -> None:
    index = signals.ExactIndex(np.array([7, 8]), np.array([[3.0, 0.0], [1.0, 1.0]], dtype=np.float32))
    found = index.search(["p"], np.array([0.0, 2.0]), 2)
    assert [hit.chunk_id for hit in found] == [8, 7]
    assert np.isclose(found[0].score, 2**-0.5) and np.isclose(found[1].score, 0.0)
    assert index.vectors(["p"], [7, 9]).ids.tolist() == [7]
    assert np.allclose(index.vectors(["p"], [7]).vectors, [[1.0, 0.0]])
