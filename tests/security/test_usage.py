"""Usage counters on SQLite and PostgreSQL: upsert-add from buffered increments, day totals for quotas, what a
tenant stores, and nothing lost across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from lore.answers import Usage
from lore.backends.store.database import Database
from lore.backends.store.schema import usage
from lore.backends.store.usage_records import UsageKey, UsageRecords, UsageRow, metric_total
from lore.config import Settings
from lore.models import DocumentDraft
from lore.registry import create_store
from lore.security.usage import UsageRecorder
from tests.waiting import wait_for

DAY = "2026-12-02"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    store = create_store(Settings(_env_file=None, data_dir=tmp_path, database_url=url))
    store.migrate()
    try:
        yield store
    finally:
        store.close()


def recorder(records: UsageRecords, **options: float) -> UsageRecorder:
    return UsageRecorder(records, today=lambda: DAY, **options)  # type: ignore[arg-type]


def test_increments_add_up_in_the_store(db: Database) -> None:
    db.usage.add({UsageKey("acme", DAY, "k1", "requests"): 3, UsageKey("acme", DAY, "", "requests"): 1})
    db.usage.add(
        {UsageKey("acme", DAY, "k1", "requests"): 4, UsageKey("acme", "2026-12-03", "k1", "searches"): 2}
    )

    assert db.usage.report("acme", DAY, "2026-12-03") == [
        UsageRow(DAY, "", "requests", 1),
        UsageRow(DAY, "k1", "requests", 7),
        UsageRow("2026-12-03", "k1", "searches", 2),
    ]
    assert db.usage.report("acme", DAY, DAY, key_id="k1") == [UsageRow(DAY, "k1", "requests", 7)]
    assert db.usage.day_totals("acme", DAY) == {"requests": 8}
    assert db.usage.report("globex", DAY, "2026-12-03") == []
    assert db.usage.tenants() == ["acme"]


def test_a_recorder_buffers_and_writes_one_row_per_counter(db: Database) -> None:
    counting = recorder(db.usage)
    for _ in range(500):
        counting.add("acme", "k1", "searches")
    counting.add_answer("acme", "k1", Usage("openai", "gpt", 120, 30, 0.5, 0.1))
    with db.read() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(usage)).scalar() == 0
        )  # nothing written yet

    counting.flush()

    totals = db.usage.day_totals("acme", DAY)
    assert totals == {"searches": 500, "tokens_in:openai": 120, "tokens_out:openai": 30}
    assert metric_total(totals, "tokens") == 150


def test_used_today_counts_stored_and_buffered_usage_once(db: Database) -> None:
    db.usage.add({UsageKey("acme", DAY, "k9", "requests"): 10})  # another process's, already written
    counting = recorder(db.usage)
    counting.add("acme", "k1", "requests", 2)

    assert counting.used_today("acme", "requests") == 12
    counting.flush()
    assert counting.used_today("acme", "requests") == 12  # moved from the buffer to the stored totals
    counting.add("acme", "k1", "requests")
    db.usage.add({UsageKey("acme", DAY, "k9", "requests"): 5})
    counting.refresh()
    assert counting.used_today("acme", "requests") == 18
    assert counting.used_today("globex", "requests") == 0


def test_the_writer_thread_flushes_on_time_and_when_the_buffer_fills(db: Database) -> None:
    counting = recorder(db.usage, flush_seconds=3600.0, flush_increments=3)
    counting.start()
    try:
        for metric in ("requests", "searches", "answers"):
            counting.add("acme", "k1", metric)
        wait_for(lambda: db.usage.day_totals("acme", DAY).get("answers") == 1, "a full buffer to be written")
    finally:
        counting.close()
    timely = recorder(db.usage, flush_seconds=0.05)
    timely.start()
    try:
        timely.add("acme", "k1", "bytes_ingested", 2048)
        wait_for(lambda: db.usage.day_totals("acme", DAY).get("bytes_ingested") == 2048, "a timed write")
    finally:
        timely.close()


def test_close_writes_what_is_left_and_a_new_process_sees_it(db: Database) -> None:
    counting = recorder(db.usage, flush_seconds=3600.0)
    counting.start()
    for _ in range(7):
        counting.add("acme", "k1", "requests")
    counting.close()

    restarted = recorder(db.usage)
    assert restarted.used_today("acme", "requests") == 7
    assert db.usage.report("acme", DAY, DAY) == [UsageRow(DAY, "k1", "requests", 7)]


def test_a_failed_write_keeps_its_increments(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    counting = recorder(db.usage)
    counting.add("acme", "k1", "requests", 4)
    with db.write() as conn:  # the table is gone for a moment: the write fails
        conn.execute(sa.text("ALTER TABLE usage RENAME TO usage_away"))
    counting.flush()
    assert any("kept for the next attempt" in r.getMessage() for r in caplog.records)
    with db.write() as conn:
        conn.execute(sa.text("ALTER TABLE usage_away RENAME TO usage"))

    counting.flush()

    assert db.usage.day_totals("acme", DAY) == {"requests": 4}


def test_stored_counts_a_tenants_documents_and_utf8_bytes(db: Database) -> None:
    assert db.usage.stored("acme").documents == 0
    texts = {"a": "plain text", "b": "äöü – naïve"}  # bytes, not characters
    for source, text in texts.items():
        draft = DocumentDraft("acme", "docs", source, source, text, content_hash=source)
        db.documents.write_document(draft, [], {}, model_id="m")
    stored = db.usage.stored("acme")
    assert (stored.documents, stored.bytes) == (2, sum(len(t.encode()) for t in texts.values()))
    assert db.usage.stored("globex").documents == 0
