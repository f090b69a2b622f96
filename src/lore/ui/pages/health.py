"""Health (admins): charts of the last hour's latency, throughput, error rate, cache hit rate and queue depth,
drawn by `static/js/health.js` from `GET /v1/metrics/history`, and the readiness of each component as `/readyz`
reports it (its own handler, so the table says exactly what a balancer is told)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from lore.api.deps import AnsweringDep, JobsDep, LoreDep
from lore.api.routes import health as api_health
from lore.errors import LoreError
from lore.ui.rendering import is_htmx, render
from lore.ui.routing import page_router

router = page_router()
LIMITS = frozenset({"max_lag_changes", "max_lag_seconds"})  # what a lag refusal adds beside the components


@dataclass(frozen=True)
class Component:
    name: str
    status: str
    latency_ms: float | None
    details: str


def components(state: Mapping[str, Any], *, ready: bool) -> list[Component]:
    """One row per component of a readiness answer: its status and latency when it reports them (a bare value
    is its status or its only detail), and the rest of what it says."""
    rows = []
    for name, value in state.items():
        if name in LIMITS:
            continue
        if isinstance(value, Mapping):
            rest = {k: v for k, v in value.items() if k not in ("status", "latency_ms")}
            status = str(value.get("status", "ok" if ready else "-"))
            latency = value.get("latency_ms")
            details = ", ".join(f"{k}: {_said(v)}" for k, v in rest.items())
        elif value in ("ok", "failing"):
            status, latency, details = str(value), None, ""
        else:
            status, latency, details = "ok" if ready else "-", None, _said(value)
        rows.append(Component(name, status, latency if isinstance(latency, int | float) else None, details))
    return rows


def _said(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


@router.get("/health")
def health_page(request: Request, lore: LoreDep, jobs: JobsDep, answering: AnsweringDep) -> Response:
    """The charts' frame and the components' table; an htmx request (the page's refresh) gets the table only."""
    error: LoreError | None = None
    try:
        state = api_health.readyz(lore, jobs, answering)
    except LoreError as refused:  # not ready: its details are the components
        error, state = refused, dict(refused.details)
    context = {"components": components(state, ready=error is None), "not_ready": error}
    return render(request, "health.html", context, block="components" if is_htmx(request) else None)
