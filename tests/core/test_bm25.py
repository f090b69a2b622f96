"""The in-memory BM25 index, derived from a real SQLite store through its change sequence."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from lore.backends.store.sqlite import SqliteDatabase
from lore.core.bm25 import KeywordIndex, query_stems, stem
from lore.models import Chunk, ChunkDraft, Document, DocumentDraft, SearchFilters, content_hash

MODEL = "test-model@f32"
T1, T2 = "tenant-a", "tenant-b"
C1, C2 = "handbook", "faq"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteDatabase]:
    instance = SqliteDatabase.from_path(tmp_path / "lore.db")
    instance.migrate()
    yield instance
    instance.close()


def vector_for(text: str) -> np.ndarray:
    rng = np.random.default_rng(int(content_hash(text)[:8], 16))
    vector = rng.standard_normal(8).astype(np.float32)
    return vector / np.linalg.norm(vector)


def write(
    store: SqliteDatabase,
    *texts: str,
    tenant: str = T1,
    collection: str = C1,
    source: str = "guide.md",
    title: str = "Guide",
) -> Document:
    chunks = [ChunkDraft(i, text, (), len(text.split()), f"{title}\n{text}") for i, text in enumerate(texts)]
    body = "\n\n".join(texts)
    draft = DocumentDraft(tenant, collection, title, source, body, content_hash(body))
    vectors = {chunk.content_hash: vector_for(chunk.embed_text) for chunk in chunks}
    return store.documents.write_document(draft, chunks, vectors, MODEL)


def chunk_ids(store: SqliteDatabase, tenant: str, document: Document) -> list[int]:
    return sorted(store.documents.filter_chunk_ids(tenant, None, SearchFilters(document_ids=(document.id,))))


def ids(hits: Sequence[tuple[int, float]]) -> list[int]:
    return [chunk_id for chunk_id, _ in hits]


def assert_same_hits(actual: Sequence[tuple[int, float]], expected: Sequence[tuple[int, float]]) -> None:
    assert ids(actual) == ids(expected)
    assert [score for _, score in actual] == pytest.approx([score for _, score in expected], rel=1e-5)


def loaded(store: SqliteDatabase) -> KeywordIndex:
    index = KeywordIndex()
    index.load(store.changes, store.documents)
    return index


# -- stemming ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "root"),
    [("refunds", "refund"), ("refunded", "refund"), ("refunding", "refund"), ("policies", "policy")],
)
def test_stemmer_joins_word_forms(word: str, root: str) -> None:
    assert stem(word) == stem(root)


@pytest.mark.parametrize("term", ["was", "重置", "covid19", "größe", "пароли"])
def test_stemmer_leaves_short_non_ascii_and_mixed_terms_alone(term: str) -> None:
    assert stem(term) == term


def test_query_terms_are_distinct_after_stemming() -> None:
    assert query_stems("refund refunds refunded") == [stem("refund")]


# -- ranking -------------------------------------------------------------------------------------------------


def test_top_hit_agrees_with_fts5(store: SqliteDatabase) -> None:
    write(store, "How to request a refund for a cancelled order.", source="refunds.md", title="Refunds")
    write(store, "Reset your password from the login page.", source="password.md", title="Passwords")
    write(store, "Shipping takes three to five business days.", source="shipping.md", title="Shipping")
    write(store, "Invoices are emailed monthly with the order total.", source="billing.md", title="Billing")
    write(store, "Two-factor authentication protects the login.", source="security.md", title="Security")
    index = loaded(store)
    for query in [
        "refund order",
        "reset password",
        "shipping days",
        "monthly invoices",
        "login authentication",
    ]:
        expected = store.keywords.keyword_search(T1, query, k=1)
        assert ids(index.search(T1, query, 1))[:1] == ids(expected), query


def test_scores_follow_okapi_bm25(store: SqliteDatabase) -> None:
    # Title "T" adds the term "t" to each chunk: lengths 3, 5 and 2.
    first, second, _ = (
        write(store, text, source=f"{i}.md", title="T")
        for i, text in enumerate(["apple banana", "apple apple cherry date", "cherry"])
    )
    index = loaded(store)
    n, avgdl = 3, 10 / 3

    def term_score(tf: int, df: int, length: int) -> float:
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / avgdl))

    hits = dict(index.search(T1, "apple banana", 10))
    [first_id], [second_id] = chunk_ids(store, T1, first), chunk_ids(store, T1, second)
    assert set(hits) == {first_id, second_id}
    assert hits[first_id] == pytest.approx(term_score(1, 2, 3) + term_score(1, 1, 3), rel=1e-5)
    assert hits[second_id] == pytest.approx(term_score(2, 2, 5), rel=1e-5)
    assert ids(index.search(T1, "apple banana", 10)) == [first_id, second_id]


def test_k_limits_hits_best_first(store: SqliteDatabase) -> None:
    for i in range(12):
        write(store, "refund " * (i + 1) + "policy text", source=f"{i}.md")
    hits = loaded(store).search(T1, "refund", 5)
    assert len(hits) == 5
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
    assert ids(hits) == ids(store.keywords.keyword_search(T1, "refund", k=5))


def test_stemming_matches_plural_and_singular(store: SqliteDatabase) -> None:
    plural = write(store, "All refunds are processed within a week.", source="a.md")
    singular = write(store, "Ask support for a refund.", source="b.md")
    write(store, "Unrelated shipping text.", source="c.md")
    index = loaded(store)
    expected = set(chunk_ids(store, T1, plural) + chunk_ids(store, T1, singular))
    assert set(ids(index.search(T1, "refund", 10))) == expected
    assert set(ids(index.search(T1, "refunds", 10))) == expected


def test_cjk_bigram_query(store: SqliteDatabase) -> None:
    chinese = write(store, "如何重置密码", source="zh.md", title="帮助")
    write(store, "How to reset the password", source="en.md")
    index = loaded(store)
    assert ids(index.search(T1, "重置密码", 10)) == chunk_ids(store, T1, chinese)


@pytest.mark.parametrize("query", ["", "   ", "?!", "重"])
def test_queries_without_matching_terms_find_nothing(store: SqliteDatabase, query: str) -> None:
    write(store, "Reset your password.")
    assert loaded(store).search(T1, query, 10) == []


def test_stop_word_only_query_behaves_like_fts5(store: SqliteDatabase) -> None:
    """`query_terms` keeps stop words when nothing else is left; both indexes then match them alike."""
    write(store, "The password of the account.", source="a.md")
    write(store, "Password reset steps.", source="b.md")
    index = loaded(store)
    assert ids(index.search(T1, "the", 10)) == ids(store.keywords.keyword_search(T1, "the", k=10))
    assert index.search(T1, "whom", 10) == []


# -- tenants and collections ---------------------------------------------------------------------------------


def test_tenants_are_isolated(store: SqliteDatabase) -> None:
    mine = write(store, "Reset your password.", tenant=T1)
    theirs = write(store, "Reset your password.", tenant=T2)
    write(store, "Other tenant text about shipping.", tenant=T2, source="other.md")
    index = loaded(store)
    assert ids(index.search(T1, "password", 10)) == chunk_ids(store, T1, mine)
    assert ids(index.search(T2, "password", 10)) == chunk_ids(store, T2, theirs)
    assert index.search("nobody", "password", 10) == []
    assert (index.count(T1), index.count(T2), index.count("nobody")) == (1, 2, 0)
    assert index.keyword_scores(T1, "password", chunk_ids(store, T2, theirs)) == {}


def test_collections_filter(store: SqliteDatabase) -> None:
    handbook = write(store, "Refund policy details.", collection=C1)
    faq = write(store, "Refund questions answered.", collection=C2)
    index = loaded(store)
    assert ids(index.search(T1, "refund", 10, [C1])) == chunk_ids(store, T1, handbook)
    assert ids(index.search(T1, "refund", 10, [C2])) == chunk_ids(store, T1, faq)
    assert len(index.search(T1, "refund", 10, [C1, C2])) == 2
    assert len(index.search(T1, "refund", 10, None)) == 2
    assert index.search(T1, "refund", 10, ["missing"]) == []


# -- the change log ------------------------------------------------------------------------------------------


def test_catch_up_applies_replacement_and_removal(store: SqliteDatabase) -> None:
    index = KeywordIndex()
    old = write(store, "Refunds take five days.", source="refunds.md")
    assert index.catch_up(store.changes, store.documents) == 1
    old_ids = chunk_ids(store, T1, old)
    assert ids(index.search(T1, "refund", 10)) == old_ids

    new = write(store, "Returns take ten days.", "Refunds are instant.", source="refunds.md")
    assert index.catch_up(store.changes, store.documents) > 0
    new_ids = chunk_ids(store, T1, new)
    assert set(new_ids).isdisjoint(old_ids)
    assert ids(index.search(T1, "refund", 10)) == [new_ids[1]]
    assert ids(index.search(T1, "five", 10)) == []
    assert index.count(T1) == 2

    store.documents.delete_document(T1, new.id)
    index.catch_up(store.changes, store.documents)
    assert index.search(T1, "refund", 10) == []
    assert index.count(T1) == 0
    assert index.applied_seq == store.changes.last_seq()
    assert index.catch_up(store.changes, store.documents) == 0


def test_removed_chunks_leave_the_statistics(store: SqliteDatabase) -> None:
    """After removals (and the compaction they trigger) scores equal those of an index built fresh."""
    documents = [write(store, f"refund case {i} " + "filler " * i, source=f"{i}.md") for i in range(8)]
    index = loaded(store)
    for document in documents[:5]:
        store.documents.delete_document(T1, document.id)
    index.catch_up(store.changes, store.documents)
    fresh = loaded(store)
    assert_same_hits(index.search(T1, "refund filler", 10), fresh.search(T1, "refund filler", 10))
    assert index.count(T1) == fresh.count(T1) == 3


def test_removal_without_compaction_excludes_dead_chunks(store: SqliteDatabase) -> None:
    documents = [write(store, f"refund case {i}", source=f"{i}.md") for i in range(10)]
    index = loaded(store)
    [removed_id] = chunk_ids(store, T1, documents[0])
    store.documents.delete_document(T1, documents[0].id)
    index.catch_up(store.changes, store.documents)
    fresh = loaded(store)
    assert_same_hits(index.search(T1, "refund", 20), fresh.search(T1, "refund", 20))
    assert removed_id not in ids(index.search(T1, "refund", 20))
    assert index.keyword_scores(T1, "refund", [removed_id]) == {}


def test_add_and_remove_in_one_batch_nets_out(store: SqliteDatabase) -> None:
    write(store, "Refunds take five days.", source="refunds.md")
    new = write(store, "Returns are free.", source="refunds.md")
    index = loaded(store)
    assert index.search(T1, "refund", 10) == []
    assert ids(index.search(T1, "returns", 10)) == chunk_ids(store, T1, new)
    assert index.count(T1) == 1


def test_replaying_adds_twice_is_harmless(store: SqliteDatabase) -> None:
    write(store, "Refunds take five days.")
    index = loaded(store)
    index.mark_applied(0)
    index.catch_up(store.changes, store.documents)
    assert index.count(T1) == 1


# -- scores --------------------------------------------------------------------------------------------------


def test_scores_for_given_ids(store: SqliteDatabase) -> None:
    refund = write(store, "Refund policy.", source="a.md")
    other = write(store, "Shipping policy.", source="b.md")
    write(store, "Refund requests.", source="c.md")
    index = loaded(store)
    [refund_id], [other_id] = chunk_ids(store, T1, refund), chunk_ids(store, T1, other)
    searched = dict(index.search(T1, "refund", 10))
    assert index.keyword_scores(T1, "refund", [refund_id, other_id, 999_999]) == {
        refund_id: searched[refund_id]
    }
    assert index.keyword_scores(T1, "refund", []) == {}
    assert index.keyword_scores(T1, "", [refund_id]) == {}


def test_excluded_chunks_are_passed_over_before_the_top_k(store: SqliteDatabase) -> None:
    """Excluding the best matches leaves the next ones, k of them, with the scores they had: the exclusion is
    a filter on the candidates, not a cut of the results."""
    for i in range(6):
        write(store, "refund " * (6 - i) + "order", source=f"{i}.md", title=f"Doc {i}")
    index = loaded(store)
    everything = index.search(T1, "refund", 6)
    excluded = {chunk_id for chunk_id, _ in everything[:2]}
    found = index.search(T1, "refund", 3, excluded=excluded)
    assert_same_hits(found, everything[2:5])
    assert index.search(T1, "refund", 6, excluded={cid for cid, _ in everything}) == []


# -- the scoring against a plain reference -------------------------------------------------------------------


def reference_bm25(docs: dict[int, list[str]], query: str) -> dict[int, float]:
    """Okapi BM25 (k1 1.2, b 0.75) over stemmed terms, written out the slow, obvious way."""
    stemmed = {cid: [stem(word) for word in words] for cid, words in docs.items()}
    n, avgdl = len(docs), sum(map(len, docs.values())) / len(docs)
    scores: dict[int, float] = {}
    for term in query_stems(query):
        df = sum(term in terms for terms in stemmed.values())
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for cid, terms in stemmed.items():
            if (tf := terms.count(term)) > 0:
                norm = 1.2 * (1 - 0.75 + 0.75 * len(terms) / avgdl)
                scores[cid] = scores.get(cid, 0.0) + idf * tf * 2.2 / (tf + norm)
    return scores


def assert_matches_reference(index: KeywordIndex, docs: dict[int, list[str]], query: str, k: int) -> None:
    expected = sorted(reference_bm25(docs, query).items(), key=lambda hit: -hit[1])
    found = index.search(T1, query, k)
    assert [s for _, s in found] == pytest.approx([s for _, s in expected[:k]], rel=1e-5), query
    reference = dict(expected)
    assert [s for _, s in found] == pytest.approx([reference[cid] for cid, _ in found], rel=1e-5), query
    asked = [cid for cid, _ in expected[k : k + 20]] + [
        cid for cid in list(docs)[:20] if cid not in reference
    ]
    scored = index.keyword_scores(T1, query, asked)
    assert set(scored) == {cid for cid in asked if cid in reference}
    assert [scored[cid] for cid in scored] == pytest.approx([reference[cid] for cid in scored], rel=1e-5)


def zipf_corpus(size: int) -> dict[int, list[str]]:
    """Chunks over a Zipf-distributed vocabulary: a few terms in most chunks, many in a handful."""
    rng = np.random.default_rng(7)
    vocabulary = [f"word{i}" for i in range(400)] + ["refund", "refunds", "refunded"]
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)
    draws = rng.choice(len(vocabulary), size=(size, 24), p=weights / weights.sum())
    return {
        1000 + i: [vocabulary[w] for w in row[: rng.integers(4, 24)]] for i, row in enumerate(draws.tolist())
    }


def as_chunk(chunk_id: int, words: list[str]) -> Chunk:
    text = " ".join(words)
    return Chunk(
        chunk_id, f"doc-{chunk_id}", T1, C1, 0, text, [], len(words), content_hash(text), "", "", [], {}
    )


@pytest.mark.parametrize("k", [1, 10, 100])
def test_rankings_and_scores_match_the_reference_through_removals(k: int) -> None:
    """Common terms' postings exceed the rare-term sample that bounds the k-th score: the pruning must still
    return exactly the reference top k, before removals, with removed chunks pending, and after compaction."""
    docs = zipf_corpus(6000)
    index = KeywordIndex()
    index.add([as_chunk(cid, words) for cid, words in docs.items()])
    queries = ["word0 word1", "word3 word250 refunds", "word399 word398 word2", "word120", "refund word0"]
    for query in queries:
        assert_matches_reference(index, docs, query, k)
    removed = list(docs)[::10]  # a tenth: held as dead slots
    index.remove(removed)
    for cid in removed:
        del docs[cid]
    for query in queries:
        assert_matches_reference(index, docs, query, k)
    removed = list(docs)[::3]  # past the compaction threshold
    index.remove(removed)
    for cid in removed:
        del docs[cid]
    for query in queries:
        assert_matches_reference(index, docs, query, k)
