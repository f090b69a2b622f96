"""The database contract: one body per behaviour of each repository (`documents`, `changes`, `vectors`,
`keywords`, `reembedding`), run against every backend through the role protocols only."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from lore.backends.store.database import Database
from lore.errors import Conflict, InvalidInput
from lore.models import (
    ChunkDraft,
    Document,
    DocumentDraft,
    DocumentWrite,
    KnownDocument,
    ScoredChunk,
    SearchFilters,
    content_hash,
    partition_key,
)

MODEL = "test-model@f32"
DIM = 8
T1, T2 = "tenant-a", "tenant-b"
C1, C2 = "handbook", "faq"


# -- helpers -------------------------------------------------------------------------------------------------


def vector_for(text: str) -> np.ndarray:
    """A deterministic unit vector per text, so a test can check the exact bytes that come back."""
    rng = np.random.default_rng(int(content_hash(text)[:8], 16))
    vector = rng.standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def draft(
    *texts: str,
    tenant: str = T1,
    collection: str = C1,
    source: str = "guide.md",
    title: str = "Guide",
    tags: Sequence[str] = (),
    metadata: dict[str, Any] | None = None,
    headings: Sequence[str] = (),
) -> tuple[DocumentDraft, list[ChunkDraft]]:
    chunks = [
        ChunkDraft(i, text, tuple(headings), len(text.split()), f"{title}\n{text}")
        for i, text in enumerate(texts)
    ]
    body = "\n\n".join(texts)
    document = DocumentDraft(
        tenant, collection, title, source, body, content_hash(body), list(tags), dict(metadata or {})
    )
    return document, chunks


def vectors_of(chunks: Sequence[ChunkDraft]) -> dict[str, np.ndarray]:
    return {chunk.content_hash: vector_for(chunk.embed_text) for chunk in chunks}


def write(db: Database, *texts: str, **options: Any) -> Document:
    document, chunks = draft(*texts, **options)
    return db.documents.write_document(document, chunks, vectors_of(chunks), MODEL)


def chunk_ids_of(db: Database, tenant: str, document_id: str) -> list[int]:
    found = db.documents.filter_chunk_ids(tenant, None, SearchFilters(document_ids=(document_id,)))
    return sorted(found)


def ids(hits: Sequence[ScoredChunk]) -> list[int]:
    return [hit.chunk_id for hit in hits]


# -- schema and collections ----------------------------------------------------------------------------------


def test_migrate_twice_changes_nothing(db: Database) -> None:
    write(db, "alpha")
    db.migrate()
    assert len(db.documents.list_documents(T1, None, 10, None).items) == 1


def test_collections_are_listed_with_counts(db: Database) -> None:
    db.documents.ensure_collection(T1, C2)
    db.documents.ensure_collection(T1, C2)
    write(db, "one", "two", source="a.md")
    write(db, "three", source="b.md")
    listed = db.documents.list_collections(T1)
    assert [(c.name, c.document_count, c.chunk_count) for c in listed] == [(C2, 0, 0), (C1, 2, 3)]
    assert all(c.created_at is not None and c.model_id is None for c in listed)


def test_deleting_a_collection_deletes_its_documents_in_one_go(db: Database) -> None:
    kept = write(db, "stays here", source="a.md", collection=C2)
    gone = [write(db, f"goes {i}", source=f"{i}.md", tags=["old"]) for i in range(3)]
    gone_chunks = [cid for document in gone for cid in chunk_ids_of(db, T1, document.id)]
    other_tenant = write(db, "goes too?", tenant=T2)
    seq = db.changes.last_seq()

    assert db.documents.delete_collection(T1, C1) == 3

    assert [c.name for c in db.documents.list_collections(T1)] == [C2]
    assert all(db.documents.get_document(T1, document.id) is None for document in gone)
    assert db.documents.get_chunks(T1, gone_chunks) == {}
    assert db.keywords.keyword_search(T1, "goes", 10) == []
    assert db.documents.filter_chunk_ids(T1, None, SearchFilters(tags=("old",))) == set()
    removed = [(c.op, c.chunk_id) for c in db.changes.changes_since(seq)]
    assert sorted(removed) == sorted(("remove", cid) for cid in gone_chunks)  # the indexes catch up
    assert db.documents.get_document(T1, kept.id) is not None
    assert db.documents.get_document(T2, other_tenant.id) is not None  # the same name in another tenant
    assert db.documents.delete_collection(T1, C1) is None
    assert db.documents.delete_collection(T1, "never-there") is None


# -- writing documents ---------------------------------------------------------------------------------------


def test_write_returns_the_stored_document(db: Database) -> None:
    document, chunks = draft("alpha", "beta", tags=["x", "y", "x"], metadata={"lang": "en", "year": 2024})
    written = db.documents.write_document(document, chunks, vectors_of(chunks), MODEL)
    assert (written.tenant_id, written.collection, written.source, written.title) == (
        T1,
        C1,
        "guide.md",
        "Guide",
    )
    assert written.tags == ["x", "y"]
    assert written.metadata == {"lang": "en", "year": 2024}
    assert written.chunk_count == 2
    assert written.content_hash == document.content_hash
    assert written.created_at == written.updated_at
    assert written.created_at.tzinfo is not None
    assert len(written.id) == 32
    assert db.documents.get_document(T1, written.id) == written
    assert db.documents.get_document(T1, written.id, with_text=True).text == "alpha\n\nbeta"


def test_unknown_document_is_none(db: Database) -> None:
    assert db.documents.get_document(T1, "0" * 32) is None


def test_rewrite_keeps_id_and_created_at(db: Database) -> None:
    first = write(db, "alpha")
    second = write(db, "alpha changed", "gamma", title="Guide v2")
    assert (second.id, second.created_at) == (first.id, first.created_at)
    assert second.updated_at > first.updated_at
    stored = db.documents.get_document(T1, first.id, with_text=True)
    assert (stored.title, stored.chunk_count, stored.text) == ("Guide v2", 2, "alpha changed\n\ngamma")
    assert len(db.documents.list_documents(T1, None, 10, None).items) == 1


def test_rewrite_replaces_chunks_and_appends_changes(db: Database) -> None:
    document = write(db, "old apples", "old pears")
    old_ids = chunk_ids_of(db, T1, document.id)
    seq = db.changes.last_seq()
    write(db, "new plums")
    new_ids = chunk_ids_of(db, T1, document.id)
    assert len(new_ids) == 1 and new_ids[0] > max(old_ids)
    assert db.documents.get_chunks(T1, old_ids) == {}
    assert db.keywords.keyword_search(T1, "apples pears", 10) == []
    assert ids(db.keywords.keyword_search(T1, "plums", 10)) == new_ids
    partition = partition_key(T1, C1, MODEL)
    changes = [(c.op, c.chunk_id, c.partition) for c in db.changes.changes_since(seq)]
    assert changes == [("remove", i, partition) for i in old_ids] + [("add", new_ids[0], partition)]


def test_chunk_ids_are_never_reused(db: Database) -> None:
    document = write(db, "first", "second")
    newest = max(chunk_ids_of(db, T1, document.id))
    db.documents.delete_document(T1, document.id)
    again = write(db, "first", "second")
    assert min(chunk_ids_of(db, T1, again.id)) > newest


def test_chunks_keep_their_order_and_fields(db: Database) -> None:
    document = write(db, "zero", "one", "two", headings=["Intro", "Setup"], tags=["t"], metadata={"k": 1})
    chunk_ids = chunk_ids_of(db, T1, document.id)
    chunks = db.documents.get_chunks(T1, chunk_ids)
    assert [chunks[i].position for i in chunk_ids] == [0, 1, 2]
    assert [chunks[i].text for i in chunk_ids] == ["zero", "one", "two"]
    first = chunks[chunk_ids[0]]
    assert (first.id, first.document_id, first.tenant_id, first.collection) == (
        chunk_ids[0],
        document.id,
        T1,
        C1,
    )
    assert (first.heading_path, first.token_count) == (["Intro", "Setup"], 1)
    assert first.content_hash == content_hash("Guide\nzero")
    assert (first.title, first.source, first.tags, first.metadata) == ("Guide", "guide.md", ["t"], {"k": 1})


def test_a_chunk_without_a_vector_rolls_the_whole_write_back(db: Database) -> None:
    before = write(db, "stable text")
    before_ids = chunk_ids_of(db, T1, before.id)
    seq = db.changes.last_seq()
    document, chunks = draft("replacement", "unembedded", title="Broken")
    vectors = vectors_of(chunks[:1])
    with pytest.raises(InvalidInput):
        db.documents.write_document(document, chunks, vectors, MODEL)
    assert db.documents.get_document(T1, before.id, with_text=True) == Document(
        **{**_fields(before), "text": "stable text"}
    )
    assert chunk_ids_of(db, T1, before.id) == before_ids
    assert ids(db.keywords.keyword_search(T1, "stable", 10)) == before_ids
    assert db.keywords.keyword_search(T1, "replacement", 10) == []
    assert db.changes.last_seq() == seq
    assert db.vectors.cached_vectors(MODEL, list(vectors)) == {}


def _fields(document: Document) -> dict[str, Any]:
    return {name: getattr(document, name) for name in Document.__slots__}


def test_unchanged_text_is_served_from_the_vector_cache(db: Database) -> None:
    document, chunks = draft("cached once")
    vectors = vectors_of(chunks)
    db.documents.write_document(document, chunks, vectors, MODEL)
    rewritten = db.documents.write_document(document, chunks, {}, MODEL)
    assert rewritten.chunk_count == 1
    cached = db.vectors.cached_vectors(MODEL, [*vectors, "no-such-hash"])
    assert set(cached) == set(vectors)
    for digest, vector in vectors.items():
        assert cached[digest].dtype == np.float32
        np.testing.assert_array_equal(cached[digest], vector)
    assert db.vectors.cached_vectors("other-model", list(vectors)) == {}


@pytest.mark.parametrize(
    "bad", [np.zeros((2, DIM), np.float32), np.zeros(0, np.float32), np.full(DIM, np.nan)]
)
def test_malformed_vectors_are_invalid(db: Database, bad: np.ndarray) -> None:
    document, chunks = draft("text")
    with pytest.raises(InvalidInput):
        db.documents.write_document(document, chunks, {chunks[0].content_hash: bad}, MODEL)


def test_vector_length_must_match_the_models_cache(db: Database) -> None:
    write(db, "eight dimensions")
    document, chunks = draft("three dimensions", source="other.md")
    with pytest.raises(InvalidInput):
        db.documents.write_document(document, chunks, {chunks[0].content_hash: np.ones(3, np.float32)}, MODEL)


def test_same_source_in_two_collections_is_two_documents(db: Database) -> None:
    first = write(db, "shared", collection=C1)
    second = write(db, "shared", collection=C2)
    assert first.id != second.id
    assert db.documents.document_hashes(T1, C1) == {"guide.md": KnownDocument(first.id, first.content_hash)}


def test_a_document_may_have_no_chunks(db: Database) -> None:
    document, _ = draft("ignored")
    written = db.documents.write_document(document, [], {}, MODEL)
    assert written.chunk_count == 0
    assert db.documents.get_document(T1, written.id) == written


def batch_write(*texts: str, **options: Any) -> DocumentWrite:
    document, chunks = draft(*texts, **options)
    return DocumentWrite(document, chunks, vectors_of(chunks), MODEL)


def test_a_batch_is_written_in_one_go_with_a_document_per_write(db: Database) -> None:
    old = write(db, "old text of a", source="a.md", tags=["old"])
    old_chunks = chunk_ids_of(db, T1, old.id)
    seq = db.changes.last_seq()
    writes = [
        batch_write("new text of a", "second chunk", source="a.md", tags=["new"]),
        batch_write("text of b", source="b.md", collection=C2, tags=["x", "y"]),
        batch_write("text of c", source="c.md", tenant=T2),
    ]
    written = db.documents.write_documents(writes)
    assert [(d.tenant_id, d.collection, d.source, d.chunk_count) for d in written] == [
        (T1, C1, "a.md", 2),
        (T1, C2, "b.md", 1),
        (T2, C1, "c.md", 1),
    ]
    assert written[0].id == old.id and written[1].tags == ["x", "y"]
    changes = [(c.op, c.chunk_id) for c in db.changes.changes_since(seq)]
    assert sorted(cid for op, cid in changes if op == "remove") == old_chunks
    added = {cid for op, cid in changes if op == "add"}
    assert added == {cid for d in written for cid in chunk_ids_of(db, d.tenant_id, d.id)}
    assert db.keywords.keyword_search(T1, "old", 10) == []
    assert db.documents.filter_chunk_ids(T1, None, SearchFilters(tags=("old",))) == set()
    assert len(db.keywords.keyword_search(T1, "text", 10)) == 2  # a and b; c is the other tenant's
    assert [c.name for c in db.documents.list_collections(T2)] == [C1]


def test_a_source_named_twice_in_a_batch_is_written_once_with_its_last_version(db: Database) -> None:
    first, second = batch_write("first version", source="a.md"), batch_write("second version", source="a.md")
    written = db.documents.write_documents([first, second])
    assert written[0] == written[1] and written[0].chunk_count == 1
    chunk_ids = chunk_ids_of(db, T1, written[0].id)
    assert [c.text for c in db.documents.get_chunks(T1, chunk_ids).values()] == ["second version"]


def test_one_bad_write_rolls_the_whole_batch_back(db: Database) -> None:
    kept = write(db, "kept", source="kept.md")
    seq = db.changes.last_seq()
    good = batch_write("would be new", source="new.md")
    document, chunks = draft("no vector here", source="bad.md")
    with pytest.raises(InvalidInput):
        db.documents.write_documents([good, DocumentWrite(document, chunks, {}, MODEL)])
    assert db.changes.last_seq() == seq
    assert db.documents.document_hashes(T1, C1) == {"kept.md": KnownDocument(kept.id, kept.content_hash)}


def test_an_empty_batch_writes_nothing(db: Database) -> None:
    seq = db.changes.last_seq()
    assert db.documents.write_documents([]) == []
    assert db.changes.last_seq() == seq


# -- deleting ------------------------------------------------------------------------------------------------


def test_delete_removes_everything_but_cached_vectors(db: Database) -> None:
    document, chunks = draft("to be removed", tags=["gone"])
    written = db.documents.write_document(document, chunks, vectors_of(chunks), MODEL)
    chunk_ids = chunk_ids_of(db, T1, written.id)
    seq = db.changes.last_seq()
    assert db.documents.delete_document(T1, written.id) is True
    assert db.documents.delete_document(T1, written.id) is False
    assert db.documents.get_document(T1, written.id) is None
    assert db.documents.get_chunks(T1, chunk_ids) == {}
    assert db.keywords.keyword_search(T1, "removed", 10) == []
    assert db.documents.filter_chunk_ids(T1, None, SearchFilters(tags=("gone",))) == set()
    assert db.documents.document_hashes(T1, C1) == {}
    assert db.vectors.partitions() == []
    partition = partition_key(T1, C1, MODEL)
    assert [(c.op, c.chunk_id, c.partition) for c in db.changes.changes_since(seq)] == [
        ("remove", chunk_ids[0], partition)
    ]
    assert set(db.vectors.cached_vectors(MODEL, [chunks[0].content_hash])) == {chunks[0].content_hash}


# -- listing -------------------------------------------------------------------------------------------------


def test_documents_are_listed_newest_first_in_pages(db: Database) -> None:
    written = [write(db, f"doc {i}", source=f"{i}.md", collection=C1 if i % 2 else C2) for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        page = db.documents.list_documents(T1, None, 2, cursor)
        assert len(page.items) <= 2
        assert all(item.text is None for item in page.items)
        seen += [item.id for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [document.id for document in reversed(written)]
    only_c1 = db.documents.list_documents(T1, [C1], 10, None)
    assert [item.id for item in only_c1.items] == [written[3].id, written[1].id]
    assert only_c1.next_cursor is None


def test_an_exact_last_page_has_no_cursor(db: Database) -> None:
    write(db, "one", source="1.md")
    write(db, "two", source="2.md")
    assert db.documents.list_documents(T1, None, 2, None).next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b"{}").decode(),
    ],
)
def test_a_bad_cursor_is_invalid_input(db: Database, cursor: str) -> None:
    with pytest.raises(InvalidInput):
        db.documents.list_documents(T1, None, 10, cursor)


def test_a_limit_below_one_is_invalid_input(db: Database) -> None:
    with pytest.raises(InvalidInput):
        db.documents.list_documents(T1, None, 0, None)


def test_document_hashes_map_sources(db: Database) -> None:
    first = write(db, "one", source="1.md")
    second = write(db, "two", source="2.md")
    write(db, "elsewhere", source="3.md", collection=C2)
    assert db.documents.document_hashes(T1, C1) == {
        "1.md": KnownDocument(first.id, first.content_hash),
        "2.md": KnownDocument(second.id, second.content_hash),
    }
    assert db.documents.document_hashes(T1, C1, ["2.md", "3.md", "missing.md"]) == {
        "2.md": KnownDocument(second.id, second.content_hash)
    }
    assert db.documents.document_hashes(T1, C1, []) == {}


# -- keyword search ------------------------------------------------------------------------------------------


def test_keyword_search_ranks_by_bm25(db: Database) -> None:
    strong = write(db, "password reset: reset the password from the password page", source="a.md")
    weak = write(db, "billing questions and the password policy", source="b.md")
    write(db, "nothing relevant here", source="c.md")
    hits = db.keywords.keyword_search(T1, "password reset", 10)
    assert ids(hits) == chunk_ids_of(db, T1, strong.id) + chunk_ids_of(db, T1, weak.id)
    assert all(isinstance(hit, ScoredChunk) for hit in hits)
    assert hits[0].score > hits[1].score > 0


def test_keyword_search_returns_at_most_k(db: Database) -> None:
    for i in range(5):
        write(db, f"common word {i}", source=f"{i}.md")
    assert len(db.keywords.keyword_search(T1, "common", 3)) == 3
    assert db.keywords.keyword_search(T1, "common", 0) == []


def test_keyword_search_matches_title_and_headings(db: Database) -> None:
    document = write(db, "body text", title="Invoices", headings=["Refunds"])
    assert ids(db.keywords.keyword_search(T1, "invoices", 10)) == chunk_ids_of(db, T1, document.id)
    assert ids(db.keywords.keyword_search(T1, "refunds", 10)) == chunk_ids_of(db, T1, document.id)


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "a AND OR NOT b",
        "NEAR(a b)",
        "title:alpha",
        "alpha*",
        "^alpha",
        "-alpha",
        "(alpha",
        "a + b",
        "'; DROP TABLE chunks; --",
        "{alpha}",
    ],
)
def test_query_syntax_is_never_interpreted(db: Database, query: str) -> None:
    document = write(db, "alpha and beta")
    hits = db.keywords.keyword_search(T1, query, 10)
    assert set(ids(hits)) <= set(chunk_ids_of(db, T1, document.id))
    assert "alpha" not in query or hits


@pytest.mark.parametrize("query", ["", "   ", "?!", "…", "\u200b"])
def test_a_query_without_terms_finds_nothing(db: Database, query: str) -> None:
    write(db, "alpha")
    assert db.keywords.keyword_search(T1, query, 10) == []
    assert db.keywords.keyword_scores(T1, query, [1]) == {}


def test_stop_words_count_only_when_nothing_else_is_asked(db: Database) -> None:
    cat = write(db, "a cat on the mat", source="cat.md")
    other = write(db, "the dog", source="dog.md")
    assert ids(db.keywords.keyword_search(T1, "the cat", 10)) == chunk_ids_of(db, T1, cat.id)
    expected = set(chunk_ids_of(db, T1, cat.id) + chunk_ids_of(db, T1, other.id))
    assert set(ids(db.keywords.keyword_search(T1, "the", 10))) == expected


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("如何重置我的密码", "重置密码"),
        ("パスワードをリセットする方法", "リセット"),
        ("วิธีรีเซ็ตรหัสผ่านของคุณ", "รหัสผ่าน"),
        ("Wie setze ich mein Passwort zurück", "PASSWORT"),
        ("ﬁle ＡＢＣ", "file abc"),
    ],
)
def test_keyword_search_across_scripts(db: Database, text: str, query: str) -> None:
    document = write(db, text)
    write(db, "unrelated words entirely", source="other.md")
    assert ids(db.keywords.keyword_search(T1, query, 10)) == chunk_ids_of(db, T1, document.id)


def test_keyword_search_by_collection(db: Database) -> None:
    in_c1 = write(db, "shared term", collection=C1)
    in_c2 = write(db, "shared term", collection=C2)
    assert ids(db.keywords.keyword_search(T1, "term", 10, collections=[C2])) == chunk_ids_of(db, T1, in_c2.id)
    both = set(ids(db.keywords.keyword_search(T1, "term", 10, collections=None)))
    assert both == set(chunk_ids_of(db, T1, in_c1.id) + chunk_ids_of(db, T1, in_c2.id))
    assert db.keywords.keyword_search(T1, "term", 10, collections=[]) == []


def _tagged_corpus(db: Database) -> dict[str, list[int]]:
    documents = {
        "red": write(
            db, "widget red", source="r.md", tags=["colour", "red"], metadata={"lang": "en", "n": 1}
        ),
        "blue": write(
            db,
            "widget blue",
            source="b.md",
            tags=["colour"],
            metadata={"lang": "de", "n": 2, "score": 2.0},
        ),
        "flag": write(db, "widget flag", source="f.md", metadata={"lang": "en", "ok": True, "n": "1"}),
    }
    return {name: chunk_ids_of(db, T1, document.id) for name, document in documents.items()}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(tags=("colour",)), {"red", "blue"}),
        (SearchFilters(tags=("colour", "red")), {"red"}),
        (SearchFilters(tags=("red", "missing")), set()),
        (SearchFilters(metadata={"lang": "en"}), {"red", "flag"}),
        (SearchFilters(metadata={"lang": "en", "n": 1}), {"red"}),
        (SearchFilters(metadata={"n": "1"}), {"flag"}),
        (SearchFilters(metadata={"n": 1.0}), {"red"}),
        (SearchFilters(metadata={"score": 2}), {"blue"}),
        (SearchFilters(metadata={"ok": True}), {"flag"}),
        (SearchFilters(metadata={"ok": False}), set()),
        (SearchFilters(metadata={"n": True}), set()),
        (SearchFilters(metadata={"missing": "x"}), set()),
        (SearchFilters(tags=("colour",), metadata={"lang": "de"}), {"blue"}),
        (SearchFilters(), {"red", "blue", "flag"}),
    ],
)
def test_filters_narrow_search(db: Database, filters: SearchFilters, expected: set[str]) -> None:
    corpus = _tagged_corpus(db)
    wanted = {chunk_id for name in expected for chunk_id in corpus[name]}
    assert set(ids(db.keywords.keyword_search(T1, "widget", 10, filters=filters))) == wanted
    assert db.documents.filter_chunk_ids(T1, None, filters) == wanted


def test_filter_by_document_ids(db: Database) -> None:
    corpus = _tagged_corpus(db)
    red = db.documents.get_chunks(T1, corpus["red"])[corpus["red"][0]].document_id
    filters = SearchFilters(document_ids=(red, "0" * 32))
    assert ids(db.keywords.keyword_search(T1, "widget", 10, filters=filters)) == corpus["red"]
    assert db.documents.filter_chunk_ids(T1, [C2], filters) == set()


@pytest.mark.parametrize("key", ['we"ird', "back\\slash", "new\nline", "dotted.key[0]", "$.path", "ключ"])
@pytest.mark.parametrize("value", ["v", 7, 2.5, True])
def test_metadata_keys_may_hold_any_character(db: Database, key: str, value: Any) -> None:
    document = write(db, "odd keys", metadata={key: value, "other": "x"})
    write(db, "decoy", source="decoy.md", metadata={key: "different", "x": value})
    expected = set(chunk_ids_of(db, T1, document.id))
    assert db.documents.filter_chunk_ids(T1, None, SearchFilters(metadata={key: value})) == expected


def test_metadata_filters_take_only_scalars(db: Database) -> None:
    with pytest.raises(InvalidInput):
        db.documents.filter_chunk_ids(T1, None, SearchFilters(metadata={"k": [1, 2]}))  # type: ignore[dict-item]


def test_keyword_scores_cover_only_the_given_matching_chunks(db: Database) -> None:
    a = chunk_ids_of(db, T1, write(db, "apple pie", source="a.md").id)
    b = chunk_ids_of(db, T1, write(db, "apple tart", source="b.md").id)
    c = chunk_ids_of(db, T1, write(db, "cherry", source="c.md").id)
    scores = db.keywords.keyword_scores(T1, "apple pie", a + c + [10_000])
    assert set(scores) == set(a)
    ranked = dict(db.keywords.keyword_search(T1, "apple pie", 10))
    assert scores[a[0]] == pytest.approx(ranked[a[0]])
    assert set(db.keywords.keyword_scores(T1, "apple", a + b)) == set(a + b)


# -- chunks and vectors --------------------------------------------------------------------------------------


def test_missing_chunks_are_absent(db: Database) -> None:
    chunk_ids = chunk_ids_of(db, T1, write(db, "present").id)
    assert set(db.documents.get_chunks(T1, [*chunk_ids, 99_999])) == set(chunk_ids)
    assert db.documents.get_chunks(T1, []) == {}


def test_chunk_vectors_return_the_stored_floats(db: Database) -> None:
    document, chunks = draft("one", "two", "three")
    vectors = vectors_of(chunks)
    written = db.documents.write_document(document, chunks, vectors, MODEL)
    chunk_ids = chunk_ids_of(db, T1, written.id)
    got_ids, matrix = db.vectors.chunk_vectors(MODEL, [chunk_ids[2], chunk_ids[0], 99_999])
    assert got_ids.dtype == np.int64 and matrix.dtype == np.float32
    assert got_ids.tolist() == [chunk_ids[0], chunk_ids[2]]
    np.testing.assert_array_equal(
        matrix, np.stack([vectors[chunks[0].content_hash], vectors[chunks[2].content_hash]])
    )
    empty_ids, empty = db.vectors.chunk_vectors("other-model", chunk_ids)
    assert empty_ids.shape == (0,) and empty.shape[0] == 0


def test_partition_vectors_come_in_batches(db: Database) -> None:
    document, chunks = draft(*[f"chunk {i}" for i in range(7)])
    vectors = vectors_of(chunks)
    written = db.documents.write_document(document, chunks, vectors, MODEL)
    write(db, "elsewhere", collection=C2)
    batches = list(db.vectors.iter_partition_vectors(partition_key(T1, C1, MODEL), batch_size=3))
    assert [len(batch_ids) for batch_ids, _ in batches] == [3, 3, 1]
    all_ids = np.concatenate([batch_ids for batch_ids, _ in batches])
    matrix = np.concatenate([batch for _, batch in batches])
    assert all_ids.tolist() == chunk_ids_of(db, T1, written.id)
    assert matrix.shape == (7, DIM) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, np.stack([vectors[chunk.content_hash] for chunk in chunks]))
    assert list(db.vectors.iter_partition_vectors(partition_key(T2, C1, MODEL))) == []


def test_partitions_are_those_with_chunks(db: Database) -> None:
    write(db, "a", collection=C1)
    removed = write(db, "b", collection=C2)
    write(db, "c", tenant=T2)
    expected = [partition_key(T1, C1, MODEL), partition_key(T1, C2, MODEL), partition_key(T2, C1, MODEL)]
    assert sorted(db.vectors.partitions()) == sorted(expected)
    db.documents.delete_document(T1, removed.id)
    assert sorted(db.vectors.partitions()) == sorted([expected[0], expected[2]])


# -- the change sequence -------------------------------------------------------------------------------------


def test_changes_are_replayed_in_order_with_a_limit(db: Database) -> None:
    assert db.changes.last_seq() == 0
    assert db.changes.changes_since(0) == []
    document = write(db, "one", "two", "three")
    chunk_ids = chunk_ids_of(db, T1, document.id)
    changes = db.changes.changes_since(0)
    assert [c.chunk_id for c in changes] == chunk_ids
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)
    assert db.changes.last_seq() == changes[-1].seq
    assert db.changes.changes_since(0, limit=2) == changes[:2]
    assert db.changes.changes_since(changes[1].seq) == changes[2:]
    assert db.changes.changes_since(db.changes.last_seq()) == []


# -- tenants -------------------------------------------------------------------------------------------------


def test_tenants_see_nothing_of_each_other(db: Database) -> None:
    document = write(db, "secret plans", tenant=T1, tags=["private"], metadata={"k": "v"})
    chunk_ids = chunk_ids_of(db, T1, document.id)
    db.documents.ensure_collection(T2, C2)
    assert db.documents.get_document(T2, document.id) is None
    assert db.documents.list_documents(T2, None, 10, None).items == []
    assert db.documents.list_documents(T2, [C1], 10, None).items == []
    assert db.documents.document_hashes(T2, C1) == {}
    assert [(c.name, c.document_count) for c in db.documents.list_collections(T2)] == [(C2, 0)]
    assert db.keywords.keyword_search(T2, "secret plans", 10) == []
    assert db.keywords.keyword_scores(T2, "secret", chunk_ids) == {}
    assert db.documents.get_chunks(T2, chunk_ids) == {}
    for filters in (SearchFilters(), SearchFilters(tags=("private",)), SearchFilters(metadata={"k": "v"})):
        assert db.documents.filter_chunk_ids(T2, None, filters) == set()
    assert db.documents.filter_chunk_ids(T2, None, SearchFilters(document_ids=(document.id,))) == set()
    assert db.documents.delete_document(T2, document.id) is False
    assert db.documents.filter_chunk_ids(T1, None, SearchFilters(tags=("private",))) == set(chunk_ids)
    same_source = write(db, "public", tenant=T2)
    assert same_source.id != document.id
    assert db.documents.get_document(T1, document.id) == document
    assert ids(db.keywords.keyword_search(T1, "secret", 10)) == chunk_ids


# -- embedding versions --------------------------------------------------------------------------------------

NEW = "test-model-2@f32"


def new_vectors(chunks: Sequence[ChunkDraft]) -> dict[str, np.ndarray]:
    return {chunk.content_hash: vector_for("new " + chunk.embed_text) for chunk in chunks}


def ops_in(db: Database, since: int, partition: str) -> list[tuple[str, int]]:
    return [(c.op, c.chunk_id) for c in db.changes.changes_since(since) if c.partition == partition]


def test_a_reembedding_is_recorded_and_resumed_but_never_mixed(db: Database) -> None:
    write(db, "alpha")
    models = db.reembedding.start_reembed(T1, C1, NEW, MODEL)
    assert (models.active, models.pending) == (MODEL, NEW)
    assert db.reembedding.start_reembed(T1, C1, NEW, MODEL) == models  # a resumed run
    with pytest.raises(Conflict):
        db.reembedding.start_reembed(T1, C1, "third-model", MODEL)
    assert [(m.tenant_id, m.collection, m.active, m.pending) for m in db.reembedding.collection_models()] == [
        (T1, C1, MODEL, NEW)
    ]
    with pytest.raises(Conflict):
        db.reembedding.start_reembed(T1, C2, MODEL, MODEL)  # already its model
    with pytest.raises(Conflict):
        db.reembedding.add_model_vectors(T1, C2, NEW, {"h": vector_for("h")})  # C2 is not being re-embedded


def test_vectors_of_the_pending_model_build_its_partition(db: Database) -> None:
    document, chunks = draft("one", "two", "three")
    written = db.documents.write_document(document, chunks, vectors_of(chunks), MODEL)
    chunk_ids = chunk_ids_of(db, T1, written.id)
    write(db, "elsewhere", collection=C2)
    seq = db.changes.last_seq()
    db.reembedding.start_reembed(T1, C1, NEW, MODEL)
    assert db.reembedding.count_missing_vectors(T1, C1, NEW) == 3
    missing = db.reembedding.missing_vectors(T1, C1, NEW, limit=2)
    assert [chunk.id for chunk in missing] == chunk_ids[:2]
    assert missing[0].title == "Guide" and missing[0].text == "one"
    fresh = new_vectors(chunks)
    assert (
        db.reembedding.add_model_vectors(
            T1, C1, NEW, {h: fresh[h] for h in [c.content_hash for c in missing]}
        )
        == 2
    )
    new_partition = partition_key(T1, C1, NEW)
    assert ops_in(db, seq, new_partition) == [("add", chunk_ids[0]), ("add", chunk_ids[1])]
    assert db.reembedding.count_missing_vectors(T1, C1, NEW) == 1
    got_ids, matrix = db.vectors.chunk_vectors(NEW, chunk_ids)
    assert got_ids.tolist() == chunk_ids[:2]
    np.testing.assert_array_equal(matrix[0], fresh[chunks[0].content_hash])
    batches = list(db.vectors.iter_model_vectors(T1, C1, NEW))
    assert np.concatenate([ids_ for ids_, _ in batches]).tolist() == chunk_ids[:2]
    assert db.vectors.partitions() == sorted([partition_key(T1, C1, MODEL), partition_key(T1, C2, MODEL)])


def test_the_switch_waits_for_every_vector_then_retires_the_old_partition(db: Database) -> None:
    document, chunks = draft("one", "two")
    written = db.documents.write_document(document, chunks, vectors_of(chunks), MODEL)
    chunk_ids = chunk_ids_of(db, T1, written.id)
    db.reembedding.start_reembed(T1, C1, NEW, MODEL)
    fresh = new_vectors(chunks)
    db.reembedding.add_model_vectors(T1, C1, NEW, {chunks[0].content_hash: fresh[chunks[0].content_hash]})
    with pytest.raises(Conflict) as refused:
        db.reembedding.switch_model(T1, C1, NEW)
    assert refused.value.details["missing"] == 1
    db.reembedding.add_model_vectors(T1, C1, NEW, fresh)
    seq = db.changes.last_seq()
    models = db.reembedding.switch_model(T1, C1, NEW)
    assert (models.active, models.pending) == (NEW, None)
    assert models.model_seq == seq  # the new partition was complete before the old one's removals
    old_partition, new_partition = partition_key(T1, C1, MODEL), partition_key(T1, C1, NEW)
    assert ops_in(db, seq, old_partition) == [("remove", chunk_id) for chunk_id in chunk_ids]
    assert ops_in(db, seq, new_partition) == []
    assert db.vectors.partitions() == [new_partition]
    assert next(iter(db.vectors.iter_partition_vectors(new_partition))).ids.tolist() == chunk_ids
    with pytest.raises(Conflict):
        write(db, "written by a process that missed the switch")  # with the old model
    again, more = draft("three", source="other.md")
    db.documents.write_document(again, more, new_vectors(more), NEW)
    assert [(c.name, c.document_count, c.chunk_count) for c in db.documents.list_collections(T1)] == [
        (C1, 2, 3)
    ]


def test_the_switch_reconciles_chunks_written_and_deleted_meanwhile(db: Database) -> None:
    gone = write(db, "deleted during the re-embedding", source="gone.md")
    gone_ids = chunk_ids_of(db, T1, gone.id)
    db.reembedding.start_reembed(T1, C1, NEW, MODEL)
    _, gone_chunks = draft("deleted during the re-embedding", source="gone.md")
    db.reembedding.add_model_vectors(T1, C1, NEW, new_vectors(gone_chunks))
    db.documents.delete_document(T1, gone.id)
    late, late_chunks = draft("written meanwhile", source="late.md")
    written = db.documents.write_document(late, late_chunks, vectors_of(late_chunks), MODEL)
    late_ids = chunk_ids_of(db, T1, written.id)
    db.reembedding.add_model_vectors(T1, C1, NEW, new_vectors(late_chunks))
    seq = db.changes.last_seq()
    db.reembedding.switch_model(T1, C1, NEW)
    new_partition = partition_key(T1, C1, NEW)
    assert ops_in(db, seq, new_partition) == [("remove", chunk_id) for chunk_id in gone_ids]
    assert [chunk_id for _, chunk_id in ops_in(db, 0, new_partition) if _ == "add"] == [
        *gone_ids,
        *late_ids,
    ]
