"""Usage and quotas (admins): today's usage against the tenant's quotas, the rate limits in force, and the
counters of a period, per day and key. The counters are the API's own handler (`lore.api.routes.usage`), so
the page reports exactly what `GET /v1/usage` would; the limits are those the tenant's requests meet (its
policy over the server's defaults). Read-only: the operator sets quotas and rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from lore.api.auth import PrincipalDep
from lore.api.deps import KeysDep, LoreDep, TenantDep, ThrottlingDep
from lore.api.routes import keys as api_keys
from lore.api.routes import usage as api_usage
from lore.backends.store.usage_records import metric_total
from lore.security.quotas import RATE_NAMES, QuotaName, TenantPolicy
from lore.ui.forms import OptionalDate
from lore.ui.rendering import is_htmx, render
from lore.ui.routing import page_router
from lore.wire.usage import UsageOut

router = page_router()
Day = Annotated[OptionalDate, Query()]
# The counters of a report, in the order a page shows them; tokens are summed over providers.
COUNTERS = (
    ("requests", "Requests"),
    ("searches", "Searches"),
    ("answers", "Answers"),
    ("tokens", "LLM tokens"),
    ("bytes_ingested", "Bytes ingested"),
)
RATE_LABELS = {
    "tenant": "All of the tenant's requests",
    "user": "Each user",
    "key": "Each API key (unless the key has its own limit)",
    "address": "Each client address of a publishable key",
}


@dataclass(frozen=True)
class Quota:
    """One quota beside what it measures: `limit` None is no quota."""

    name: QuotaName
    label: str
    used: int
    limit: int | None

    @property
    def percent(self) -> int:
        """How much of a (non-zero) quota is used, in whole percent."""
        return round(100 * self.used / self.limit) if self.limit else 0


def quotas(policy: TenantPolicy, today: UsageOut, documents: int, stored_bytes: int) -> list[Quota]:
    """The daily quotas against today's counters (UTC), the stored ones against what the tenant holds now."""
    used: dict[QuotaName, tuple[str, int]] = {
        "requests_per_day": ("Requests today", metric_total(today.totals, "requests")),
        "tokens_per_day": ("LLM tokens today", metric_total(today.totals, "tokens")),
        "documents": ("Documents stored", documents),
        "stored_bytes": ("Bytes of text stored", stored_bytes),
    }
    return [Quota(name, label, value, policy.quotas[name]) for name, (label, value) in used.items()]


def counters(metrics: dict[str, int]) -> dict[str, int]:
    return {name: metric_total(metrics, name) for name, _ in COUNTERS}


def token_rows(metrics: dict[str, int]) -> list[tuple[str, int]]:
    """The tokens of each provider, prompt (`in`) and answer (`out`), as "in: extractive"."""
    split = ((name.partition(":"), value) for name, value in sorted(metrics.items()))
    return [
        (f"{family.removeprefix('tokens_')}: {provider}", value)
        for (family, _, provider), value in split
        if family in ("tokens_in", "tokens_out")
    ]


@router.get("/usage")
async def usage_page(
    request: Request,
    lore: LoreDep,
    keys: KeysDep,
    principal: PrincipalDep,
    tenant: TenantDep,
    throttling: ThrottlingDep,
    since: Day = None,
    until: Day = None,
    key_id: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The period's report (the API's default, the last 30 days, when no dates are given); an htmx request
    gets the report only."""
    report = await api_usage.get_usage(lore, tenant, throttling, since, until, key_id or None)
    today = datetime.now(UTC).date()
    todays = await api_usage.get_usage(lore, tenant, throttling, today, today, None)
    policy = await run_in_threadpool(throttling.policy, tenant)
    stored = await run_in_threadpool(lore.store.usage.stored, tenant)
    tenant_keys = (await run_in_threadpool(api_keys.list_keys, keys, principal)).items
    context = {
        "report": report,
        "quotas": quotas(policy, todays, stored.documents, stored.bytes),
        "rates": [(RATE_LABELS[name], policy.rate_limits[name]) for name in RATE_NAMES],
        "own_limits": [key for key in tenant_keys if key.rate_limit],
        "counter_labels": COUNTERS,
        "totals": counters(report.totals),
        "days": [(day, counters(day.metrics)) for day in reversed(report.days)],
        "tokens": token_rows(report.totals),
        "keys": tenant_keys,
        "key_names": {key.id: key.name for key in tenant_keys},
        "since": since or "",
        "until": until or "",
        "key_id": key_id,
        "today": today,
        "days_covered": (report.until - report.since).days + 1,
    }
    return render(request, "usage.html", context, block="report" if is_htmx(request) else None)
