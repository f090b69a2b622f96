"""Conversation records on SQLite and PostgreSQL: tenant scoping, pages, atomic turns, deletion."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lore.backends.store.conversation_records import ConversationRecords
from lore.backends.store.schema import messages
from lore.config import Settings
from lore.errors import InvalidInput, NotFound
from lore.models import NewMessage
from lore.registry import create_store

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConversationRecords]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    store = create_store(Settings(_env_file=None, data_dir=tmp_path, database_url=url))
    store.migrate()
    try:
        yield store.conversations
    finally:
        store.close()


def turn(records: ConversationRecords, conversation_id: str, n: int, tenant: str = "default") -> None:
    when = T0 + timedelta(minutes=n)
    records.append_turn(
        tenant,
        conversation_id,
        NewMessage("user", f"question {n}", when),
        NewMessage("assistant", f"answer {n} [1]", when + timedelta(seconds=1), citations=[{"marker": 1}]),
        title=f"question {n}",
    )


def test_a_turn_stores_the_question_and_its_answer_together(records: ConversationRecords) -> None:
    conversation = records.create("default", metadata={"channel": "web"})

    turn(records, conversation.id, 1)
    turn(records, conversation.id, 2)

    stored = records.get("default", conversation.id)
    assert stored.message_count == 4 and stored.title == "question 1"  # the first question names it, once
    assert stored.metadata == {"channel": "web"}
    assert stored.updated_at == T0 + timedelta(minutes=2, seconds=1)
    oldest = records.messages("default", conversation.id, 10, order="oldest").items
    assert [m.content for m in oldest] == ["question 1", "answer 1 [1]", "question 2", "answer 2 [1]"]
    assert oldest[1].metadata == {"reply_to": oldest[0].id} and oldest[1].citations == [{"marker": 1}]
    assert [m.content for m in records.recent("default", conversation.id, 3)] == [
        "answer 1 [1]",
        "question 2",
        "answer 2 [1]",
    ]


def test_other_tenants_see_nothing(records: ConversationRecords) -> None:
    mine = records.create("acme")
    turn(records, mine.id, 1, tenant="acme")

    with pytest.raises(NotFound):
        records.get("globex", mine.id)
    with pytest.raises(NotFound):
        records.messages("globex", mine.id, 10)
    with pytest.raises(NotFound):
        turn(records, mine.id, 2, tenant="globex")
    with pytest.raises(NotFound):
        records.delete("globex", mine.id)
    assert records.list_conversations("globex", 10).items == []
    assert records.get("acme", mine.id).message_count == 2


def test_pages_end_exactly_and_never_repeat(records: ConversationRecords) -> None:
    created = [records.create("default", title=str(n)).id for n in range(4)]

    first = records.list_conversations("default", 2)
    second = records.list_conversations("default", 2, first.next_cursor)

    assert [c.id for c in first.items + second.items] == created[::-1]
    assert second.next_cursor is None  # exactly two left: no empty third page
    with pytest.raises(InvalidInput):
        records.list_conversations("default", 0)
    with pytest.raises(InvalidInput):
        records.messages("default", created[0], 10, cursor="bm90IGEgY3Vyc29y")


def test_deleting_a_conversation_removes_every_message(records: ConversationRecords) -> None:
    kept, dropped = records.create("default"), records.create("default")
    for n in range(3):
        turn(records, kept.id, n)
        turn(records, dropped.id, n)

    records.delete("default", dropped.id)

    with records.engine.connect() as conn:
        left = conn.execute(sa.select(messages.c.conversation_id).distinct()).scalars().all()
    assert left == [kept.id]
    with pytest.raises(NotFound):
        turn(records, dropped.id, 9)


def test_message_pages_walk_an_index_not_the_table(tmp_path: Path) -> None:
    """SQLite's plan for a page of messages and a page of conversations: index range scans, no sort."""
    store = create_store(Settings(_env_file=None, data_dir=tmp_path))
    store.migrate()
    records = store.conversations
    try:
        conversation = records.create("default")
        statements: list[str] = []

        def record(*args: object) -> None:
            statements.append(str(args[2]))

        sa.event.listen(records.engine, "before_cursor_execute", record)
        records.messages("default", conversation.id, 50, order="newest")
        records.list_conversations("default", 50)
        sa.event.remove(records.engine, "before_cursor_execute", record)
        with records.engine.connect() as conn:
            plans = [
                " ".join(
                    str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, _params(sql))
                )
                for sql in statements
                if "ORDER BY" in sql
            ]
    finally:
        store.close()
    assert len(plans) == 2
    assert "USING INDEX ix_messages_conversation" in plans[0] and "TEMP B-TREE" not in plans[0]
    assert "USING INDEX ix_conversations_tenant_newest" in plans[1] and "TEMP B-TREE" not in plans[1]


def _params(sql: str) -> tuple[object, ...]:
    return tuple("x" for _ in range(sql.count("?")))


def test_values_postgresql_cannot_hold_are_bad_input_not_a_crash(records: ConversationRecords) -> None:
    title = "Refunds\x00"
    if records.engine.dialect.name == "postgresql":
        with pytest.raises(InvalidInput):
            records.create("default", title=title)
        assert records.list_conversations("default", 10).items == []
    else:
        conversation = records.create("default", title=title)
        assert records.get("default", conversation.id).title == title
