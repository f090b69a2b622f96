"""`train_adapter`: train a collection's query adapter from the pairs given, the tenant's events, or both (see
`lore.intelligence.adapters`).

A rerun after a crash trains again and stores another candidate version: candidates serve nothing until they are
activated, and activation (`activate`) only happens when the adapter helped on its held-out queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.errors import InvalidInput
from lore.jobs.registry import ReportProgress, handler
from lore.names import check_name

if TYPE_CHECKING:
    from lore.intelligence.adapter_pairs import Pair
    from lore.service import Lore

MAX_PAIRS = 20_000


def check(params: dict[str, Any]) -> None:
    if not isinstance(params.get("collection"), str) or not params["collection"]:
        raise InvalidInput("`collection` must be a non-empty string", details={"field": "collection"})
    check_name("collection", params["collection"])
    pairs = params.get("pairs") or []
    if not isinstance(pairs, list) or len(pairs) > MAX_PAIRS:
        raise InvalidInput(f"`pairs` must be a list of at most {MAX_PAIRS}", details={"field": "pairs"})
    if not pairs and not params.get("from_events"):
        raise InvalidInput("give pairs, from_events, or both", details={"field": "pairs"})
    _pairs(pairs)


FIELDS: dict[str, type] = {"query": str, "document_id": str, "chunk_id": int, "text": str}


def _pairs(rows: list[Any]) -> list[Pair]:
    from lore.intelligence.adapter_pairs import Pair

    for row in rows:
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("query"), str)
            or not all(
                name in FIELDS and isinstance(value, FIELDS[name]) and not isinstance(value, bool)
                for name, value in row.items()
                if value is not None
            )
        ):
            raise InvalidInput(
                "each pair is a query with a document_id, chunk_id or text", details={"field": "pairs"}
            )
    return [Pair(**row) for row in rows]


@handler("train_adapter", validate=check)
def train_adapter(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    from lore.intelligence.adapter_pairs import pairs_from_events
    from lore.intelligence.adapters import train_adapter as train
    from lore.wire.trained_models import TrainedModelOut

    tenant_id = params["tenant_id"]
    progress(0, 1)
    pairs = _pairs(params.get("pairs") or [])
    if params.get("from_events"):
        pairs += pairs_from_events(lore.store.events, tenant_id)
    activate = bool(params.get("activate"))
    model = train(lore, tenant_id, params["collection"], pairs, activate=activate, on_progress=progress)
    progress(1, 1)
    return {"model": TrainedModelOut.of(model).model_dump(mode="json")}
