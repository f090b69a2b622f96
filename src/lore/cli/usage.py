"""`lore usage`: what each tenant used per day and key, read from the store (servers write their counters
there every second)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lore.cli.common import DataDir, JsonFlag, console, open_store, print_json

if TYPE_CHECKING:
    from lore.wire.usage import UsageOut

METRICS = ("requests", "searches", "answers", "tokens_in", "tokens_out", "bytes_ingested")


def usage(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant (default: every tenant with usage).")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="First day (default: 29 days before --until)."),
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (default: today).")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Only this API key (by id).")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Requests, searches, answers, tokens and bytes ingested per day and key (with --json: one report per
    tenant, one JSON object a line, as `GET /v1/usage` returns it)."""
    from lore.security.usage import report_range
    from lore.wire.usage import UsageOut

    first, last = report_range(_day(since), _day(until), datetime.now(UTC).date())
    with open_store(data_dir) as store:
        tenants = [tenant] if tenant else store.usage.tenants()
        reports = [
            UsageOut.of(name, first, last, key, store.usage.report(name, str(first), str(last), key))
            for name in tenants
        ]
    for report in reports:
        if as_json:
            print_json(report.model_dump(mode="json"))
        else:
            console.print(_table(report))


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _table(report: UsageOut) -> Table:
    table = Table("day", "key", *METRICS, title=f"{report.tenant_id}: {report.since} to {report.until}")
    for day in report.days:
        table.add_row(str(day.day), day.key_id or "-", *(_cell(day.metrics, name) for name in METRICS))
    table.add_row("total", "", *(_cell(report.totals, name) for name in METRICS), style="bold")
    return table


def _cell(metrics: dict[str, int], name: str) -> str:
    """A metric, or a family's sum with its providers (`tokens_in` adds every `tokens_in:<provider>`)."""
    if name in metrics:
        return f"{metrics[name]:,}"
    parts = {key.split(":", 1)[1]: value for key, value in metrics.items() if key.startswith(f"{name}:")}
    if not parts:
        return "0"
    detail = ", ".join(f"{provider} {value:,}" for provider, value in sorted(parts.items()))
    return f"{sum(parts.values()):,} ({detail})"
