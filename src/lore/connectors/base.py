"""The connector contract: a source (a folder, a website, an export archive) listed as the documents it holds.

    >>> listing = connector.listing(previous)  # previous: what the last sync kept of each document (`Remembered`)
    >>> [item.source for item in listing.items]

A listing is whole or nothing: a connector that cannot read its source at all (the folder is missing, the site's
robots.txt or sitemap cannot be read, the archive is corrupt) raises `ListingFailed`, and the sync removes
nothing. A document it could not fetch goes in `failed` and is kept as it is; one that did not change since the
last sync (an HTTP 304) goes in `unchanged`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lore.core.ingest import Failure
from lore.errors import LoreError
from lore.service.ingestion import Fetched


class ListingFailed(LoreError):
    """The source could not be listed: a sync that meets this writes and removes nothing."""

    code = "listing_failed"


@dataclass(frozen=True, slots=True)
class Remembered:
    """What a sync keeps of one document for the next: HTTP validators, and the links of a crawled page (so a
    page that answers 304 is still followed)."""

    etag: str | None = None
    last_modified: str | None = None
    links: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"etag": self.etag, "last_modified": self.last_modified, "links": list(self.links)}

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Remembered:
        return cls(data.get("etag"), data.get("last_modified"), tuple(data.get("links") or ()))


@dataclass(slots=True)
class Listing:
    """What a source holds now: documents fetched, documents known unchanged, documents that failed."""

    items: list[Fetched] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    skipped: list[Failure] = field(
        default_factory=list
    )  # of a type Lore does not read, or refused by robots.txt
    remembered: dict[str, Remembered] = field(default_factory=dict)

    def sources(self) -> set[str]:
        """Every source still present (failed ones too: a document that could not be fetched is kept)."""
        return {item.source for item in self.items} | set(self.unchanged) | {f.source for f in self.failed}


class Connector(Protocol):
    """One source; `previous` holds what the last sync remembered of each of its documents (by source)."""

    def listing(self, previous: Mapping[str, Remembered]) -> Listing: ...
