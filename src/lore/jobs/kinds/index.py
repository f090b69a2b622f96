"""`rebuild_index`: drop the derived vector index and rebuild it from the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.jobs.registry import ReportProgress, handler

if TYPE_CHECKING:
    from lore.service import Lore


@handler("rebuild_index")
def rebuild_index(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    progress(0, 1)
    vectors = lore.rebuild_index()
    progress(1, 1)
    return {"vectors": vectors}
