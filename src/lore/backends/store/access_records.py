"""`AccessRecords`, the database's `access` repository: who may read each document, and what a set of readers
may not see.

A document is restricted by its `restricted` flag; its `document_access` rows then name the groups and users it
grants ("group:<name>", "user:<id>"). Its owner and the tenant's admins read it whatever the rows say. A
search resolves its readers into the `Hidden` documents and chunks once, and filters every retriever with that
one answer; listings and SQL searches use the same condition (`queries.hidden_documents`) inside their query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lore.backends.store import queries
from lore.backends.store.schema import chunks, document_access, documents, groups, users
from lore.errors import InvalidInput, NotFound
from lore.models import Access, Author, Hidden, Readers, utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database


def no_document(document_id: str) -> NotFound:
    """Also what a document the caller may not read is: its existence is not theirs to learn."""
    return NotFound(f"no document {document_id!r}", details={"document_id": document_id})


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
            return self._current(conn, tenant_id, document_id, None)

    def hidden(self, tenant_id: str, readers: Readers, collections: Sequence[str] | None = None) -> Hidden:
        """The restricted documents of the tenant (in `collections`) that `readers` may not read, with their
        chunks: nothing for admins (None), and one index probe in a tenant without restricted documents."""
        if readers is None:
            return Hidden()
        ids = queries.hidden_documents(tenant_id, readers, collections).subquery()
        query = sa.select(ids.c.id, chunks.c.id).select_from(
            ids.outerjoin(chunks, chunks.c.document_id == ids.c.id)
        )
        with self._db.read() as conn:
            found = conn.execute(query).all()
        return Hidden(
            frozenset(document for document, _ in found),
            frozenset(int(chunk) for _, chunk in found if chunk is not None),
        )

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
