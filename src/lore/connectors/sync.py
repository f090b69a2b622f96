"""The sync engine: keeps a collection equal to one source. The source is listed whole first; changed
documents are then written through the ingestion service (by content hash, so unchanged ones cost nothing),
and the documents this source owned that are no longer in it are removed. A listing that fails writes and
removes nothing; removal never reaches beyond the documents the source itself wrote (`SourceState.owned`).

    >>> report = Syncer(lore).run(SourceSpec("website", "https://help.example.com/sitemap.xml", "help"))
    >>> report.added, report.updated, report.unchanged, report.removed
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lore.bus import BusEvent
from lore.connectors.base import ListingFailed, Remembered
from lore.connectors.registry import open_connector
from lore.connectors.state import SourceState, SourceStates, States
from lore.core.ingest import Failure, Progress
from lore.models import DEFAULT_TENANT
from lore.names import check_name
from lore.service.ingestion import Destination

if TYPE_CHECKING:
    from lore.service import Lore


@dataclass(frozen=True, slots=True)
class SourceSpec:
    kind: str
    location: str
    collection: str
    tenant_id: str = DEFAULT_TENANT
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class SyncReport:
    kind: str
    location: str
    collection: str
    listed: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    embedded: int = 0
    requests: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Failure] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        counts = {
            name: getattr(self, name) for name in ("listed", "added", "updated", "unchanged", "removed")
        }
        return {
            "kind": self.kind,
            "location": self.location,
            "collection": self.collection,
            **counts,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "failures": [f.to_json() for f in self.failures],
            "skipped": [f.to_json() for f in self.skipped],
        }


class Syncer:
    """Runs syncs against one `Lore`; what each source owns is kept in `states` (default: the data dir's
    `SourceStates` files)."""

    def __init__(self, lore: Lore, states: States | None = None) -> None:
        self.lore = lore
        self.states = states or SourceStates(lore.settings.storage.data_dir)

    def run(self, spec: SourceSpec, on_progress: Callable[[Progress], None] | None = None) -> SyncReport:
        check_name("tenant", spec.tenant_id)
        check_name("collection", spec.collection)
        start = time.perf_counter()
        connector = open_connector(spec.kind, spec.location, self.lore.settings, spec.options)
        state = self.states.load(spec.kind, spec.location, spec.tenant_id, spec.collection)
        try:
            listing = connector.listing(self._still_stored(state))
        except ListingFailed as error:
            self._publish("sync.failed", spec, {"reason": error.code, "message": error.message})
            raise
        to = Destination(spec.tenant_id, spec.collection)
        written = self.lore.ingestion.fetched(listing.items, to, on_progress)
        present = listing.sources()
        gone = [source for source in state.owned if source not in present]
        report = SyncReport(spec.kind, spec.location, spec.collection, listed=len(present))
        report.removed = self.lore.ingestion.remove(spec.tenant_id, spec.collection, gone)
        report.added, report.updated, report.chunks = written.added, written.updated, written.chunks
        report.embedded = written.embedded
        report.unchanged = written.unchanged + len(listing.unchanged)
        report.failures = [*listing.failed, *written.failures]
        report.skipped = listing.skipped
        report.requests = getattr(connector, "requests", 0)
        report.seconds = time.perf_counter() - start
        state.owned = {source: listing.remembered.get(source, Remembered()) for source in present}
        state.last_run = report.to_json()
        self.states.save(state)
        self._publish("source.synced", spec, _counts(report))
        return report

    def _still_stored(self, state: SourceState) -> dict[str, Remembered]:
        """What was remembered of the documents still stored: one deleted meanwhile is fetched again in full."""
        if not state.owned:
            return {}
        stored = self.lore.store.documents.document_hashes(
            state.tenant_id, state.collection, list(state.owned)
        )
        return {source: kept for source, kept in state.owned.items() if source in stored}

    def _publish(self, kind: str, spec: SourceSpec, data: dict[str, Any]) -> None:
        payload = {"kind": spec.kind, "location": spec.location, **data}
        self.lore.bus.publish(BusEvent(kind, spec.tenant_id, payload, collection=spec.collection))


def _counts(report: SyncReport) -> dict[str, Any]:
    data = report.to_json()
    return {key: data[key] for key in ("listed", "added", "updated", "unchanged", "removed", "seconds")} | {
        "failed": len(report.failures)
    }
