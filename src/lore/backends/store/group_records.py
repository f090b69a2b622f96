"""`GroupRecords`, the database's `groups` repository: a tenant's groups and their members.

Deleting a group also deletes the document grants that name it, in the same transaction: a document restricted
to it is then readable by its owner and admins only (never by whoever later creates a group of that name).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lore.backends.store import access_records
from lore.backends.store.schema import document_access, group_members, groups, tenants, users
from lore.errors import Conflict, NotFound
from lore.models import Group, utcnow
from lore.names import check_name

if TYPE_CHECKING:
    from lore.backends.store.database import Database


class GroupExists(Conflict):
    code = "group_exists"


def no_group(name: str) -> NotFound:
    return NotFound(f"no group {name!r}", details={"group": name})


def _named(tenant_id: str, name: str) -> list[sa.ColumnElement[bool]]:
    return [groups.c.tenant_id == tenant_id, groups.c.name == name]


class GroupRecords:
    """Reads and writes of `groups` and `group_members`; every call is tenant-scoped."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def list_groups(self, tenant_id: str) -> list[Group]:
        """Every group of the tenant, by name, with its members."""
        with self._db.read() as conn:
            found = conn.execute(
                sa.select(groups.c.name, groups.c.created_at)
                .where(groups.c.tenant_id == tenant_id)
                .order_by(groups.c.name)
            ).all()
            members = self._members(conn, tenant_id, [name for name, _ in found])
        return [Group(name, created, members.get(name, ())) for name, created in found]

    def get(self, tenant_id: str, name: str) -> Group:
        with self._db.read() as conn:
            return self._get(conn, tenant_id, name)

    def create(self, tenant_id: str, name: str) -> Group:
        """A new, empty group; `GroupExists` if the tenant has one of that name."""
        check_name("group", name)
        with self._db.write() as conn:
            tenant = self._db._insert(tenants).values(id=tenant_id, created_at=utcnow())
            conn.execute(tenant.on_conflict_do_nothing())  # groups reference their tenant's row
            if conn.execute(sa.select(groups.c.name).where(*_named(tenant_id, name))).first():
                raise GroupExists(f"group {name!r} exists", details={"group": name})
            conn.execute(sa.insert(groups).values(tenant_id=tenant_id, name=name, created_at=utcnow()))
            return self._get(conn, tenant_id, name)

    def delete(self, tenant_id: str, name: str) -> None:
        """The group, its memberships and the document grants naming it; `NotFound` if there is none."""
        with self._db.write() as conn:
            grants = sa.and_(
                document_access.c.tenant_id == tenant_id, document_access.c.principal == f"group:{name}"
            )
            if conn.execute(sa.delete(document_access).where(grants)).rowcount:
                access_records.raise_version(self._db, conn, tenant_id)
            members = sa.and_(group_members.c.tenant_id == tenant_id, group_members.c.group_name == name)
            conn.execute(sa.delete(group_members).where(members))
            if not conn.execute(sa.delete(groups).where(*_named(tenant_id, name))).rowcount:
                raise no_group(name)

    def add_member(self, tenant_id: str, name: str, user_id: str) -> Group:
        """Idempotent; `NotFound` if the group, or a user of that id in the tenant, does not exist."""
        with self._db.write() as conn:
            self._get(conn, tenant_id, name)
            user = sa.select(users.c.id).where(users.c.id == user_id, users.c.tenant_id == tenant_id)
            if conn.execute(user).first() is None:
                raise NotFound(f"no user {user_id!r}", details={"user_id": user_id})
            row = {"tenant_id": tenant_id, "group_name": name, "user_id": user_id}
            conn.execute(self._db._insert(group_members).values(row).on_conflict_do_nothing())
            return self._get(conn, tenant_id, name)

    def remove_member(self, tenant_id: str, name: str, user_id: str) -> Group:
        """Idempotent; `NotFound` if the group does not exist."""
        with self._db.write() as conn:
            self._get(conn, tenant_id, name)
            member = sa.and_(
                group_members.c.tenant_id == tenant_id,
                group_members.c.group_name == name,
                group_members.c.user_id == user_id,
            )
            conn.execute(sa.delete(group_members).where(member))
            return self._get(conn, tenant_id, name)

    def groups_of(self, tenant_id: str, user_id: str) -> frozenset[str]:
        """The groups one user belongs to: what a signed-in user's `Principal.groups` holds."""
        query = sa.select(group_members.c.group_name).where(
            group_members.c.tenant_id == tenant_id, group_members.c.user_id == user_id
        )
        with self._db.read() as conn:
            return frozenset(conn.execute(query).scalars())

    def _get(self, conn: sa.Connection, tenant_id: str, name: str) -> Group:
        created = conn.execute(sa.select(groups.c.created_at).where(*_named(tenant_id, name))).scalar()
        if created is None:
            raise no_group(name)
        return Group(name, created, self._members(conn, tenant_id, [name]).get(name, ()))

    @staticmethod
    def _members(conn: sa.Connection, tenant_id: str, names: list[str]) -> dict[str, tuple[str, ...]]:
        query = (
            sa.select(group_members.c.group_name, group_members.c.user_id)
            .where(group_members.c.tenant_id == tenant_id, group_members.c.group_name.in_(names))
            .order_by(group_members.c.group_name, group_members.c.user_id)
        )
        members: dict[str, list[str]] = defaultdict(list)
        for group, user in conn.execute(query):
            members[group].append(user)
        return {group: tuple(ids) for group, ids in members.items()}
