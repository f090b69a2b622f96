"""`reembed`: re-embed a collection with another model, then switch it over (see `lore.core.reembedding`).

Idempotent: progress lives in the embedding cache, so a rerun after a crash embeds only what is missing, and a
rerun after the switch finds the model active and does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.errors import InvalidInput
from lore.jobs.registry import ReportProgress, handler

if TYPE_CHECKING:
    from lore.service import Lore


def check(params: dict[str, Any]) -> None:
    for name in ("collection", "model"):
        if not isinstance(params.get(name), str) or not params[name]:
            raise InvalidInput(f"`{name}` must be a non-empty string", details={"field": name})


@handler("reembed", validate=check)
def reembed(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    report = lore.reembed(
        tenant_id=params["tenant_id"],
        collection=params["collection"],
        model=params["model"],
        on_progress=progress,
    )
    return report.as_dict()
