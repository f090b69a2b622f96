"""`UserRecords`, the database's `users` repository: users, their recovery codes, and the refresh tokens and
web sessions of their logins.

Every state change that must happen once is one conditional UPDATE (a refresh token is used, a recovery code is
spent, a TOTP step is taken only if it is newer than the last), so two racing requests cannot both win on SQLite
or PostgreSQL. The per-request checks (`access`, `session`) are one statement, an indexed join by primary key
with the user's groups: cheap enough to run on every request, which is what lets a disabled user or tenant stop
at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from lore.backends.store import paging
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import (
    UtcDateTime,
    group_members,
    recovery_codes,
    refresh_tokens,
    tenants,
    users,
)
from lore.backends.store.tenant_records import Tenant
from lore.errors import Conflict
from lore.models import Page, utcnow
from lore.security.users import Holder, User

TokenKind = Literal["refresh", "session"]
_USER_FIELDS = tuple(users.c)
_TENANT_FIELDS = (
    tenants.c.name.label("tenant_name"),
    tenants.c.created_at.label("tenant_created_at"),
    tenants.c.disabled_at.label("tenant_disabled_at"),
    tenants.c.settings.label("tenant_settings"),
)
# A user, its tenant and one row per group it is in (one row with no group when it is in none): the whole of a
# per-request check in one statement, so one round trip to the store.
_HOLDERS = sa.join(users, tenants, users.c.tenant_id == tenants.c.id).outerjoin(
    group_members, group_members.c.user_id == users.c.id
)
_HOLDER_FIELDS = (*_USER_FIELDS, *_TENANT_FIELDS, group_members.c.group_name)
# Built once, with bound parameters: building and keying a statement this size costs more than running it.
_ACCESS = (
    sa.select(*_HOLDER_FIELDS)
    .select_from(_HOLDERS)
    .where(
        users.c.id == sa.bindparam("user_id"),
        ~sa.exists().where(
            refresh_tokens.c.family_id == sa.bindparam("family_id"), refresh_tokens.c.revoked_at.is_not(None)
        ),
    )
)
_SESSION = (
    sa.select(*_HOLDER_FIELDS)
    .select_from(_HOLDERS.join(refresh_tokens, refresh_tokens.c.user_id == users.c.id))
    .where(
        refresh_tokens.c.token_hash == sa.bindparam("token_hash"),
        refresh_tokens.c.kind == "session",
        refresh_tokens.c.revoked_at.is_(None),
        refresh_tokens.c.expires_at > sa.bindparam("now", type_=UtcDateTime()),
    )
)


def _user(row: AnyRow) -> User:
    return User(**{column.name: row._mapping[column.name] for column in _USER_FIELDS})


def _tenant(row: AnyRow) -> Tenant:
    fields = row._mapping
    return Tenant(
        fields["tenant_id"],
        fields["tenant_name"],
        fields["tenant_created_at"],
        fields["tenant_disabled_at"],
        dict(fields["tenant_settings"] or {}),
    )


@dataclass(frozen=True, slots=True)
class Rotation:
    """What using a refresh token did: `rotated` (a new token replaced it), `reused` (it had been used before:
    its whole family is now revoked), or `dead` (unknown, expired or revoked)."""

    outcome: Literal["rotated", "reused", "dead"]
    user_id: str | None = None
    family_id: str | None = None
    tenant_id: str | None = None


@dataclass(frozen=True, slots=True)
class LoginRef:
    """Which login a refresh token or session cookie belongs to, and whose it is."""

    family_id: str
    user_id: str
    tenant_id: str


class UserRecords:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    # --- users -------------------------------------------------------------------------------------------

    def create(
        self,
        tenant_id: str,
        email: str,
        role: str,
        password_hash: str | None,
        oidc_subject: str | None = None,
    ) -> User:
        """A new user; Conflict when the tenant already has one with this email (or single sign-on subject)."""
        now = utcnow()
        row = {
            "id": uuid.uuid4().hex,
            "tenant_id": tenant_id,
            "email": email,
            "role": role,
            "password_hash": password_hash,
            "oidc_subject": oidc_subject,
            "failed_logins": 0,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self._engine.begin() as conn:
                return _user(conn.execute(sa.insert(users).values(row).returning(*users.c)).one())
        except sa.exc.IntegrityError:
            raise Conflict(
                "the tenant already has a user with this email", details={"email": email}
            ) from None

    def get(self, tenant_id: str, user_id: str) -> User | None:
        return self._one(users.c.tenant_id == tenant_id, users.c.id == user_id)

    def by_email(self, tenant_id: str, email: str) -> User | None:
        return self._one(users.c.tenant_id == tenant_id, users.c.email == email)

    def by_oidc_subject(self, tenant_id: str, subject: str) -> User | None:
        return self._one(users.c.tenant_id == tenant_id, users.c.oidc_subject == subject)

    def _one(self, *conditions: sa.ColumnElement[bool]) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(users).where(*conditions)).first()
        return _user(row) if row is not None else None

    def list_users(self, tenant_id: str, limit: int, cursor: str | None = None) -> Page[User]:
        """Newest first; `cursor` is the `next_cursor` of the previous page."""
        query = paging.newest_first(
            sa.select(users).where(users.c.tenant_id == tenant_id), users, limit, cursor
        )
        with self._engine.connect() as conn:
            return paging.page([_user(row) for row in conn.execute(query)], limit)

    def count(self, tenant_id: str | None = None) -> int:
        """Users of one tenant, or of every tenant (None): first start is when there are none at all."""
        query = sa.select(sa.func.count()).select_from(users)
        if tenant_id is not None:
            query = query.where(users.c.tenant_id == tenant_id)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def enabled_owners(self, tenant_id: str) -> int:
        query = sa.select(sa.func.count()).where(
            users.c.tenant_id == tenant_id, users.c.role == "owner", users.c.disabled_at.is_(None)
        )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def update(self, tenant_id: str, user_id: str, values: Mapping[str, Any]) -> User | None:
        """Set some columns (role, disabled_at, password_hash, oidc_subject ...); None if there is no such user."""
        statement = (
            sa.update(users)
            .where(users.c.tenant_id == tenant_id, users.c.id == user_id)
            .values({**values, "updated_at": utcnow()})
            .returning(*users.c)
        )
        with self._engine.begin() as conn:
            row = conn.execute(statement).first()
        return _user(row) if row is not None else None

    # --- failed logins -----------------------------------------------------------------------------------

    def add_failure(self, user_id: str) -> int:
        """Count one more failed login in a row; returns the count."""
        statement = (
            sa.update(users)
            .where(users.c.id == user_id)
            .values(failed_logins=users.c.failed_logins + 1)
            .returning(users.c.failed_logins)
        )
        with self._engine.begin() as conn:
            return int(conn.execute(statement).scalar_one())

    def lock(self, user_id: str, until: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(sa.update(users).where(users.c.id == user_id).values(locked_until=until))

    def clear_failures(self, user_id: str) -> None:
        statement = sa.update(users).where(users.c.id == user_id, users.c.failed_logins > 0)
        with self._engine.begin() as conn:
            conn.execute(statement.values(failed_logins=0, locked_until=None))

    # --- MFA ---------------------------------------------------------------------------------------------

    def start_mfa(self, user_id: str, sealed_secret: str) -> bool:
        """Keep a new (encrypted) TOTP secret, pending until verified; False when MFA is already enabled."""
        statement = sa.update(users).where(users.c.id == user_id, users.c.mfa_enabled_at.is_(None))
        values = {"mfa_secret": sealed_secret, "mfa_last_step": None, "updated_at": utcnow()}
        with self._engine.begin() as conn:
            return conn.execute(statement.values(values)).rowcount == 1

    def enable_mfa(self, user_id: str, step: int, code_hashes: Iterable[str]) -> bool:
        """Turn a pending enrolment on, spending the verified step, with fresh recovery codes."""
        now = utcnow()
        pending = sa.and_(
            users.c.id == user_id, users.c.mfa_secret.is_not(None), users.c.mfa_enabled_at.is_(None)
        )
        with self._engine.begin() as conn:
            changed = conn.execute(
                sa.update(users).where(pending).values(mfa_enabled_at=now, mfa_last_step=step, updated_at=now)
            ).rowcount
            if changed:
                self._replace_codes(conn, user_id, code_hashes)
        return changed == 1

    def replace_recovery_codes(self, user_id: str, code_hashes: Iterable[str]) -> None:
        with self._engine.begin() as conn:
            self._replace_codes(conn, user_id, code_hashes)

    def _replace_codes(self, conn: sa.Connection, user_id: str, code_hashes: Iterable[str]) -> None:
        conn.execute(sa.delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        rows = [{"user_id": user_id, "code_hash": code_hash} for code_hash in code_hashes]
        if rows:
            conn.execute(sa.insert(recovery_codes), rows)

    def take_totp_step(self, user_id: str, step: int) -> bool:
        """Spend a TOTP time step: False when this step (or a later one) was already used."""
        newer = sa.or_(users.c.mfa_last_step.is_(None), users.c.mfa_last_step < step)
        statement = sa.update(users).where(users.c.id == user_id, newer).values(mfa_last_step=step)
        with self._engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def spend_recovery_code(self, user_id: str, code_hash: str) -> bool:
        """Use a recovery code once: False when it is not the user's or was used before."""
        statement = (
            sa.update(recovery_codes)
            .where(
                recovery_codes.c.user_id == user_id,
                recovery_codes.c.code_hash == code_hash,
                recovery_codes.c.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
        with self._engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def recovery_codes_left(self, user_id: str) -> int:
        query = sa.select(sa.func.count()).where(
            recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
        )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def reset_mfa(self, tenant_id: str, user_id: str) -> User | None:
        """Forget the TOTP secret and the recovery codes: the user enrols again."""
        cleared = {"mfa_secret": None, "mfa_enabled_at": None, "mfa_last_step": None}
        user = self.update(tenant_id, user_id, cleared)
        if user is not None:
            with self._engine.begin() as conn:
                conn.execute(sa.delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        return user

    # --- refresh tokens and sessions ---------------------------------------------------------------------

    def add_token(
        self, token_hash: str, family_id: str, user: User, kind: TokenKind, expires_at: datetime
    ) -> None:
        row = {
            "token_hash": token_hash,
            "family_id": family_id,
            "kind": kind,
            "user_id": user.id,
            "tenant_id": user.tenant_id,
            "created_at": utcnow(),
            "expires_at": expires_at,
        }
        with self._engine.begin() as conn:
            conn.execute(sa.insert(refresh_tokens).values(row))

    def rotate(self, token_hash: str, new_hash: str, expires_at: datetime) -> Rotation:
        """Use a refresh token once, replacing it with `new_hash` in the same family; a token used before
        revokes its whole family (someone holds a copy)."""
        now = utcnow()
        mine = sa.and_(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.kind == "refresh")
        live = sa.and_(
            mine,
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
            refresh_tokens.c.expires_at > now,
        )
        used = sa.update(refresh_tokens).where(live).values(used_at=now)
        with self._engine.begin() as conn:
            row = conn.execute(used.returning(*refresh_tokens.c)).first()
            if row is not None:
                conn.execute(
                    sa.insert(refresh_tokens).values(
                        {
                            **row._mapping,
                            "token_hash": new_hash,
                            "created_at": now,
                            "expires_at": expires_at,
                            "used_at": None,
                        }
                    )
                )
                return Rotation("rotated", row.user_id, row.family_id, row.tenant_id)
            known = conn.execute(sa.select(refresh_tokens).where(mine)).first()
            if known is None or known.used_at is None or known.revoked_at is not None:
                return Rotation("dead")
            self._revoke(conn, refresh_tokens.c.family_id == known.family_id, now)
            return Rotation("reused", known.user_id, known.family_id, known.tenant_id)

    def revoke_family(self, family_id: str) -> None:
        with self._engine.begin() as conn:
            self._revoke(conn, refresh_tokens.c.family_id == family_id, utcnow())

    def revoke_user(self, user_id: str) -> None:
        """End every login of a user: its refresh tokens, sessions and (through them) access tokens."""
        with self._engine.begin() as conn:
            self._revoke(conn, refresh_tokens.c.user_id == user_id, utcnow())

    def login_of(self, token_hash: str) -> LoginRef | None:
        query = sa.select(
            refresh_tokens.c.family_id, refresh_tokens.c.user_id, refresh_tokens.c.tenant_id
        ).where(refresh_tokens.c.token_hash == token_hash)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return LoginRef(row.family_id, row.user_id, row.tenant_id) if row is not None else None

    def _revoke(self, conn: sa.Connection, which: sa.ColumnElement[bool], now: datetime) -> None:
        statement = sa.update(refresh_tokens).where(which, refresh_tokens.c.revoked_at.is_(None))
        conn.execute(statement.values(revoked_at=now))

    # --- the per-request checks --------------------------------------------------------------------------

    def access(self, user_id: str, family_id: str) -> Holder | None:
        """The holder of an access token: its user, tenant and groups, unless its login was revoked."""
        return self._holder(_ACCESS, {"user_id": user_id, "family_id": family_id})

    def session(self, token_hash: str) -> Holder | None:
        """The holder of a live web session cookie."""
        return self._holder(_SESSION, {"token_hash": token_hash, "now": utcnow()})

    def _holder(self, query: sa.Select[Any], values: dict[str, Any]) -> Holder | None:
        with self._engine.connect() as conn:
            found = conn.execute(query, values).all()
        if not found:
            return None
        groups = frozenset(row.group_name for row in found if row.group_name is not None)
        return Holder(_user(found[0]), _tenant(found[0]), groups)
