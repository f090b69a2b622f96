"""`AccessRecords`, the database's `access` repository: who may read each document, and what a set of readers
may not see.

A document is restricted by its `restricted` flag; its `document_access` rows then name the groups and users it
grants ("group:<name>", "user:<id>"). Its owner and the tenant's admins read it whatever the rows say. Listings
and SQL searches apply that rule inside their query (`queries.readable`, `queries.hidden_documents`); searches
resolve it once per search from the tenant's `restricted` documents, which a process keeps until the tenant's
access version moves: every change to what a reader may not see raises it in its own transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from lore.backends.store import queries
from lore.backends.store.schema import access_versions, chunks, document_access, documents, groups, users
from lore.errors import InvalidInput, NotFound
from lore.models import Access, Author, Readers, RestrictedDocument, utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database


def no_document(document_id: str) -> NotFound:
    """Also what a document the caller may not read is: its existence is not theirs to learn."""
    return NotFound(f"no document {document_id!r}", details={"document_id": document_id})


def raise_version(db: Database, conn: sa.Connection, tenant_id: str) -> None:
    """What the tenant's readers may not see changes in this transaction."""
    first = db._insert(access_versions).values(tenant_id=tenant_id, version=1)
    bumped = first.on_conflict_do_update(
        index_elements=["tenant_id"], set_={"version": access_versions.c.version + 1}
    )
    conn.execute(bumped)


def replace_grants(conn: sa.Connection, tenant_id: str, document_id: str, access: Access) -> None:
    """The document's `document_access` rows become `access`'s; every group and user must be the tenant's."""
    _check_known(conn, tenant_id, access)
    conn.execute(sa.delete(document_access).where(document_access.c.document_id == document_id))
    rows = [
        {"document_id": document_id, "principal": principal, "tenant_id": tenant_id}
        for principal in (access.principals if access.restricted else [])
    ]
    if rows:
        conn.execute(sa.insert(document_access), rows)


def _check_known(conn: sa.Connection, tenant_id: str, access: Access) -> None:
    wanted_groups, wanted_users = sorted(set(access.groups)), sorted(set(access.users))
    known_groups = set(
        conn.execute(
            sa.select(groups.c.name).where(groups.c.tenant_id == tenant_id, groups.c.name.in_(wanted_groups))
        ).scalars()
    )
    known_users = set(
        conn.execute(
            sa.select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.id.in_(wanted_users))
        ).scalars()
    )
    unknown_groups = [name for name in wanted_groups if name not in known_groups]
    unknown_users = [user for user in wanted_users if user not in known_users]
    if unknown_groups or unknown_users:
        raise InvalidInput(
            "access names groups or users this tenant does not have",
            details={"unknown_groups": unknown_groups, "unknown_users": unknown_users},
        )


class AccessRecords:
    """Reads and writes of documents' permissions; every call is tenant-scoped."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def access_of(self, tenant_id: str, document_id: str, readers: Readers = None) -> Access:
        """The document's access, if `readers` may read it (else `NotFound`)."""
        with self._db.read() as conn:
            return self._current(conn, tenant_id, document_id, readers)

    def set_access(self, tenant_id: str, document_id: str, access: Access, author: Author) -> Access:
        """Replace the document's access; `author` must be able to read it (else `NotFound`)."""
        with self._db.write() as conn:
            self._current(conn, tenant_id, document_id, author.readers)
            where = sa.and_(documents.c.id == document_id, documents.c.tenant_id == tenant_id)
            values = {"restricted": access.restricted, "updated_at": utcnow()}
            conn.execute(sa.update(documents).where(where).values(values))
            replace_grants(conn, tenant_id, document_id, access)
            raise_version(self._db, conn, tenant_id)
            return self._current(conn, tenant_id, document_id, None)

    def version(self, tenant_id: str) -> int:
        """The tenant's access version: one primary-key lookup (0 until anything was ever restricted)."""
        query = sa.select(access_versions.c.version).where(access_versions.c.tenant_id == tenant_id)
        with self._db.read() as conn:
            return int(conn.execute(query).scalar() or 0)

    def restricted(self, tenant_id: str) -> list[RestrictedDocument]:
        """Every restricted document of the tenant, with its grants and chunks (`ix_documents_restricted`)."""
        mine = sa.and_(documents.c.tenant_id == tenant_id, documents.c.restricted.is_(True))
        fields = (documents.c.id, documents.c.collection, documents.c.owner)
        grants: dict[str, set[str]] = {}
        parts: dict[str, list[int]] = {}
        with self._db.read() as conn:
            found = conn.execute(sa.select(*fields).where(mine)).all()
            granted = sa.select(document_access.c.document_id, document_access.c.principal).join(
                documents, documents.c.id == document_access.c.document_id
            )
            for document_id, principal in conn.execute(granted.where(mine)):
                grants.setdefault(document_id, set()).add(principal)
            owned = sa.select(chunks.c.document_id, chunks.c.id).join(
                documents, documents.c.id == chunks.c.document_id
            )
            for document_id, chunk_id in conn.execute(owned.where(mine)):
                parts.setdefault(document_id, []).append(int(chunk_id))
        return [
            RestrictedDocument(
                doc_id, collection, owner, frozenset(grants.get(doc_id, ())), tuple(parts.get(doc_id, ()))
            )
            for doc_id, collection, owner in found
        ]

    def _current(self, conn: sa.Connection, tenant_id: str, document_id: str, readers: Readers) -> Access:
        where = [documents.c.id == document_id, documents.c.tenant_id == tenant_id, queries.readable(readers)]
        restricted = conn.execute(sa.select(documents.c.restricted).where(*where)).scalar()
        if restricted is None:
            raise no_document(document_id)
        if not restricted:
            return Access(restricted=False)
        rows = conn.execute(
            sa.select(document_access.c.principal)
            .where(document_access.c.document_id == document_id)
            .order_by(document_access.c.principal)
        ).scalars()
        principals = list(rows)
        return Access(
            restricted=True,
            groups=tuple(p.removeprefix("group:") for p in principals if p.startswith("group:")),
            users=tuple(p.removeprefix("user:") for p in principals if p.startswith("user:")),
        )
