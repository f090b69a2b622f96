"""Document permissions and groups in the store, on every backend: owners, restricted documents, what each set
of readers may list, fetch, search and delete, the hidden set a search resolves, and groups with members."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from lore.backends.store.database import Database
from lore.backends.store.group_records import GroupExists
from lore.backends.store.schema import tenants, users
from lore.errors import InvalidInput, NotFound, SourceTaken
from lore.models import Access, Author, Document, Hidden, SearchFilters, utcnow
from lore.service.visibility import Visibility
from tests.contracts.test_database_contract import C1, T1, T2, draft, vectors_of

ALICE = Author("user:alice", frozenset({"user:alice", "group:legal"}))
BOB = Author("user:bob", frozenset({"user:bob"}))
ADMIN = Author("user:root", None)
LEGAL = Access(restricted=True, groups=("legal",))


def add_user(db: Database, user_id: str, tenant: str = T1, role: str = "editor") -> None:
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(db._insert(tenants).values(id=tenant, created_at=now).on_conflict_do_nothing())
        row = {"id": user_id, "tenant_id": tenant, "email": f"{user_id}@{tenant}.example", "role": role}
        conn.execute(sa.insert(users).values(**row, created_at=now, updated_at=now))


@pytest.fixture
def people(db: Database) -> Database:
    """Users alice, bob and carol in T1 (alice and carol in group legal), dave in T2."""
    for user in ("alice", "bob", "carol"):
        add_user(db, user)
    add_user(db, "dave", T2)
    db.groups.create(T1, "legal")
    db.groups.add_member(T1, "legal", "alice")
    db.groups.add_member(T1, "legal", "carol")
    return db


def write_as(
    db: Database, author: Author, *texts: str, access: Access | None = None, **options: Any
) -> Document:
    document, chunks = draft(*texts, **options)
    document.author, document.access = author, access
    return db.documents.write_document(document, chunks, vectors_of(chunks), "test-model@f32")


def readers(*names: str) -> frozenset[str]:
    return frozenset(names)


# -- owners and sources --------------------------------------------------------------------------------------


def test_a_new_document_is_owned_by_its_author_and_open_to_its_tenant(db: Database) -> None:
    written = write_as(db, BOB, "alpha")
    assert (written.owner, written.restricted) == ("user:bob", False)
    assert db.documents.get_document(T1, written.id, readers=readers("user:carol")) == written


def test_only_the_owner_or_an_admin_writes_over_a_source(db: Database) -> None:
    first = write_as(db, BOB, "trusted text", source="policy.md")
    with pytest.raises(SourceTaken) as refused:
        write_as(db, ALICE, "attacker text", source="policy.md")
    assert refused.value.details == {"source": "policy.md", "collection": "handbook"}
    stored = db.documents.get_document(T1, first.id, with_text=True)
    assert stored is not None and stored.text == "trusted text"
    assert write_as(db, BOB, "bob's update", source="policy.md").id == first.id
    by_admin = write_as(db, ADMIN, "admin's update", source="policy.md")
    assert (by_admin.id, by_admin.owner) == (first.id, "user:bob")  # an admin's edit keeps the owner


def test_an_operator_document_cannot_be_replaced_by_an_editor(db: Database) -> None:
    write_as(db, Author("operator", None), "ingested by the cli", source="/srv/help/refunds.md")
    with pytest.raises(SourceTaken):
        write_as(db, BOB, "attacker text", source="/srv/help/refunds.md")


def test_a_refused_write_changes_nothing(db: Database) -> None:
    written = write_as(db, BOB, "alpha", "beta", source="s.md", tags=["keep"])
    seq = db.changes.last_seq()
    with pytest.raises(SourceTaken):
        write_as(db, ALICE, "gamma", source="s.md", tags=["other"])
    assert db.changes.last_seq() == seq
    assert db.documents.get_document(T1, written.id) == written
    assert db.keywords.keyword_search(T1, "gamma", 5) == []


def test_the_same_source_in_another_tenant_is_another_document(db: Database) -> None:
    write_as(db, BOB, "alpha", source="s.md")
    other = write_as(db, Author("user:dave", frozenset({"user:dave"})), "beta", source="s.md", tenant=T2)
    assert other.tenant_id == T2 and other.owner == "user:dave"


# -- restricted documents ------------------------------------------------------------------------------------


def test_a_restricted_document_is_read_by_its_grants_its_owner_and_admins(people: Database) -> None:
    db = people
    secret = write_as(db, BOB, "merger plans", source="secret.md", access=LEGAL)
    assert secret.restricted
    who_reads = {
        "owner": readers("user:bob"),
        "group": readers("user:carol", "group:legal"),
        "admin": None,
    }
    for name, reader in who_reads.items():
        assert db.documents.get_document(T1, secret.id, readers=reader) is not None, name
    for outsider in (readers("user:dave"), readers("user:carol"), readers("key:k1", "group:support")):
        assert db.documents.get_document(T1, secret.id, readers=outsider) is None
        assert db.documents.list_documents(T1, None, 10, None, outsider).items == []
        assert db.keywords.keyword_search(T1, "merger", 5, readers=outsider) == []
        assert db.documents.filter_chunk_ids(T1, None, SearchFilters(), outsider) == set()
    assert db.access.access_of(T1, secret.id) == Access(True, ("legal",), ())


def test_collections_count_only_what_the_reader_may_read(people: Database) -> None:
    db = people
    write_as(db, BOB, "merger plans", source="secret.md", access=LEGAL)
    write_as(db, BOB, "holiday rota", source="rota.md")
    counts = {
        name: [(c.name, c.document_count) for c in db.documents.list_collections(T1, reader)]
        for name, reader in {"admin": None, "legal": readers("user:carol", "group:legal")}.items()
    }
    assert counts == {"admin": [(C1, 2)], "legal": [(C1, 2)]}
    outsider = db.documents.list_collections(T1, readers("user:dave"))
    assert [(c.name, c.document_count, c.chunk_count) for c in outsider] == [(C1, 1, 1)]


def test_a_rewrite_without_access_keeps_the_document_restricted(people: Database) -> None:
    db = people
    secret = write_as(db, BOB, "merger plans", source="secret.md", access=LEGAL)
    rewritten = write_as(db, BOB, "merger plans, revised", source="secret.md")
    assert rewritten.restricted and rewritten.id == secret.id
    assert db.access.access_of(T1, secret.id) == LEGAL
    opened = write_as(db, BOB, "merger plans, public", source="secret.md", access=Access(False))
    assert not opened.restricted
    assert db.documents.get_document(T1, secret.id, readers=readers("user:dave")) is not None


def test_grants_must_name_the_tenants_groups_and_users(people: Database) -> None:
    with pytest.raises(InvalidInput) as refused:
        write_as(people, BOB, "x", access=Access(True, ("legal", "nobody"), ("alice", "dave")))
    assert refused.value.details == {"unknown_groups": ["nobody"], "unknown_users": ["dave"]}
    assert people.documents.list_documents(T1, None, 10, None).items == []


def test_changing_access_needs_to_read_the_document(people: Database) -> None:
    db = people
    secret = write_as(db, BOB, "merger plans", access=LEGAL)
    with pytest.raises(NotFound):
        db.access.set_access(T1, secret.id, Access(False), Author("user:dave", readers("user:dave")))
    with pytest.raises(NotFound):
        db.access.access_of(T1, secret.id, readers("user:dave"))
    carol = Author("user:carol", readers("user:carol", "group:legal"))
    changed = db.access.set_access(T1, secret.id, Access(True, (), ("alice",)), carol)
    assert changed == Access(True, (), ("alice",))
    assert db.documents.get_document(T1, secret.id, readers=readers("user:carol", "group:legal")) is None
    assert db.documents.get_document(T1, secret.id, readers=readers("user:alice")) is not None


def test_deleting_needs_to_read_the_document(people: Database) -> None:
    db = people
    secret = write_as(db, BOB, "merger plans", access=LEGAL)
    assert not db.documents.delete_document(T1, secret.id, readers("user:dave"))
    assert not db.documents.delete_document(T2, secret.id)
    assert db.documents.get_document(T1, secret.id) is not None
    assert db.documents.delete_document(T1, secret.id, readers("user:alice", "group:legal"))


def test_hidden_names_the_documents_and_chunks_a_reader_may_not_see(people: Database) -> None:
    db = people
    visibility = Visibility(db.access)
    open_doc = write_as(db, BOB, "public one", source="open.md")
    secret = write_as(db, BOB, "secret one", "secret two", source="secret.md", access=LEGAL)
    empty = write_as(db, BOB, source="empty.md", access=LEGAL)
    mine = write_as(db, ALICE, "alice's own", source="mine.md", access=Access(True))
    dave = visibility.hidden(T1, readers("user:dave"), None)
    assert dave.documents == {secret.id, empty.id, mine.id}
    secret_chunks = db.documents.filter_chunk_ids(T1, None, SearchFilters(document_ids=(secret.id,)))
    mine_chunks = db.documents.filter_chunk_ids(T1, None, SearchFilters(document_ids=(mine.id,)))
    assert dave.chunks == secret_chunks | mine_chunks and len(dave.chunks) == 3
    assert visibility.hidden(T1, readers("user:alice", "group:legal"), None).documents == set()
    assert visibility.hidden(T1, readers("user:carol", "group:legal"), None).documents == {mine.id}
    assert visibility.hidden(T1, None, None) == Hidden()
    assert visibility.hidden(T1, readers("user:dave"), ["faq"]) == Hidden()
    assert visibility.hidden(T2, readers("user:dave"), None) == Hidden()
    assert open_doc.id not in dave.documents
    for outsider in (readers("user:dave"), readers("user:carol", "group:legal"), readers("key:k")):
        in_sql = db.documents.filter_chunk_ids(T1, None, SearchFilters(), outsider)
        everything = db.documents.filter_chunk_ids(T1, None, SearchFilters())
        assert in_sql == everything - visibility.hidden(T1, outsider, None).chunks  # one rule, two places


def test_every_change_to_what_is_hidden_moves_the_access_version(people: Database) -> None:
    """A process keeps a tenant's restricted documents until the version moves: each of these must move it."""
    db = people
    visibility = Visibility(db.access)
    dave = readers("user:carol")  # carol, as a key without her groups would be
    steps: list[tuple[str, Callable[[], object]]] = []
    secret = write_as(db, BOB, "merger plans", source="secret.md", access=LEGAL)
    assert visibility.hidden(T1, dave, None).documents == {secret.id}
    opened = Access(False)
    steps.append(("open it", lambda: db.access.set_access(T1, secret.id, opened, ADMIN)))
    steps.append(
        ("restrict it on a rewrite", lambda: write_as(db, BOB, "v2", source="secret.md", access=LEGAL))
    )
    steps.append(("rewrite it with new chunks", lambda: write_as(db, BOB, "v3", "more", source="secret.md")))
    steps.append(
        ("grant carol", lambda: db.access.set_access(T1, secret.id, Access(True, (), ("carol",)), ADMIN))
    )
    steps.append(("withdraw it", lambda: db.access.set_access(T1, secret.id, LEGAL, ADMIN)))
    steps.append(("delete the group", lambda: db.groups.delete(T1, "legal")))
    steps.append(("delete it", lambda: db.documents.delete_document(T1, secret.id)))
    for name, step in steps:
        before = db.access.version(T1)
        step()
        assert db.access.version(T1) > before, name
        expected = db.documents.filter_chunk_ids(T1, None, SearchFilters())
        expected -= db.documents.filter_chunk_ids(T1, None, SearchFilters(), dave)
        assert visibility.hidden(T1, dave, None).chunks == expected, name
    assert db.access.version(T2) == 0


def test_an_unrestricted_rewrite_leaves_the_access_version(db: Database) -> None:
    write_as(db, BOB, "alpha", source="a.md")
    write_as(db, BOB, "beta", source="a.md")
    assert db.access.version(T1) == 0


def test_listing_a_page_of_readable_documents_skips_the_rest(people: Database) -> None:
    db = people
    written = [
        write_as(db, BOB, f"text {i}", source=f"{i}.md", access=LEGAL if i % 2 else None) for i in range(6)
    ]
    outsider = readers("user:dave")
    first = db.documents.list_documents(T1, None, 2, None, outsider)
    second = db.documents.list_documents(T1, None, 2, first.next_cursor, outsider)
    listed = [d.id for d in first.items + second.items]
    assert listed == [d.id for d in reversed(written) if not d.restricted]
    assert second.next_cursor is None


# -- groups --------------------------------------------------------------------------------------------------


def test_groups_are_created_listed_and_joined(people: Database) -> None:
    db = people
    db.groups.create(T1, "support")
    db.groups.add_member(T1, "support", "bob")
    db.groups.add_member(T1, "support", "bob")  # idempotent
    listed = db.groups.list_groups(T1)
    assert [(g.name, g.members) for g in listed] == [("legal", ("alice", "carol")), ("support", ("bob",))]
    assert db.groups.groups_of(T1, "alice") == {"legal"}
    assert db.groups.groups_of(T1, "carol") == {"legal"}
    assert db.groups.groups_of(T1, "dave") == frozenset()  # another tenant's user
    assert db.groups.list_groups(T2) == []
    assert db.groups.remove_member(T1, "legal", "carol").members == ("alice",)


def test_group_names_and_members_are_checked(people: Database) -> None:
    db = people
    with pytest.raises(GroupExists):
        db.groups.create(T1, "legal")
    with pytest.raises(InvalidInput):
        db.groups.create(T1, "no spaces")
    with pytest.raises(NotFound):
        db.groups.add_member(T1, "legal", "dave")  # dave is T2's
    with pytest.raises(NotFound):
        db.groups.add_member(T2, "legal", "dave")  # T2 has no group legal
    with pytest.raises(NotFound):
        db.groups.delete(T2, "legal")
    assert [g.name for g in db.groups.list_groups(T1)] == ["legal"]


def test_deleting_a_group_drops_its_grants_for_good(people: Database) -> None:
    db = people
    secret = write_as(db, BOB, "merger plans", access=LEGAL)
    db.groups.delete(T1, "legal")
    assert db.access.access_of(T1, secret.id) == Access(True)
    db.groups.create(T1, "legal")  # a new group of the old name inherits nothing
    db.groups.add_member(T1, "legal", "carol")
    assert db.documents.get_document(T1, secret.id, readers=readers("user:carol", "group:legal")) is None
    assert db.groups.groups_of(T1, "alice") == frozenset()
