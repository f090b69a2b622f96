"""What a search's readers may not see, resolved per search from what this process keeps of each tenant's
restricted documents.

A tenant's restricted documents (their owners, grants and chunks) are read once and kept until its access
version moves; each search reads that version (one primary-key lookup, in a tenant without restricted documents
too) and works out its readers' `Hidden` from the kept list in memory. The version is read before the list, so
a list is only ever kept under a version as old as it, or older: a newer list under an older version is
replaced at the next change, and an older list is never kept under a newer version.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Protocol

from lore.models import NOTHING_HIDDEN, Hidden, Readers, RestrictedDocument


class RestrictedSource(Protocol):
    """The store's side: the tenant's access version, and its restricted documents."""

    def version(self, tenant_id: str) -> int: ...

    def restricted(self, tenant_id: str) -> list[RestrictedDocument]: ...


def hidden_from(
    documents: Sequence[RestrictedDocument], readers: frozenset[str], collections: Sequence[str] | None
) -> Hidden:
    """The documents (of `collections`, None: all) that `readers` may not read, and their chunks."""
    wanted = None if collections is None else set(collections)
    hidden = [
        document
        for document in documents
        if (wanted is None or document.collection in wanted) and not document.readable_by(readers)
    ]
    if not hidden:
        return NOTHING_HIDDEN
    chunks = frozenset(itertools.chain.from_iterable(document.chunks for document in hidden))
    return Hidden(frozenset(document.id for document in hidden), chunks)


class Visibility:
    """`Retriever.access`: each tenant's restricted documents, kept per access version."""

    def __init__(self, source: RestrictedSource) -> None:
        self.source = source
        self._kept: dict[str, tuple[int, list[RestrictedDocument]]] = {}
        self._lock = threading.Lock()

    def hidden(self, tenant_id: str, readers: Readers, collections: Sequence[str] | None) -> Hidden:
        if readers is None:
            return NOTHING_HIDDEN
        return hidden_from(self._restricted(tenant_id), readers, collections)

    def _restricted(self, tenant_id: str) -> list[RestrictedDocument]:
        version = self.source.version(tenant_id)
        if version == 0:
            return []
        with self._lock:
            kept = self._kept.get(tenant_id)
        if kept is not None and kept[0] == version:
            return kept[1]
        documents = self.source.restricted(tenant_id)
        with self._lock:
            self._kept[tenant_id] = (version, documents)
        return documents
