"""Pairs an adapter learns from: files with and without a header, and clicks and helpful feedback as stored."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from lore.backends.store.database import Database
from lore.config import Settings
from lore.errors import InvalidInput
from lore.intelligence.adapter_pairs import Pair, data_hash, pairs_from_events, read_pairs
from lore.registry import create_store
from tests.intelligence.events import event

DOCUMENTS = {"doc_1": "doc_1", "kb:refunds": "doc_2"}  # a document id, and a source of another document


def lookup(references: Sequence[str]) -> dict[str, str]:
    return {ref: DOCUMENTS[ref] for ref in references if ref in DOCUMENTS}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    store = create_store(Settings(_env_file=None, data_dir=tmp_path))
    store.migrate()
    yield store
    store.close()


def test_a_file_without_header_names_documents_by_id_or_source_else_gives_text(tmp_path: Path) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text("reset it\tdoc_1\nmoney back\tkb:refunds\nopening hours\tWe open at nine.\n\n")
    assert read_pairs(path, lookup) == [
        Pair("reset it", document_id="doc_1"),
        Pair("money back", document_id="doc_2"),
        Pair("opening hours", text="We open at nine."),
    ]


def test_a_header_names_the_target_column(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text('query,chunk_id\n"refund, please",17\n')
    assert read_pairs(path, lookup) == [Pair("refund, please", chunk_id=17)]
    path.write_text("Query,source\nmoney back,kb:refunds\nelsewhere,kb:missing\n")
    assert read_pairs(path, lookup) == [Pair("money back", document_id="doc_2")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("query,label\na,b\n", "no target column"),
        ("query,chunk_id\na,seven\n", "chunk id is a number"),
        ("only a query\n", "lacks its query or its target"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=message):
        read_pairs(path, lookup)
    with pytest.raises(InvalidInput, match="no pairs file"):
        read_pairs(tmp_path / "absent.tsv", lookup)


def test_the_data_hash_ignores_the_order_of_pairs() -> None:
    pairs = [Pair("a", document_id="d1"), Pair("b", chunk_id=3)]
    assert data_hash(pairs) == data_hash(pairs[::-1]) != data_hash(pairs[:1])
    with pytest.raises(InvalidInput):
        Pair("a", document_id="d1", text="both")


def test_clicks_and_helpful_feedback_become_pairs_of_their_tenant(db: Database) -> None:
    db.events.append(
        [
            event("search", search_id="s1", query="money back", data={"document_ids": ["doc_2"]}),
            event("click", search_id="s1", document_id="doc_2", rank=1),  # its query is the search's
            event("click", query="reset it", document_id="doc_1", chunk_id=5, rank=2),
            event("helpful", query="refund time", document_id="doc_2"),
            event("helpful", search_id="s1", document_id="doc_3"),
            event(
                "answer",
                conversation_id="c1",
                message_id=2,
                query="how long do refunds take",
                data={"document_ids": ["doc_2", "doc_4"]},
            ),
            event("helpful", conversation_id="c1", message_id=2),
            event("not_helpful", query="reset it", document_id="doc_9"),  # not a positive
            event("click", document_id="doc_5"),  # no query to pair it with
            event("click", tenant_id="acme", query="other tenant", document_id="doc_1"),
        ]
    )
    assert pairs_from_events(db.events, "default") == [
        Pair("money back", document_id="doc_2"),
        Pair("reset it", chunk_id=5),
        Pair("refund time", document_id="doc_2"),
        Pair("money back", document_id="doc_3"),
        Pair("how long do refunds take", document_id="doc_2"),
        Pair("how long do refunds take", document_id="doc_4"),
    ]
    assert pairs_from_events(db.events, "acme") == [Pair("other tenant", document_id="doc_1")]
