"""`NoticeRecords`, the database's `notices` repository: the claim that makes an announcement happen once.

    >>> db.notices.claim("default", "quota.near", "requests_per_day", "2026-12-02")
    True
    >>> db.notices.claim("default", "quota.near", "requests_per_day", "2026-12-02")  # any process, any time
    False

A claim is one `INSERT ... ON CONFLICT DO NOTHING RETURNING` on the row's key: of several processes claiming the same
notice at once, the store lets exactly one insert it, and only that one announces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lore.backends.store.schema import notices
from lore.models import utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database


class NoticeRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, tenant_id: str, event_type: str, subject: str, period: str) -> bool:
        """Whether this call made the notice's row (True: announce it), or another had (False: it was)."""
        row = {
            "tenant_id": tenant_id,
            "event_type": event_type,
            "subject": subject,
            "period": period,
            "created_at": utcnow(),
        }
        # RETURNING, not rowcount: PostgreSQL's driver does not report a row count for this statement.
        statement = self.db._insert(notices).values(row).on_conflict_do_nothing().returning(notices.c.period)
        with self.db.write() as conn:
            return conn.execute(statement).first() is not None
