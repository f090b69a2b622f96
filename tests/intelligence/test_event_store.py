"""The events repository on SQLite and PostgreSQL: idempotent batches, tenant scoping, an end user's events
exported and erased with their conversations, documents a reader may name, and the search analytics SQL."""

from __future__ import annotations

from lore.backends.store.database import Database
from lore.backends.store.event_records import EventFilters
from lore.backends.store.search_analytics import QueryStats
from lore.models import Access, ConversationOwner, ErasedEndUser, NewMessage, utcnow
from tests.intelligence.conftest import HOUR, OTHER, TENANT, click, event, search, write


def test_a_batch_sent_twice_is_stored_once_and_only_its_tenant_reads_it(db: Database) -> None:
    batch = [event("e1", document_id="d1"), event("e2", "click", document_id="d1", rank=1)]
    assert db.events.append(batch) == 2
    assert db.events.append(batch) == 0
    assert db.events.append([event("e1", tenant=OTHER, document_id="d9")]) == 1  # ids are per tenant
    assert db.events.existing(TENANT, ["e1", "e2", "e3"]) == {"e1", "e2"}
    assert db.events.count(TENANT) == {"view": 1, "click": 1}
    page = db.events.page(TENANT, 1)
    assert [e.event_id for e in page.items] == ["e2"]  # newest first
    assert [e.event_id for e in db.events.page(TENANT, 1, page.next_cursor).items] == ["e1"]
    assert [e.document_id for e in db.events.stream(OTHER)] == ["d9"]
    assert list(db.events.stream(TENANT, EventFilters(kinds=frozenset({"rating"})))) == []


def test_an_end_users_events_are_exported_and_erased_with_their_conversations(db: Database) -> None:
    conversation = db.conversations.create(TENANT, owner=ConversationOwner("key:k1", "visitor-1"))
    now = utcnow()
    db.conversations.append_turn(
        TENANT,
        conversation.id,
        NewMessage("user", "Refunds?", now),
        NewMessage("assistant", "Five days.", now),
    )
    db.events.append(
        [
            event("mine-1", user_id="visitor-1", document_id="d1"),
            event("mine-2", "search", user_id="visitor-1", search_id="s1", query="refunds"),
            event("theirs", user_id="visitor-2", document_id="d1"),
            event("elsewhere", tenant=OTHER, user_id="visitor-1", document_id="d1"),
        ]
    )
    data = db.conversations.end_user_data(TENANT, "visitor-1")
    assert [e.event_id for e in data.events] == ["mine-1", "mine-2"]
    assert len(data.conversations) == 1
    assert db.conversations.erase_end_user(TENANT, "visitor-1") == ErasedEndUser(1, 2, 2)
    assert db.conversations.end_user_data(TENANT, "visitor-1").events == []
    assert [e.event_id for e in db.events.stream(TENANT)] == ["theirs"]
    assert [e.event_id for e in db.events.stream(OTHER)] == ["elsewhere"]


def test_readable_collections_name_only_what_the_readers_may_read(db: Database) -> None:
    open_doc = write(db, "Refunds take five days.")
    secret = write(db, "Executives get refunds at once.", collection="legal", access=Access(True))
    foreign = write(db, "Another tenant's page.", tenant=OTHER)
    asked = [open_doc.id, secret.id, foreign.id, "no-such-document"]
    assert db.documents.readable_collections(TENANT, asked) == {open_doc.id: "help", secret.id: "legal"}
    outsider = frozenset({"user:dave"})
    assert db.documents.readable_collections(TENANT, asked, outsider) == {open_doc.id: "help"}


def test_search_analytics_count_queries_clicks_by_rank_and_empty_searches(db: Database) -> None:
    now = utcnow()
    searches = [
        search(f"pw{i}", q, 10) for i, q in enumerate(["reset password", "Reset Password", "RESET password"])
    ]
    searches += [search(f"rf{i}", "refund", 5) for i in range(4)]
    searches += [search(f"un{i}", "unicorn", 0) for i in range(2)]
    searches += [search("old", "refund", 5, at=now - 48 * HOUR)]  # before the window
    searches += [search("b1", "refund", 5, tenant=OTHER)]
    clicks = [click("pw0", 1), click("pw0", 1, n=1), click("pw1", 3), click("rf0", 9)]  # rf0 showed 5 hits
    clicks += [click("b1", 1, tenant=OTHER), click("old", 2)]
    db.events.append(searches + clicks)

    found = db.events.search_analytics(TENANT, now - HOUR, now + HOUR, limit=10, min_searches=3)

    assert (found.searches, found.clicked) == (9, 3)
    assert found.top_queries == [
        QueryStats("refund", 4, 1, 0),
        QueryStats("reset password", 3, 2, 0),
        QueryStats("unicorn", 2, 0, 2),
    ]
    assert found.no_click_queries == []
    assert found.zero_result_queries == [QueryStats("unicorn", 2, 0, 2)]
    rates = {rank.rank: (rank.impressions, rank.clicks) for rank in found.ctr_by_rank}
    assert list(rates) == list(range(1, 11))
    assert rates[1] == (7, 1) and rates[3] == (7, 1) and rates[2] == (7, 0)  # rf0's rank 9 was never shown
    assert rates[6] == (3, 0) and rates[10] == (3, 0)
    assert found.ctr_by_rank[0].ctr == 1 / 7

    never = db.events.search_analytics(TENANT, now - HOUR, limit=10, min_searches=2)
    assert [q.query for q in never.no_click_queries] == ["unicorn"]
    assert db.events.search_analytics(TENANT, limit=1).top_queries == [QueryStats("refund", 5, 2, 0)]
    assert db.events.search_analytics(OTHER).top_queries == [QueryStats("refund", 1, 1, 0)]
