"""The `folder` connector: the supported files under a directory, cited by their absolute paths (as `lore ingest`
writes them, so a folder ingested before syncs without writing anything again)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lore.connectors.base import Listing, ListingFailed, Remembered
from lore.core import ingest
from lore.service.ingestion import Fetched


class FolderConnector:
    def __init__(self, location: str) -> None:
        self.root = Path(location).expanduser().resolve()

    def listing(self, previous: Mapping[str, Remembered]) -> Listing:
        if not self.root.is_dir():
            raise ListingFailed(f"{self.root} is not a folder", details={"location": str(self.root)})
        found = ingest.discover([self.root])
        listing = Listing(failed=list(found.failures), skipped=list(found.skipped))
        for path in found.files:
            try:
                data = path.read_bytes()
            except OSError as error:
                listing.failed.append(ingest.Failure(str(path), "unreadable", error.strerror or str(error)))
                continue
            listing.items.append(Fetched(str(path), path.name, data))
        return listing
