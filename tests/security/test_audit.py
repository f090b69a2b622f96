"""The audit log on SQLite and PostgreSQL: records chain, verification finds each kind of tampering, concurrent
writers (threads and processes) keep every tenant's chain whole, and summaries never keep secrets or text."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lore.backends.store.audit_records import AuditFilters
from lore.backends.store.database import Database
from lore.backends.store.postgres import PostgresDatabase
from lore.backends.store.schema import audit_log
from lore.backends.store.sqlite import SqliteDatabase
from lore.errors import InvalidInput
from lore.security.audit import GENESIS, REDACTED, AuditLog, sanitised, seal, secret_looking


def fill(audit: AuditLog, count: int, tenant: str = "default") -> None:
    for i in range(count):
        audit.record(tenant, f"user:u{i % 3}", "document.deleted", target=f"doc-{i}", summary={"n": i})


def tamper(store: Database, at_seq: int, tenant: str = "default", **values: object) -> None:
    where = sa.and_(audit_log.c.tenant_id == tenant, audit_log.c.seq == at_seq)
    with store.engine.begin() as conn:
        assert conn.execute(sa.update(audit_log).where(where).values(**values)).rowcount == 1


def breaks(audit: AuditLog, tenant: str = "default") -> list[tuple[int, str]]:
    (report,) = audit.verify(tenant)
    return [(found.seq, found.reason) for found in report.breaks]


def test_records_chain_from_the_genesis_hash_and_verify(store: Database) -> None:
    audit = AuditLog(store.audit)
    first = audit.record("default", "user:u1", "document.added", target="d1", summary={"title": "Refunds"})
    second = audit.record(
        "default", "key:k1", "document.deleted", target="d1", request_id="r-1", client="::1"
    )
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.hash == seal(first) and len(first.hash) == 64
    stored = store.audit.page("default", 10).items
    assert [record.seq for record in stored] == [2, 1]
    assert stored[0] == second and stored[1] == first  # read back exactly as hashed, dates and JSON included
    (report,) = audit.verify("default")
    assert report.ok and report.records == 2 and report.head_hash == second.hash


def test_each_tenant_has_its_own_chain(store: Database) -> None:
    audit = AuditLog(store.audit)
    fill(audit, 3, "default")
    fill(audit, 2, "acme")
    assert [r.seq for r in store.audit.chain("acme")] == [1, 2]
    assert {report.tenant_id: report.records for report in audit.verify()} == {"acme": 2, "default": 3}
    assert all(report.ok for report in audit.verify())


def test_an_edited_record_is_found_by_its_seq(store: Database) -> None:
    audit = AuditLog(store.audit)
    fill(audit, 5)
    tamper(store, 3, summary={"n": 99})
    assert breaks(audit) == [(3, "edited")]


@pytest.mark.parametrize("column", ["actor", "action", "target", "request_id", "client"])
def test_every_field_is_covered_by_the_hash(store: Database, column: str) -> None:
    audit = AuditLog(store.audit)
    fill(audit, 2)
    tamper(store, 1, **{column: "forged"})
    assert breaks(audit) == [(1, "edited")]


def test_a_moved_time_is_found(store: Database) -> None:
    audit = AuditLog(store.audit)
    fill(audit, 2)
    (record,) = [r for r in store.audit.chain("default") if r.seq == 2]
    tamper(store, 2, at=record.at - timedelta(days=1))
    assert breaks(audit) == [(2, "edited")]


def test_a_deleted_record_is_found_by_its_seq(store: Database) -> None:
    audit = AuditLog(store.audit)
    fill(audit, 5)
    where = sa.and_(audit_log.c.tenant_id == "default", audit_log.c.seq == 2)
    with store.engine.begin() as conn:
        conn.execute(sa.delete(audit_log).where(where))
    assert breaks(audit) == [(2, "missing")]
    (report,) = audit.verify("default")
    assert "records 2 to 2 are missing" in report.breaks[0].message


def test_reordered_records_are_found(store: Database) -> None:
    audit = AuditLog(store.audit)
    fill(audit, 5)
    tamper(store, 2, seq=-2)
    tamper(store, 3, seq=2)
    tamper(store, -2, seq=3)
    assert breaks(audit) == [(2, "edited"), (3, "edited"), (4, "broken_link")]


def test_a_record_rehashed_after_an_edit_breaks_the_link_to_the_next(store: Database) -> None:
    """A forger who recomputes the edited record's hash still cannot make the next record point to it."""
    audit = AuditLog(store.audit)
    fill(audit, 4)
    (original,) = [r for r in store.audit.chain("default") if r.seq == 2]
    tamper(store, 2, actor="user:x", hash=seal(replace(original, actor="user:x")))
    assert breaks(audit) == [(3, "broken_link")]


def test_only_the_tampered_places_are_reported(store: Database) -> None:
    audit = AuditLog(store.audit)
    fill(audit, 8)
    tamper(store, 2, target="forged")
    tamper(store, 6, actor="forged")
    assert breaks(audit) == [(2, "edited"), (6, "edited")]


def test_concurrent_appends_from_threads_keep_every_chain_whole(store: Database) -> None:
    audit = AuditLog(store.audit)

    def write(worker: int) -> None:
        for i in range(15):
            tenant = "default" if (worker + i) % 2 else "acme"
            audit.record(tenant, f"user:{worker}", "document.added", target=f"{worker}-{i}")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))
    reports = {report.tenant_id: report for report in audit.verify()}
    assert {tenant: report.records for tenant, report in reports.items()} == {"acme": 45, "default": 45}
    assert all(report.ok for report in reports.values())
    assert [record.seq for record in store.audit.chain("default")] == list(range(1, 46))


def _append_in_process(url: str, count: int) -> None:
    """Another process's writer, with its own engine (and, on SQLite, its own in-process lock)."""
    other = PostgresDatabase(url) if url.startswith("postgresql") else SqliteDatabase(url)
    try:
        fill(AuditLog(other.audit), count)
    finally:
        other.close()


def test_concurrent_appends_from_processes_keep_the_chain_whole(store: Database) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_append_in_process, args=(url, 20)) for _ in range(3)]
    for worker in workers:
        worker.start()
    fill(AuditLog(store.audit), 20)
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    (report,) = AuditLog(store.audit).verify("default")
    assert report.ok and report.records == 80


def test_pages_go_newest_first_and_filter(store: Database) -> None:
    audit = AuditLog(store.audit)
    fill(audit, 7)
    seen, cursor = [], None
    while True:
        page = store.audit.page("default", 3, cursor)
        seen.extend(record.seq for record in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    by_actor = store.audit.page("default", 10, filters=AuditFilters(actor="user:u1"))
    assert [record.seq for record in by_actor.items] == [5, 2]
    middle = store.audit.chain("default")
    at = {record.seq: record.at for record in middle}
    window = AuditFilters(since=at[3], until=at[5])
    assert [record.seq for record in store.audit.page("default", 10, filters=window).items] == [4, 3]
    assert store.audit.page("acme", 10).items == []  # another tenant sees none of them


@pytest.mark.parametrize("cursor", ["garbage!", "WzFd" + "x", "eyJhIjoxfQ", "WyJ4Il0", "W3RydWVd"])
def test_a_tampered_cursor_is_invalid_input(store: Database, cursor: str) -> None:
    fill(AuditLog(store.audit), 2)
    with pytest.raises(InvalidInput):
        store.audit.page("default", 10, cursor)


def test_stored_summaries_never_keep_secret_looking_fields(store: Database) -> None:
    secret = "sk-live-0123456789abcdef0123"
    summary = {
        "password": "hunter2",
        "newPassword": "hunter3",
        "api_key": secret,
        "openai_api_key": secret,
        "client_secret": "s3cr3t",
        "refresh_token": "rt-1",
        "text": "the whole document body",
        "content": "more body",
        "nested": {"accessToken": "at-1", "title": "kept", "deeper": [{"password_hash": "$argon2"}]},
        "key_id": "k1",
        "content_type": "text/markdown",
        "llm_tokens_per_day": 1000,
        "note": f"Bearer {secret}",
        "quoted": secret,
        "title": "Refunds",
    }
    record = AuditLog(store.audit).record("default", "user:u1", "user.updated", summary=summary)
    with store.engine.connect() as conn:
        raw = json.dumps([list(row) for row in conn.execute(sa.select(audit_log))], default=str)
    for leaked in (secret, "hunter", "s3cr3t", "rt-1", "at-1", "document body", "more body", "argon2"):
        assert leaked not in raw
    assert record.summary == {
        "nested": {"title": "kept", "deeper": [{}]},
        "key_id": "k1",
        "content_type": "text/markdown",
        "llm_tokens_per_day": 1000,
        "note": REDACTED,
        "quoted": REDACTED,
        "title": "Refunds",
    }


def test_the_sanitiser_bounds_what_it_keeps() -> None:
    kept = sanitised({"long": "x" * 1000, "many": list(range(500)), "deep": {"a": {"b": {"c": {"d": 1}}}}})
    assert len(kept["long"]) == 200 and len(kept["many"]) == 50
    assert kept["deep"] == {"a": {"b": {"c": "[…]"}}}
    assert sanitised({"ratio": 2.0, "nan": float("nan"), "nul": "a\x00b"}) == {
        "ratio": 2,
        "nan": "nan",
        "nul": "ab",
    }
    assert [secret_looking(name) for name in ("apiKey", "KEY", "passwd", "key_id", "keyword")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_actions_are_area_dot_verb_names(store: Database) -> None:
    with pytest.raises(ValueError, match=r"area\.verb"):
        AuditLog(store.audit).record("default", "user:u1", "Deleted document")
