"""Connectors keep a collection equal to a source: a folder, a website, a help centre's export archive.

base.py      the contract: `Connector.list(previous) -> Listing`, `ListingFailed`, `Remembered`
registry.py  connector kinds by name (entry-point group `lore.connectors`), `kind_for(location)`
folder.py    files under a directory
website.py   a site by sitemap or crawl; http.py its polite, guarded fetching
archive.py   Confluence / Zendesk / static HTML exports in a zip
state.py     what a sync remembers of each source between runs
sync.py      `Syncer`: list, write what changed, remove what is gone
watch.py     `watch`: a folder synced again as its files change
"""

from lore.connectors.base import Connector, Listing, ListingFailed, Remembered
from lore.connectors.registry import connectors, kind_for, open_connector
from lore.connectors.sync import SourceSpec, Syncer, SyncReport

__all__ = [
    "Connector",
    "Listing",
    "ListingFailed",
    "Remembered",
    "SourceSpec",
    "SyncReport",
    "Syncer",
    "connectors",
    "kind_for",
    "open_connector",
]
