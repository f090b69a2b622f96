"""Wire forms of stored sources: a source in (what to sync, into which collection, how often) and out (with
its last run's report; what it owns stays inside)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lore.backends.store.source_records import SourceRecord
from lore.connectors.sources import MIN_INTERVAL_SECONDS


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="Unique in the tenant: letters, digits, . _ -")
    kind: str = Field(min_length=1, max_length=64, description="website, folder, archive, or a plug-in's.")
    location: str = Field(min_length=1, max_length=2000, description="A URL (website) or a server path.")
    collection: str = Field(min_length=1, max_length=64)
    interval_seconds: int | None = Field(
        None, ge=MIN_INTERVAL_SECONDS, le=30 * 86400, description="Sync this often (null: on request only)."
    )
    options: dict[str, str] = Field(default_factory=dict, max_length=20, description="e.g. base_url.")


class SourceOut(BaseModel):
    id: str
    name: str
    kind: str
    location: str
    collection: str
    options: dict[str, str]
    interval_seconds: int | None
    next_run_at: datetime | None
    documents: int = Field(description="Documents this source wrote and still owns.")
    last_run: dict[str, Any] | None = Field(description="The last sync's report.")
    last_run_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, source: SourceRecord) -> SourceOut:
        return cls(
            id=source.id,
            name=source.name,
            kind=source.kind,
            location=source.location,
            collection=source.collection,
            options=source.options,
            interval_seconds=source.interval_seconds,
            next_run_at=source.next_run_at,
            documents=len(source.state.get("owned", {})),
            last_run=source.last_run,
            last_run_at=source.last_run_at,
            created_at=source.created_at,
            updated_at=source.updated_at,
        )


class SourcePage(BaseModel):
    items: list[SourceOut]
    next_cursor: str | None
