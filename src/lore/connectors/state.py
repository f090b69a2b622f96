"""What a sync remembers of a source between runs, in a JSON file per source under `<data dir>/sources/`:
the documents it owns (only those may be removed by a later sync, never another source's in the same
collection), each one's HTTP validators and links, and the last run's summary. Written whole, atomically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lore.connectors.base import Remembered


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
            data = json.loads(self._path(kind, location, tenant_id, collection).read_text())
        except FileNotFoundError:
            return state
        state.owned = {source: Remembered.of(kept) for source, kept in data.get("owned", {}).items()}
        state.last_run = data.get("last_run", {})
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
