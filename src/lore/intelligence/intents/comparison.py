"""Compare an intent model's versions from the `classified` events they left: how often a shadow agreed with
the serving version, how many requests each served, and, given labelled texts, how often each was right."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lore.backends.store.event_records import EventFilters
from lore.intelligence.intents.serving import KIND

if TYPE_CHECKING:
    from lore.backends.store.database import Database


def compare(
    store: Database, tenant_id: str, name: str, labelled: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Per version: requests served, predictions made in shadow, and accuracy on the labelled texts among
    them (`labelled`: text → label); overall: the agreement rate of shadowed requests."""
    versions = {m.id: m.version for m in store.trained_models.versions(tenant_id, KIND, name)}
    tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    events = pairs = agreed = 0
    for event in store.events.stream(tenant_id, EventFilters(kinds=frozenset({"classified"}))):
        if event.data.get("model_id") not in versions:
            continue
        events += 1
        label = (labelled or {}).get(event.query or "")
        _count(tally[event.data["model_id"]], "served", event.data.get("intent"), label)
        shadow = event.data.get("shadow")
        if isinstance(shadow, dict) and shadow.get("model_id") in versions:
            pairs += 1
            agreed += bool(event.data.get("agree"))
            _count(tally[shadow["model_id"]], "shadowed", shadow.get("intent"), label)
    return {
        "name": name,
        "events": events,
        "shadowed": pairs,
        "agreement": round(agreed / pairs, 4) if pairs else None,
        "versions": [
            _row(model_id, versions[model_id], tally[model_id])
            for model_id in sorted(tally, key=lambda model_id: -versions[model_id])
        ],
    }


def _count(counts: dict[str, int], role: str, intent: str | None, label: str | None) -> None:
    counts[role] += 1
    if label is not None:
        counts["labelled"] += 1
        counts["right"] += intent == label


def _row(model_id: str, version: int, counts: Mapping[str, int]) -> dict[str, Any]:
    labelled = counts.get("labelled", 0)
    return {
        "model_id": model_id,
        "version": version,
        "served": counts.get("served", 0),
        "shadowed": counts.get("shadowed", 0),
        "labelled": labelled,
        "accuracy": round(counts.get("right", 0) / labelled, 4) if labelled else None,
    }
