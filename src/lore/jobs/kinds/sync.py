"""`sync_source`: one sync of a stored source (`lore.connectors.sources`); a listing that fails raises, so the
runner retries it, and nothing was removed meanwhile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.connectors.sources import JOB_KIND, Sources
from lore.errors import InvalidInput
from lore.jobs.registry import ReportProgress, handler

if TYPE_CHECKING:
    from lore.service import Lore


def _validate(params: dict[str, Any]) -> None:
    if not isinstance(params.get("source_id"), str):
        raise InvalidInput("a sync job names its source_id")


@handler(JOB_KIND, validate=_validate)
def sync_source(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    return Sources(lore).run(params["tenant_id"], params["source_id"]).to_json()
