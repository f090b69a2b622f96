"""`TrainedModelRecords`, the database's `trained_models` repository: every model Lore trains for a tenant
(intent classifiers, query adapters, recommenders), versioned, with its metrics, labels, the hash of its
training data and the embedder it needs.

A model's life: saved as a `candidate`; optionally run in `shadow` next to the active one, or serving a
`traffic_share` of requests (A/B); `activate`d, which retires the version active before it in the same
transaction; `rollback` reactivates the version active before the current one; `deactivate` leaves none
active. At most one version of a (tenant, kind, name) is active at a time.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from lore.backends.store import refusing_unstorable
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import trained_models
from lore.errors import Conflict, InvalidInput, NotFound
from lore.models import utcnow

if TYPE_CHECKING:
    from lore.backends.store.database import Database

ModelStatus = Literal["candidate", "active", "shadow", "retired"]
SAVE_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """A stored model's record, without its payload (`TrainedModelRecords.payload` reads that)."""

    id: str
    tenant_id: str
    kind: str
    name: str
    version: int
    status: ModelStatus
    traffic_share: float | None
    embedder: str | None
    data_hash: str
    labels: list[Any]
    metrics: dict[str, Any]
    params: dict[str, Any]
    created_at: datetime
    activated_at: datetime | None


_COLUMNS = [trained_models.c[f.name] for f in fields(TrainedModel)]


def _model(row: AnyRow) -> TrainedModel:
    return TrainedModel(**{column.name: getattr(row, column.name) for column in _COLUMNS})


def not_found(model_id: str) -> NotFound:
    return NotFound(f"model {model_id!r} not found", details={"model_id": model_id})


class TrainedModelRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(
        self,
        tenant_id: str,
        kind: str,
        name: str,
        payload: bytes,
        *,
        data_hash: str,
        embedder: str | None = None,
        labels: list[Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> TrainedModel:
        """Store a new candidate as the next version of (tenant, kind, name)."""
        for _ in range(SAVE_ATTEMPTS):
            try:
                with refusing_unstorable(), self.db.write() as conn:
                    latest = conn.execute(
                        sa.select(sa.func.max(trained_models.c.version)).where(
                            *self._of(tenant_id, kind, name)
                        )
                    ).scalar()
                    row: dict[str, Any] = {
                        "id": f"mdl_{secrets.token_hex(8)}",
                        "tenant_id": tenant_id,
                        "kind": kind,
                        "name": name,
                        "version": int(latest or 0) + 1,
                        "status": "candidate",
                        "traffic_share": None,
                        "embedder": embedder,
                        "data_hash": data_hash,
                        "labels": list(labels or []),
                        "metrics": dict(metrics or {}),
                        "params": dict(params or {}),
                        "created_at": utcnow(),
                        "activated_at": None,
                        "payload": payload,
                    }
                    conn.execute(sa.insert(trained_models).values(row))
            except sa.exc.IntegrityError:
                continue  # another process took this version number: take the next one
            del row["payload"]
            return TrainedModel(**row)
        raise Conflict("could not allocate a model version", details={"kind": kind, "name": name})

    def get(self, tenant_id: str, model_id: str) -> TrainedModel:
        query = sa.select(*_COLUMNS).where(
            trained_models.c.tenant_id == tenant_id, trained_models.c.id == model_id
        )
        with self.db.read() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            raise not_found(model_id)
        return _model(row)

    def payload(self, tenant_id: str, model_id: str) -> bytes:
        query = sa.select(trained_models.c.payload).where(
            trained_models.c.tenant_id == tenant_id, trained_models.c.id == model_id
        )
        with self.db.read() as conn:
            payload = conn.execute(query).scalar()
        if payload is None:
            raise not_found(model_id)
        return bytes(payload)

    def versions(self, tenant_id: str, kind: str, name: str | None = None) -> list[TrainedModel]:
        """The tenant's models of one kind (and name), newest version first."""
        query = sa.select(*_COLUMNS).where(
            trained_models.c.tenant_id == tenant_id, trained_models.c.kind == kind
        )
        if name is not None:
            query = query.where(trained_models.c.name == name)
        query = query.order_by(trained_models.c.name, trained_models.c.version.desc())
        with self.db.read() as conn:
            return [_model(row) for row in conn.execute(query)]

    def serving(self, tenant_id: str, kind: str, name: str) -> list[TrainedModel]:
        """The versions that take part in requests: the active one, shadows, and candidates with a share."""
        query = sa.select(*_COLUMNS).where(
            *self._of(tenant_id, kind, name),
            sa.or_(
                trained_models.c.status.in_(["active", "shadow"]),
                trained_models.c.traffic_share.is_not(None),
            ),
        )
        with self.db.read() as conn:
            return [_model(row) for row in conn.execute(query.order_by(trained_models.c.version.desc()))]

    def active(self, tenant_id: str, kind: str, name: str) -> TrainedModel | None:
        query = sa.select(*_COLUMNS).where(
            *self._of(tenant_id, kind, name), trained_models.c.status == "active"
        )
        with self.db.read() as conn:
            row = conn.execute(query).one_or_none()
        return _model(row) if row is not None else None

    def activate(self, tenant_id: str, model_id: str) -> TrainedModel:
        """Make one version active, retiring the version active before it, in one transaction."""
        with self.db.write() as conn:
            model = self._locked(conn, tenant_id, model_id)
            self._retire_active(conn, model)
            conn.execute(
                sa.update(trained_models)
                .where(trained_models.c.id == model_id)
                .values(status="active", traffic_share=None, activated_at=utcnow())
            )
        return self.get(tenant_id, model_id)

    def set_status(
        self, tenant_id: str, model_id: str, status: ModelStatus, traffic_share: float | None = None
    ) -> TrainedModel:
        """Put a version in shadow, give a candidate a share of traffic, or retire it. Activation has its own
        method, so that two versions are never active at once."""
        if status == "active":
            raise InvalidInput("use activate to make a model active", details={"status": status})
        if traffic_share is not None and not 0.0 < traffic_share < 1.0:
            raise InvalidInput(
                "traffic_share must be between 0 and 1", details={"traffic_share": traffic_share}
            )
        with self.db.write() as conn:
            model = self._locked(conn, tenant_id, model_id)
            if model.status == "active":
                raise Conflict(
                    "the active model cannot change status; activate another version or roll back",
                    details={"model_id": model_id},
                )
            conn.execute(
                sa.update(trained_models)
                .where(trained_models.c.id == model_id)
                .values(status=status, traffic_share=traffic_share)
            )
        return self.get(tenant_id, model_id)

    def rollback(self, tenant_id: str, kind: str, name: str) -> TrainedModel:
        """Reactivate the version that was active before the current one (or none: `Conflict`)."""
        with self.db.write() as conn:
            current = conn.execute(
                sa.select(*_COLUMNS).where(
                    *self._of(tenant_id, kind, name), trained_models.c.status == "active"
                )
            ).one_or_none()
            before = sa.select(*_COLUMNS).where(
                *self._of(tenant_id, kind, name),
                trained_models.c.status != "active",
                trained_models.c.activated_at.is_not(None),
            )
            if current is not None:
                before = before.where(trained_models.c.activated_at <= current.activated_at)
            previous = conn.execute(
                before.order_by(trained_models.c.activated_at.desc(), trained_models.c.version.desc()).limit(
                    1
                )
            ).one_or_none()
            if previous is None:
                raise Conflict(
                    "no earlier active version to roll back to", details={"kind": kind, "name": name}
                )
            if current is not None:
                conn.execute(
                    sa.update(trained_models)
                    .where(trained_models.c.id == current.id)
                    .values(status="retired")
                )
            # Its activation time stays: the next rollback goes further back, not to and fro.
            conn.execute(
                sa.update(trained_models)
                .where(trained_models.c.id == previous.id)
                .values(status="active", traffic_share=None)
            )
        return self.get(tenant_id, previous.id)

    def deactivate(self, tenant_id: str, kind: str, name: str) -> TrainedModel:
        """Retire the active version, so that none is (as before the first activation); `Conflict` if none is.
        A `rollback` afterwards reactivates it."""
        with self.db.write() as conn:
            current = conn.execute(
                sa.select(*_COLUMNS).where(
                    *self._of(tenant_id, kind, name), trained_models.c.status == "active"
                )
            ).one_or_none()
            if current is None:
                raise Conflict("no active version to deactivate", details={"kind": kind, "name": name})
            conn.execute(
                sa.update(trained_models).where(trained_models.c.id == current.id).values(status="retired")
            )
        return self.get(tenant_id, current.id)

    def delete(self, tenant_id: str, model_id: str) -> None:
        with self.db.write() as conn:
            model = self._locked(conn, tenant_id, model_id)
            if model.status == "active":
                raise Conflict("the active model cannot be deleted", details={"model_id": model_id})
            conn.execute(sa.delete(trained_models).where(trained_models.c.id == model_id))

    @staticmethod
    def _of(tenant_id: str, kind: str, name: str) -> list[sa.ColumnElement[bool]]:
        return [
            trained_models.c.tenant_id == tenant_id,
            trained_models.c.kind == kind,
            trained_models.c.name == name,
        ]

    def _locked(self, conn: sa.Connection, tenant_id: str, model_id: str) -> TrainedModel:
        query = sa.select(*_COLUMNS).where(
            trained_models.c.tenant_id == tenant_id, trained_models.c.id == model_id
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).one_or_none()
        if row is None:
            raise not_found(model_id)
        return _model(row)

    def _retire_active(self, conn: sa.Connection, model: TrainedModel) -> None:
        conn.execute(
            sa.update(trained_models)
            .where(
                *self._of(model.tenant_id, model.kind, model.name),
                trained_models.c.status == "active",
                trained_models.c.id != model.id,
            )
            .values(status="retired")
        )
