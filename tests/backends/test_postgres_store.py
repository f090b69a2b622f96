"""What only the PostgreSQL store promises: its migrations, the tsvector keyword index and its totals, writers
that commit changes in sequence order, pooled connections, and values PostgreSQL cannot hold as bad input. The
behaviour every store shares is in tests/contracts/test_database_contract.py."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lore.backends.store import pg_keywords
from lore.backends.store.postgres import PostgresDatabase, engine_url
from lore.backends.store.schema import metadata
from lore.config import Settings
from lore.core import keywords
from lore.errors import InvalidInput
from lore.models import SearchFilters
from lore.registry import create_store, create_vector_index, vector_backend_name
from tests.backends.store_helpers import COLLECTION, TENANT, alembic_config, scalar, write
from tests.pgserver import PostgresServer
from tests.waiting import PATIENCE, wait_for

OWN_TABLES = ("chunks_fts", "pgvector_")  # dialect-specific tables the core metadata does not describe


@pytest.fixture
def db(database_url: str) -> Iterator[PostgresDatabase]:
    instance = PostgresDatabase(database_url, pool_size=4)
    instance.migrate()
    yield instance
    instance.close()


# -- set-up --------------------------------------------------------------------------------------------------


def test_users_write_postgresql_urls_and_psycopg_is_used() -> None:
    assert engine_url("postgresql://u:p@db:5432/lore").drivername == "postgresql+psycopg"
    with pytest.raises(ValueError):
        engine_url("sqlite:///lore.db")


def test_settings_select_the_postgres_store_and_pgvector(database_url: str) -> None:
    settings = Settings(_env_file=None, database_url=database_url, database_pool_size=3)
    assert vector_backend_name(settings) == "pgvector"
    db = create_store(settings)
    index = create_vector_index(settings)
    try:
        assert isinstance(db, PostgresDatabase)
        assert db.engine.pool.size() == 3  # type: ignore[attr-defined]
        assert index.engine is db.engine  # type: ignore[attr-defined]  # one pool per process
    finally:
        db.close()


def test_each_write_holds_at_most_the_pool(db: PostgresDatabase) -> None:
    for i in range(20):
        write(db, f"{i}.md", f"text {i}")
    in_use = scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lore'")
    assert isinstance(in_use, int) and 1 <= in_use <= 4


# -- migrations ----------------------------------------------------------------------------------------------


def test_migrations_are_idempotent_and_reach_head(db: PostgresDatabase) -> None:
    write(db, "a.md", "kept across migrate")
    db.migrate()
    db.migrate()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
    assert scalar(db, "SELECT count(*) FROM documents") == 1
    assert scalar(db, "SELECT extversion FROM pg_extension WHERE extname = 'vector'") == "0.8.6"


def test_migrated_schema_matches_the_core_tables(db: PostgresDatabase) -> None:
    def include_name(name: str | None, type_: str, _parents: object) -> bool:
        return not (type_ == "table" and name is not None and name.startswith(OWN_TABLES))

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_a_new_database_is_migrated_from_scratch(postgres: PostgresServer) -> None:
    url = postgres.create_database(migrated=False)
    db = PostgresDatabase(url, pool_size=1)
    try:
        db.migrate()
        assert write(db, "a.md", "first words").chunk_count == 1
        assert [hit for hit, _ in db.keywords.keyword_search(TENANT, "words", 5)]
    finally:
        db.close()
        postgres.drop_database(url)


def test_downgrade_to_base_and_upgrade_again(db: PostgresDatabase) -> None:
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    with db.engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == ["alembic_version"]
    db.migrate()
    assert write(db, "a.md", "works again").chunk_count == 1
    assert db.keywords.keyword_search(TENANT, "works", 5)


@pytest.mark.parametrize(
    ("table", "where", "index"),
    [
        (
            "documents",
            "tenant_id = 't' AND collection = 'c' ORDER BY created_at DESC",
            "ix_documents_collection",
        ),
        ("chunks", "document_id = 'd'", "ix_chunks_document"),
        ("chunks", "partition = 'p' AND id > 5", "ix_chunks_partition"),
    ],
)
def test_common_queries_use_their_indexes(db: PostgresDatabase, table: str, where: str, index: str) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # an empty table: ask which index would serve
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN SELECT * FROM {table} WHERE {where}").scalars())
    assert index in plan


# -- the tsvector keyword index ------------------------------------------------------------------------------


def test_keyword_rows_and_totals_follow_the_chunks(db: PostgresDatabase) -> None:
    document = write(db, "a.md", "one two", "three", "four five six")
    write(db, "b.md", "seven")
    assert scalar(db, "SELECT count(*) FROM chunks_fts") == 4
    assert scalar(db, "SELECT chunks || '/' || terms FROM chunks_fts_stats") == "4/11"  # title + text
    write(db, "a.md", "one again")
    assert scalar(db, "SELECT chunks || '/' || terms FROM chunks_fts_stats") == "2/5"
    db.documents.delete_document(TENANT, document.id)
    assert scalar(db, "SELECT count(*) FROM chunks_fts JOIN chunks ON chunks.id = chunk_id") == 1
    assert scalar(db, "SELECT chunks || '/' || terms FROM chunks_fts_stats") == "1/2"


def test_lexemes_are_stems_with_positions(db: PostgresDatabase) -> None:
    write(db, "a.md", "Runners running: the runner runs")
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT lexeme, positions FROM chunks_fts, unnest(body)")
        lexemes = {lexeme: list(positions) for lexeme, positions in rows}
    assert lexemes == {"titl": [1], "runner": [2, 5], "run": [3, 6], "the": [4]}


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("the runner runs", "running"),
        ("Café crème", "cafe creme"),
        ("connected devices", "connection device"),
        ("Refunds reach your card", "refund"),
        ("Wie setze ich mein Passwort zurück", "zuruck"),
    ],
)
def test_english_stems_and_latin_diacritics_match(db: PostgresDatabase, text: str, query: str) -> None:
    write(db, "a.md", text)
    write(db, "b.md", "unrelated words entirely")
    assert len(db.keywords.keyword_search(TENANT, query, 10)) == 1


def test_rare_terms_outweigh_common_ones(db: PostgresDatabase) -> None:
    for i in range(8):
        write(db, f"common{i}.md", f"printer manual page {i}")
    rare = write(db, "rare.md", "printer firmware")
    ranked = db.keywords.keyword_search(TENANT, "printer firmware", 10)
    assert len(ranked) == 9
    assert ranked[0].chunk_id in db.documents.filter_chunk_ids(
        TENANT, None, SearchFilters(document_ids=(rare.id,))
    )
    assert ranked[0].score > 2 * ranked[1].score


def test_a_term_too_long_to_index_is_ignored(db: PostgresDatabase) -> None:
    giant = "x" * 3000
    write(db, "a.md", f"short {giant}")
    assert len(db.keywords.keyword_search(TENANT, f"short {giant}", 5)) == 1
    assert db.keywords.keyword_search(TENANT, giant, 5) == []


def test_keyword_scores_are_bm25_with_global_totals(db: PostgresDatabase) -> None:
    """BM25 (k1 1.2, b 0.75) over every chunk's frequencies, the term frequency saturated as `ts_rank` does
    with equal weights: a filter narrows the hits, never their scores."""
    write(db, "a.md", "printer firmware printer", team="ops")
    write(db, "b.md", "printer paper", team="desk")
    write(db, "c.md", "unrelated words here", team="desk")
    chunks_count, mean = 3, 11 / 3  # "Title" + text: 4, 3, 4 terms
    idf = {n: math.log(1 + (chunks_count - n + 0.5) / (n + 0.5)) for n in (1, 2)}
    tf = {n: sum(1 / j**2 for j in range(1, n + 1)) / (math.pi**2 / 6) for n in (1, 2)}

    def bm25(terms: list[tuple[int, int]], length: int) -> float:  # (document frequency, tf) of each term
        norm = 1.2 * (1 - 0.75) + 1.2 * 0.75 * length / mean
        return sum(idf[df] * 2.2 * tf[n] / (tf[n] + norm) for df, n in terms if n)

    ranked = db.keywords.keyword_search(TENANT, "printer firmware", 10)
    assert [round(hit.score, 5) for hit in ranked] == [
        round(bm25([(2, 2), (1, 1)], 4), 5),
        round(bm25([(2, 1), (1, 0)], 3), 5),
    ]
    narrowed = db.keywords.keyword_search(
        TENANT, "printer firmware", 10, filters=SearchFilters(metadata={"team": "desk"})
    )
    assert narrowed == ranked[1:]


@contextmanager
def statements(db: PostgresDatabase) -> Iterator[list[str]]:
    """The statements the store's engine executes meanwhile."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def scores_by_the_five_statement_arithmetic(db: PostgresDatabase, query: str) -> dict[int, float]:
    """Each matching chunk's score as the store computed it before migration 0012: idf and the constants in
    Python, then float8 arithmetic over each term's float4 `ts_rank`, summed from 0 in the terms' order."""
    k1, b = pg_keywords.K1, pg_keywords.B
    with db.engine.connect() as conn:
        terms = list(dict.fromkeys(pg_keywords.Stems().lookup(conn, keywords.query_terms(query))))
        chunk_count, term_total = conn.exec_driver_sql("SELECT chunks, terms FROM chunks_fts_stats").one()
        rank = "CAST(ts_rank('{1,1,1,1}', body, CAST(%(q)s AS tsquery), 0) AS float8)"  # float4, exactly
        ranks = [
            {
                cid: (r, n)
                for cid, r, n in conn.exec_driver_sql(
                    f"SELECT chunk_id, {rank}, term_count FROM chunks_fts", {"q": pg_keywords.lexeme(t)}
                )
            }
            for t in terms
        ]
    chunk_count = max(chunk_count, 1)
    mean = max(term_total / chunk_count, 1.0)
    matching = [cid for cid in ranks[0] if any(term_ranks[cid][0] > 0 for term_ranks in ranks)]
    scores = dict.fromkeys(matching, 0.0)
    for term_ranks in ranks:
        found = sum(1 for r, _ in term_ranks.values() if r > 0)
        weight = math.log(1 + (chunk_count - found + 0.5) / (found + 0.5)) * (k1 + 1)
        for cid in matching:
            r, length = term_ranks[cid]
            scores[cid] += weight * r / ((r + k1 * (1 - b)) + k1 * b / mean * length)
    return scores


def test_a_keyword_search_is_one_statement_with_the_same_scores_filtered_or_not(db: PostgresDatabase) -> None:
    write(db, "a.md", "printer firmware printer", team="ops")
    desk = write(db, "b.md", "printer paper jams", team="desk")
    write(db, "c.md", "paper trays and firmware notes", team="desk")
    write(db, "d.md", "unrelated words here", team="desk")
    query = "printers' firmware jammed paper unheardof"  # words never stemmed by this process included
    expected = scores_by_the_five_statement_arithmetic(db, query)
    desk_filter = SearchFilters(metadata={"team": "desk"}, document_ids=(desk.id,))
    with statements(db) as seen:
        ranked = db.keywords.keyword_search(TENANT, query, 10)
        assert len(seen) == 1
        narrowed = db.keywords.keyword_search(TENANT, query, 10, [COLLECTION], desk_filter, frozenset({"u"}))
        assert len(seen) == 2
        some = db.keywords.keyword_scores(TENANT, query, [ranked[0].chunk_id, ranked[-1].chunk_id, 10**9])
        assert len(seen) == 3
    assert {hit.chunk_id: hit.score for hit in ranked} == expected  # exactly: same float operations
    assert [hit.score for hit in ranked] == sorted(expected.values(), reverse=True)
    assert [hit.score for hit in narrowed] == [expected[hit.chunk_id] for hit in narrowed] and len(
        narrowed
    ) == 1
    assert some == {hit.chunk_id: expected[hit.chunk_id] for hit in (ranked[0], ranked[-1])}


# -- writers -------------------------------------------------------------------------------------------------


def test_a_write_waits_for_the_one_in_progress_so_changes_commit_in_order(db: PostgresDatabase) -> None:
    """Sequence numbers are drawn inside the write lock: a change numbered later never commits earlier."""
    holding, released = threading.Event(), threading.Event()
    order: list[str] = []

    def slow_writer() -> None:
        with db.write() as conn:
            holding.set()
            released.wait(PATIENCE)
            conn.exec_driver_sql("SELECT 1")
            order.append("slow")

    def release_once_the_next_writer_waits() -> None:
        try:
            wait_for(lambda: waiting_for_a_lock(db), "the second writer to wait for the lock")
        finally:
            released.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert holding.wait(PATIENCE)
    releaser = threading.Thread(target=release_once_the_next_writer_waits)
    releaser.start()
    write(db, "a.md", "after the slow writer")
    order.append("fast")
    thread.join(PATIENCE)
    releaser.join(PATIENCE)
    assert order == ["slow", "fast"]


def waiting_for_a_lock(db: PostgresDatabase) -> bool:
    """Whether a session of the store's database waits for an advisory lock (the write lock)."""
    with db.engine.connect() as conn:
        query = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return bool(conn.exec_driver_sql(query).scalar())


# -- values PostgreSQL cannot hold -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [{"note": "nul \x00 inside"}, {"k\x00": "v"}],
)
def test_nul_characters_are_invalid_input_and_nothing_is_written(
    db: PostgresDatabase, metadata: dict[str, str]
) -> None:
    seq = db.changes.last_seq()
    with pytest.raises(InvalidInput):
        write(db, "a.md", "fine text", **metadata)
    assert db.changes.last_seq() == seq
    assert db.documents.document_hashes(TENANT, COLLECTION) == {}


def test_a_nul_in_a_lookup_is_invalid_input(db: PostgresDatabase) -> None:
    with pytest.raises(InvalidInput):
        db.documents.get_document(TENANT, "id\x00")
