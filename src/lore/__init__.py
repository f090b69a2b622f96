"""Lore as a library: the service, its settings, the request and result types and the error tree.

    >>> from lore import Lore, SearchRequest, Settings
    >>> with Lore.open(Settings(data_dir="./lore-data")) as lore:
    ...     lore.add_text(title="Refunds", text="Refunds take 5 business days.")
    ...     hits = lore.search(SearchRequest("default", "how long do refunds take"))

Names are imported on first use, so `import lore` (and the command line, which starts by importing it) stays
fast; `lore.__all__` lists them all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lore.config import Settings
    from lore.core.ingest import IngestReport
    from lore.core.retrieve import SearchRequest
    from lore.errors import (
        Conflict,
        CorruptDocument,
        InvalidInput,
        LoreError,
        NotFound,
        PayloadTooLarge,
        Unavailable,
        UnsupportedFormat,
    )
    from lore.models import (
        DEFAULT_COLLECTION,
        DEFAULT_TENANT,
        Chunk,
        Document,
        Hit,
        Page,
        SearchFilters,
        SearchMode,
    )
    from lore.service import Lore

_SOURCES = {
    "Chunk": "lore.models",
    "Conflict": "lore.errors",
    "CorruptDocument": "lore.errors",
    "DEFAULT_COLLECTION": "lore.models",
    "DEFAULT_TENANT": "lore.models",
    "Document": "lore.models",
    "Hit": "lore.models",
    "IngestReport": "lore.core.ingest",
    "InvalidInput": "lore.errors",
    "Lore": "lore.service",
    "LoreError": "lore.errors",
    "NotFound": "lore.errors",
    "Page": "lore.models",
    "PayloadTooLarge": "lore.errors",
    "SearchFilters": "lore.models",
    "SearchMode": "lore.models",
    "SearchRequest": "lore.core.retrieve",
    "Settings": "lore.config",
    "Unavailable": "lore.errors",
    "UnsupportedFormat": "lore.errors",
}

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_TENANT",
    "Chunk",
    "Conflict",
    "CorruptDocument",
    "Document",
    "Hit",
    "IngestReport",
    "InvalidInput",
    "Lore",
    "LoreError",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "SearchFilters",
    "SearchMode",
    "SearchRequest",
    "Settings",
    "Unavailable",
    "UnsupportedFormat",
]


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'lore' has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
