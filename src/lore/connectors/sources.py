"""A tenant's stored sources: created, listed, deleted through `/v1/sources`, synced by `sync_source` jobs on
request or on their schedule (`lore.jobs.schedule`), each run remembered in the source's row.

    >>> source = Sources(lore, queue).create("default", NewSource("help", "website", "https://help.example.com/", "help", 3600))
    >>> Sources(lore, queue).enqueue("default", source.id)  # a job, visible in /v1/jobs

Folder and archive sources read the server's own disk, so only a caller with the installation scope (the
operator) may create them; any editor may create a website source, which the SSRF guard keeps to public
addresses. Deleting a source leaves its documents where they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lore.backends.store.source_records import SourceRecord
from lore.connectors.registry import connectors
from lore.connectors.state import RecordState
from lore.connectors.sync import SourceSpec, Syncer, SyncReport
from lore.errors import Forbidden, InvalidInput, NotFound
from lore.models import Job, Page
from lore.names import check_name

if TYPE_CHECKING:
    from lore.jobs.queue import JobQueue
    from lore.service import Lore

JOB_KIND = "sync_source"
LOCAL_KINDS = frozenset({"folder", "archive"})
MIN_INTERVAL_SECONDS = 60


@dataclass(frozen=True, slots=True)
class NewSource:
    name: str
    kind: str
    location: str
    collection: str
    interval_seconds: int | None = None  # None: synced on request only
    options: Mapping[str, str] = field(default_factory=dict)


def no_source(source_id: str) -> NotFound:
    return NotFound(f"no source {source_id!r}", details={"source_id": source_id})


def _check(new: NewSource, local_allowed: bool) -> None:
    check_name("source", new.name)
    check_name("collection", new.collection)
    if new.kind not in connectors:
        raise InvalidInput(f"unknown connector {new.kind!r}", details={"known": connectors.names()})
    if new.kind in LOCAL_KINDS and not local_allowed:
        raise Forbidden(f"a {new.kind} source reads the server's disk: the installation scope is needed")
    if new.kind == "website" and not new.location.lower().startswith(("http://", "https://")):
        raise InvalidInput("a website source is an http(s) URL", details={"location": new.location[:200]})
    if new.interval_seconds is not None and new.interval_seconds < MIN_INTERVAL_SECONDS:
        raise InvalidInput(f"a schedule runs at most every {MIN_INTERVAL_SECONDS} seconds")


class Sources:
    def __init__(self, lore: Lore, queue: JobQueue | None = None) -> None:
        self.lore = lore
        self.records = lore.store.sources
        self.queue = queue

    def create(self, tenant_id: str, new: NewSource, *, local_allowed: bool = False) -> SourceRecord:
        _check(new, local_allowed)
        self.lore.store.tenants.require(tenant_id)  # the default tenant is made on first use
        values = {
            "id": f"src_{uuid.uuid4().hex}",
            "tenant_id": tenant_id,
            "name": new.name,
            "kind": new.kind,
            "location": new.location,
            "collection": new.collection,
            "options": dict(new.options),
            "interval_seconds": new.interval_seconds,
        }
        return self.records.insert(values)

    def get(self, tenant_id: str, source_id: str) -> SourceRecord:
        source = self.records.get(tenant_id, source_id)
        if source is None:
            raise no_source(source_id)
        return source

    def list(self, tenant_id: str, limit: int = 50, cursor: str | None = None) -> Page[SourceRecord]:
        return self.records.newest(tenant_id, limit, cursor)

    def delete(self, tenant_id: str, source_id: str) -> None:
        if not self.records.delete(tenant_id, source_id):
            raise no_source(source_id)

    def enqueue(self, tenant_id: str, source_id: str) -> Job:
        """A `sync_source` job for the source (404 if the tenant has none by that id)."""
        self.get(tenant_id, source_id)
        assert self.queue is not None, "enqueueing needs the job queue"
        return self.queue.submit(JOB_KIND, {"source_id": source_id}, tenant_id=tenant_id)

    def run(self, tenant_id: str, source_id: str) -> SyncReport:
        """One sync of the source (what its job runs); the report, also kept as the source's `last_run`."""
        source = self.get(tenant_id, source_id)
        spec = SourceSpec(source.kind, source.location, source.collection, tenant_id, source.options)
        states = RecordState(self.records, tenant_id, source_id)
        return Syncer(self.lore, states).run(spec)
