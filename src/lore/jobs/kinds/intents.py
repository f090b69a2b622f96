"""`train_intents`: train an intent model from a labelled CSV carried with the job, and save it as the next
version (activated at once when asked).

A rerun after a crash trains again and saves one more candidate version: versions are cheap to keep and never
change once saved, so nothing half-written is ever served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.errors import InvalidInput
from lore.intelligence.intents.data import parse_csv
from lore.jobs.registry import ReportProgress, handler
from lore.names import check_name
from lore.wire.trained_models import TrainedModelOut

if TYPE_CHECKING:
    from lore.service import Lore

STAGES = 2  # the two fits after the embeddings


def check(params: dict[str, Any]) -> None:
    """A CSV that cannot train is refused when the job is submitted."""
    if not isinstance(params.get("csv"), str):
        raise InvalidInput("`csv` must be the CSV's text", details={"field": "csv"})
    if not isinstance(params.get("name"), str) or not isinstance(params.get("activate", False), bool):
        raise InvalidInput("`name` must be a string and `activate` a boolean")
    check_name("model", params["name"])
    parse_csv(params["csv"].encode())


@handler("train_intents", validate=check)
def train_intents(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    from lore.intelligence.intents.versions import train_version

    def report(stage: str, done: int, total: int) -> None:
        if stage == "embedding":
            progress(done, total + STAGES)
        else:
            progress(rows + done, rows + STAGES)

    rows = len(parse_csv(params["csv"].encode()).texts)
    record = train_version(
        lore.store,
        lore.embedder,
        lore.settings,
        params["tenant_id"],
        params["csv"].encode(),
        params["name"],
        activate=params.get("activate", False),
        progress=report,
    )
    return TrainedModelOut.of(record).model_dump(mode="json")
