"""Client events kept to their kind's contract, and the recorder of the server's events: buffered, written in
batches by its thread (by size, by interval, on close), never making the recorder wait, failures counted."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lore.backends.store.database import Database
from lore.backends.store.sqlite import SqliteDatabase
from lore.intelligence.events import (
    ClientEvent,
    EventFieldMissing,
    EventFieldNotAllowed,
    EventRecorder,
    EventTimeOutOfRange,
    InvalidEvent,
    UnknownEventKind,
    check,
    normal_query,
    stored,
)
from lore.models import utcnow
from tests.intelligence.conftest import TENANT, event
from tests.waiting import wait_for

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
VALID: list[dict[str, Any]] = [
    {"kind": "view", "document_id": "d1", "collection": "help"},
    {"kind": "click", "document_id": "d1", "search_id": "s1", "rank": 2, "query": "refunds", "chunk_id": 7},
    {"kind": "click", "document_id": "d1"},  # a click on a link, after no search
    {"kind": "helpful", "document_id": "d1", "reason": "clear"},
    {"kind": "not_helpful", "conversation_id": "c1", "message_id": 4},
    {"kind": "not_helpful", "search_id": "s1"},
    {"kind": "rating", "document_id": "d1", "value": 4},
    {"kind": "resolved", "document_id": "d1", "data": {"ticket_id": "T-9"}},
]
INVALID: list[tuple[dict[str, Any], type[InvalidEvent], str | None]] = [
    ({"kind": "search", "query": "x"}, UnknownEventKind, None),  # the server's own kinds are not a client's
    ({"kind": "view"}, EventFieldMissing, "document_id"),
    ({"kind": "view", "document_id": "d1", "rank": 1}, EventFieldNotAllowed, "rank"),
    ({"kind": "view", "document_id": "d1", "value": 5}, EventFieldNotAllowed, "value"),
    ({"kind": "click", "document_id": "d1", "search_id": "s1"}, EventFieldMissing, "rank"),
    ({"kind": "click", "document_id": "d1", "search_id": "s1", "rank": 0}, InvalidEvent, "rank"),
    ({"kind": "helpful", "reason": "nice"}, EventFieldMissing, None),
    ({"kind": "helpful", "conversation_id": "c1"}, EventFieldMissing, "message_id"),
    ({"kind": "rating", "document_id": "d1", "value": 6}, InvalidEvent, "value"),
    ({"kind": "rating", "document_id": "d1", "value": 3.5}, InvalidEvent, "value"),
    ({"kind": "rating", "document_id": "d1"}, EventFieldMissing, "value"),
    ({"kind": "resolved", "document_id": "d1", "data": {"ticket_id": 9}}, InvalidEvent, "data"),
    ({"kind": "view", "document_id": "d" * 129}, InvalidEvent, "document_id"),
    ({"kind": "helpful", "document_id": "d1", "reason": "x" * 1001}, InvalidEvent, "reason"),
    ({"kind": "view", "document_id": "d1", "data": {"blob": "x" * 5000}}, InvalidEvent, "data"),
    ({"kind": "view", "document_id": "a\x00b"}, InvalidEvent, "document_id"),
    ({"kind": "view", "document_id": "d1", "at": NOW + timedelta(minutes=6)}, EventTimeOutOfRange, "at"),
    ({"kind": "view", "document_id": "d1", "at": NOW - timedelta(days=6 * 365)}, EventTimeOutOfRange, "at"),
]


@pytest.mark.parametrize("fields", VALID, ids=lambda fields: fields["kind"])
def test_each_kind_takes_the_fields_the_contract_gives_it(fields: dict[str, Any]) -> None:
    given = ClientEvent("e1", **fields)
    assert check(given, NOW) == given


@pytest.mark.parametrize(("fields", "error", "field"), INVALID)
def test_events_that_break_their_kinds_contract_are_refused_naming_the_field(
    fields: dict[str, Any], error: type[InvalidEvent], field: str | None
) -> None:
    with pytest.raises(InvalidEvent) as raised:
        check(ClientEvent("e1", **fields), NOW)
    assert type(raised.value) is error
    if field is not None:
        assert raised.value.details["field"] == field


def test_times_are_kept_in_utc_and_a_missing_time_is_when_it_was_received() -> None:
    naive = check(ClientEvent("e1", "view", at=datetime(2026, 6, 1, 11, 0), document_id="d1"), NOW)
    assert naive.at == datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
    ahead = NOW + timedelta(minutes=4)  # a client's clock a little ahead
    assert check(ClientEvent("e1", "view", at=ahead, document_id="d1"), NOW).at == ahead
    untimed = stored(
        ClientEvent("e2", "view", document_id="d1"), TENANT, actor="key:k", user_id=None, received_at=NOW
    )
    assert (untimed.at, untimed.received_at, untimed.actor) == (NOW, NOW, "key:k")


def test_queries_are_recorded_with_their_whitespace_collapsed() -> None:
    assert normal_query("  reset \t my\npassword ") == "reset my password"


def recorder(db: Database, **options: Any) -> EventRecorder:
    return EventRecorder(db.events, **{"flush_seconds": 60.0, "flush_events": 1000, **options})


def stored_ids(db: Database) -> list[str]:
    return [e.event_id for e in db.events.stream(TENANT)]


def test_the_recorder_writes_a_full_batch_at_once_and_a_partial_one_after_the_interval(db: Database) -> None:
    by_size = recorder(db, flush_events=3)
    for i in range(3):
        by_size.record(event(f"s{i}", "search", search_id=f"s{i}", query="q"))
    wait_for(lambda: len(stored_ids(db)) == 3, "a full batch to be written")  # well before the 60 s interval
    by_size.close()
    by_time = recorder(db, flush_seconds=0.05)
    by_time.record(event("t0", "search", search_id="t0", query="q"))
    wait_for(lambda: "t0" in stored_ids(db), "the interval to write a partial batch")
    by_time.close()
    assert by_size.counts.snapshot() == {("search", "stored"): 3}


def test_closing_writes_what_is_left_and_later_events_are_dropped(db: Database) -> None:
    kept = recorder(db)
    kept.record(event("a", "answer", message_id=1))
    kept.record(event("b", "answer", message_id=2))
    assert stored_ids(db) == []  # still buffered: the interval is a minute
    kept.close()
    assert stored_ids(db) == ["a", "b"]
    kept.record(event("c", "answer"))
    assert kept.counts.snapshot() == {("answer", "stored"): 2, ("answer", "dropped"): 1}


def test_a_disabled_recorder_records_nothing_and_starts_no_thread(db: Database) -> None:
    off = recorder(db, enabled=False)
    off.record(event("a", "search"))
    assert "lore-events" not in {thread.name for thread in threading.enumerate()}
    off.close()
    assert stored_ids(db) == []


def test_a_full_buffer_drops_and_counts_what_does_not_fit(db: Database) -> None:
    small = recorder(db, capacity=2)
    for i in range(3):
        small.record(event(f"e{i}", "search"))
    small.close()
    assert stored_ids(db) == ["e0", "e1"]
    assert small.counts.snapshot()[("search", "dropped")] == 1


def test_a_failed_write_is_logged_and_counted_never_raised(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with db.write() as conn:
        conn.execute(sa.text("DROP TABLE events"))
    failing = recorder(db)
    failing.record(event("a", "search"))
    with caplog.at_level(logging.ERROR, logger="lore.events"):
        assert failing.flush() == 0
    failing.close()
    assert failing.counts.snapshot() == {("search", "failed"): 1}
    assert "recording 1 server events failed" in caplog.text


def test_recording_never_waits_for_the_store(tmp_path: Path) -> None:
    """While another writer holds SQLite's write lock, the recorder's thread waits; the recorder does not."""
    db = SqliteDatabase.from_path(tmp_path / "lore.db")
    db.migrate()
    busy = recorder(db, flush_events=1)
    try:
        with db.write():
            for i in range(50):
                busy.record(event(f"e{i}", "search", at=utcnow()))
            assert stored_ids(db) == []
        wait_for(lambda: len(stored_ids(db)) == 50, "the buffered events to be written")
    finally:
        busy.close()
        db.close()
