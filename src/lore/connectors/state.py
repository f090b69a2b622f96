"""What a sync remembers of a source between runs: for `lore sync`, a JSON file per source under
`<data dir>/sources/`; for a stored source (`/v1/sources`), its row (`RecordState`). That is
the documents it owns (only those may be removed by a later sync, never another source's in the same
collection), each one's HTTP validators and links, and the last run's summary. Written whole, atomically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lore.connectors.base import Remembered

if TYPE_CHECKING:
    from lore.backends.store.source_records import SourceRecords


@dataclass(slots=True)
class SourceState:
    kind: str
    location: str
    tenant_id: str
    collection: str
    owned: dict[str, Remembered] = field(default_factory=dict)
    last_run: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "location": self.location,
            "tenant_id": self.tenant_id,
            "collection": self.collection,
            "owned": {source: kept.to_json() for source, kept in self.owned.items()},
            "last_run": self.last_run,
        }

    def load(self, data: dict[str, Any]) -> SourceState:
        self.owned = {source: Remembered.of(kept) for source, kept in data.get("owned", {}).items()}
        self.last_run = data.get("last_run") or {}
        return self


class States(Protocol):
    """Where a sync finds and keeps what it remembers of a source."""

    def load(self, kind: str, location: str, tenant_id: str, collection: str) -> SourceState: ...

    def save(self, state: SourceState) -> None: ...


class SourceStates:
    """The states of a data dir's sources, one file each, named by a hash of what identifies the source."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "sources"

    def _path(self, kind: str, location: str, tenant_id: str, collection: str) -> Path:
        key = json.dumps([kind, location, tenant_id, collection]).encode()
        return self.folder / f"{hashlib.sha256(key).hexdigest()[:32]}.json"

    def load(self, kind: str, location: str, tenant_id: str, collection: str) -> SourceState:
        state = SourceState(kind, location, tenant_id, collection)
        try:
            return state.load(json.loads(self._path(kind, location, tenant_id, collection).read_text()))
        except FileNotFoundError:
            return state

    def save(self, state: SourceState) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._path(state.kind, state.location, state.tenant_id, state.collection)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump(state.to_json(), out)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(target)


class RecordState:
    """The state of a stored source, kept in its row of the `sources` table (shared by every worker)."""

    def __init__(self, records: SourceRecords, tenant_id: str, source_id: str) -> None:
        self.records = records
        self.tenant_id = tenant_id
        self.source_id = source_id

    def load(self, kind: str, location: str, tenant_id: str, collection: str) -> SourceState:
        record = self.records.get(self.tenant_id, self.source_id)
        state = SourceState(kind, location, tenant_id, collection)
        return state.load({"owned": record.state.get("owned", {})}) if record is not None else state

    def save(self, state: SourceState) -> None:
        owned = {"owned": state.to_json()["owned"]}
        self.records.save_run(self.tenant_id, self.source_id, owned, state.last_run)
