"""`refresh_recommender`: fit the tenant's recommender from its events and documents, and make it active.

Idempotent: with nothing new since the active version, a rerun stores nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.intelligence.recommend.refresh import refresh
from lore.jobs.registry import ReportProgress, handler

if TYPE_CHECKING:
    from lore.service import Lore


@handler("refresh_recommender")
def refresh_recommender(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    progress(0, 1)
    record, fitted = refresh(lore, params["tenant_id"])
    progress(1, 1)
    return {"model_id": record.id, "version": record.version, "fitted": fitted}
