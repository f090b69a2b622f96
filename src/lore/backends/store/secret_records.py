"""`SecretRecords`, the database's `secrets` repository: each tenant's secrets as ciphertext, with a masked
form to show, when each was last used and since when its provider has been refusing it.

Encryption is `lore.security.secrets`' business: this module never sees a secret in the clear. `reencrypt`
rewrites every ciphertext Lore keeps (these, the users' TOTP secrets and the webhooks' signing secrets) in one transaction, with the rows
locked, so a rotation never loses a secret set while it runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import tenant_secrets, users, webhooks
from lore.errors import NotFound
from lore.models import utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database


@dataclass(frozen=True, slots=True)
class SecretRecord:
    tenant_id: str
    name: str
    ciphertext: str
    masked: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    failing_since: datetime | None


Reencrypt = Callable[[str, str], str]  # (ciphertext, what it is) -> the new ciphertext


def _secret(row: AnyRow) -> SecretRecord:
    values = row._mapping
    return SecretRecord(**{field.name: values[field.name] for field in fields(SecretRecord)})


def _named(tenant_id: str, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(tenant_secrets.c.tenant_id == tenant_id, tenant_secrets.c.name == name)


class SecretRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, tenant_id: str, name: str, ciphertext: str, masked: str) -> SecretRecord:
        """Set or replace a secret; a replaced one starts afresh (never used, not failing)."""
        now = utcnow()
        row = {
            "tenant_id": tenant_id,
            "name": name,
            "ciphertext": ciphertext,
            "masked": masked,
            "created_at": now,
            "updated_at": now,
        }
        fresh = {"ciphertext": ciphertext, "masked": masked, "updated_at": now}
        statement = (
            self._db._insert(tenant_secrets)
            .values(row)
            .on_conflict_do_update(
                index_elements=["tenant_id", "name"],
                set_={**fresh, "last_used_at": None, "failing_since": None},
            )
        )
        try:
            with self._db.write() as conn:
                conn.execute(statement)
        except sa.exc.IntegrityError:  # the tenant's row is missing
            raise NotFound(f"no tenant {tenant_id!r}", details={"tenant": tenant_id}) from None
        found = self.get(tenant_id, name)
        assert found is not None
        return found

    def get(self, tenant_id: str, name: str) -> SecretRecord | None:
        with self._db.read() as conn:
            row = conn.execute(sa.select(tenant_secrets).where(_named(tenant_id, name))).first()
        return _secret(row) if row is not None else None

    def list(self, tenant_id: str) -> list[SecretRecord]:
        query = (
            sa.select(tenant_secrets)
            .where(tenant_secrets.c.tenant_id == tenant_id)
            .order_by(tenant_secrets.c.name)
        )
        with self._db.read() as conn:
            return [_secret(row) for row in conn.execute(query)]

    def delete(self, tenant_id: str, name: str) -> bool:
        with self._db.write() as conn:
            return conn.execute(sa.delete(tenant_secrets).where(_named(tenant_id, name))).rowcount > 0

    def mark_used(self, tenant_id: str, name: str, version: datetime, every: timedelta) -> None:
        """Record a use of the secret set at `version` (`updated_at`), at most once per `every`."""
        now = utcnow()
        stale = sa.or_(tenant_secrets.c.last_used_at.is_(None), tenant_secrets.c.last_used_at < now - every)
        where = sa.and_(_named(tenant_id, name), tenant_secrets.c.updated_at == version, stale)
        with self._db.engine.begin() as conn:
            conn.execute(sa.update(tenant_secrets).where(where).values(last_used_at=now))

    def set_failing(self, tenant_id: str, name: str, version: datetime, failing: bool) -> bool:
        """Flag the secret set at `version` as refused by its provider (or no longer): True when that changed
        its state, so the change is reported once."""
        flagged = tenant_secrets.c.failing_since.is_not(None)
        where = sa.and_(_named(tenant_id, name), tenant_secrets.c.updated_at == version)
        statement = sa.update(tenant_secrets).where(where, sa.not_(flagged) if failing else flagged)
        with self._db.engine.begin() as conn:
            changed = conn.execute(statement.values(failing_since=utcnow() if failing else None))
        return changed.rowcount > 0

    def count_failing(self) -> int:
        """Secrets refused by their provider, over every tenant: what /readyz reports."""
        query = sa.select(sa.func.count()).where(tenant_secrets.c.failing_since.is_not(None))
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def reencrypt(self, transform: Reencrypt) -> Counter[str]:
        """Every ciphertext replaced by `transform(ciphertext, what)`, all in one transaction (a failure
        changes none); how many were rewritten per tenant. `what` names the secret for error messages."""
        rewritten: Counter[str] = Counter()
        with self._db.write() as conn:
            for row in conn.execute(sa.select(tenant_secrets).with_for_update()).all():
                ciphertext = transform(row.ciphertext, f"{row.name} of tenant {row.tenant_id!r}")
                statement = sa.update(tenant_secrets).where(_named(row.tenant_id, row.name))
                conn.execute(statement.values(ciphertext=ciphertext))
                rewritten[row.tenant_id] += 1
            enrolled = sa.select(users.c.id, users.c.tenant_id, users.c.mfa_secret).where(
                users.c.mfa_secret.is_not(None)
            )
            for user in conn.execute(enrolled.with_for_update()).all():
                ciphertext = transform(user.mfa_secret, f"the TOTP secret of user {user.id!r}")
                conn.execute(sa.update(users).where(users.c.id == user.id).values(mfa_secret=ciphertext))
                rewritten[user.tenant_id] += 1
            for hook in conn.execute(sa.select(webhooks).with_for_update()).all():
                values = {"secret": transform(hook.secret, f"the signing secret of webhook {hook.id}")}
                if hook.previous_secret is not None:
                    values["previous_secret"] = transform(
                        hook.previous_secret, f"the old secret of {hook.id}"
                    )
                conn.execute(sa.update(webhooks).where(webhooks.c.id == hook.id).values(values))
                rewritten[hook.tenant_id] += 1
        return rewritten
