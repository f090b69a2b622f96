"""`lore events import|export` and `lore analytics search`: a tenant's events in and out as CSV (docs/events.md),
and what its searches show."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lore.cli.common import DataDir, JsonFlag, console, err_console, open_store, print_json
from lore.errors import LoreError, NotFound
from lore.models import DEFAULT_TENANT, as_utc

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.intelligence.event_csv import Row
    from lore.intelligence.intake import EventIntake
    from lore.security.principal import Principal

app = typer.Typer(help="Import and export a tenant's events.", no_args_is_help=True)
analytics_app = typer.Typer(help="What a tenant's recorded events show.", no_args_is_help=True)

Tenant = Annotated[str, typer.Option("--tenant", help="The tenant whose events these are.")]
Since = Annotated[datetime | None, typer.Option(help="At or after this time (UTC).")]
Until = Annotated[datetime | None, typer.Option(help="Before this time (UTC).")]
BATCH = 500


@app.command("import")
def import_events(
    path: Annotated[Path, typer.Argument(help="A CSV file with a header row (see docs/events.md).")],
    tenant: Tenant = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Store the file's events; ids stored before are skipped, so importing a file again adds nothing. A row
    that is not a valid event is reported with its line number and skipped (exit code 1)."""
    from lore.intelligence.event_csv import read_rows
    from lore.intelligence.events import EventCounts
    from lore.intelligence.intake import EventIntake
    from lore.security.audit import AuditLog
    from lore.security.principal import operator

    totals = {"rows": 0, "accepted": 0, "duplicates": 0, "refused": 0}
    with open_store(data_dir) as db, path.open(newline="", encoding="utf-8") as text:
        _check_tenant(db, tenant)
        intake, principal = EventIntake(db, EventCounts()), operator(tenant)
        for batch in _batches(read_rows(text)):
            accepted, duplicates, refused = _import(intake, principal, batch)
            totals["rows"] += len(batch)
            totals["accepted"] += accepted
            totals["duplicates"] += duplicates
            totals["refused"] += refused
            err_console.print(f"{totals['rows']} rows read, {totals['accepted']} stored", highlight=False)
        AuditLog(db.audit).record(tenant, principal.actor, "events.imported", summary={**totals})
    if as_json:
        print_json(totals)
    else:
        console.print(
            f"{totals['accepted']} events stored, {totals['duplicates']} stored before, {totals['refused']} refused"
        )
    if totals["refused"]:
        raise typer.Exit(1)


def _check_tenant(db: Database, tenant: str) -> None:
    if db.tenants.get(tenant) is None:
        raise NotFound(f"no tenant {tenant!r}", details={"tenant_id": tenant})


def _batches(rows: Iterator[Row]) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _import(intake: EventIntake, principal: Principal, batch: Sequence[Row]) -> tuple[int, int, int]:
    """(stored, duplicates, refused): a refused row is reported and left out, and the rest tried again."""
    refused = [row for row in batch if row.error is not None]
    rows = [row for row in batch if row.event is not None]
    while True:
        try:
            accepted = intake.accept(principal, [row.event for row in rows if row.event is not None])
            break
        except LoreError as error:
            index = error.details.get("index")
            if not isinstance(index, int):
                raise
            refused.append(rows.pop(index)._replace(error=error))
    for row in sorted(refused, key=lambda row: row.line):
        assert row.error is not None
        err_console.print(
            f"line {row.line}: {row.error.code}: {row.error.message}", style="red", markup=False
        )
    return accepted.accepted, accepted.duplicates, len(refused)


@app.command("export")
def export_events(
    tenant: Tenant = DEFAULT_TENANT,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only this kind (repeatable).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's events.")] = None,
    since: Since = None,
    until: Until = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Every matching event, oldest first: CSV in the import's columns (client events import again), or with
    --json one JSON object a line, as `GET /v1/events/export?format=ndjson` sends them."""
    from lore.backends.store.event_records import EventFilters
    from lore.intelligence.event_csv import write_rows
    from lore.wire.events import EventOut

    narrowed = EventFilters(frozenset(kind) if kind else None, user, None, as_utc(since), as_utc(until))
    with open_store(data_dir) as db:
        found = db.events.stream(tenant, narrowed)
        if as_json:
            for event in found:
                sys.stdout.write(EventOut.of(event).model_dump_json() + "\n")
        else:
            sys.stdout.writelines(write_rows(found))


@analytics_app.command("search")
def search_analytics(
    tenant: Tenant = DEFAULT_TENANT,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Queries per list.")] = 20,
    min_searches: Annotated[
        int, typer.Option(min=1, help="How often a never-clicked query was searched at least.")
    ] = 3,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Top queries, queries never clicked, click-through rate by rank and queries that found nothing (with
    --json: the object `GET /v1/analytics/search` returns)."""
    from lore.wire.events import SearchAnalyticsOut

    since, until = as_utc(since), as_utc(until)
    with open_store(data_dir) as db:
        found = db.events.search_analytics(tenant, since, until, limit=limit, min_searches=min_searches)
    report = SearchAnalyticsOut.of(found, since, until)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    console.print(f"{report.searches} searches, {report.clicked} followed by a click")
    for title, queries in (
        ("top queries", report.top_queries),
        (f"never clicked (searched {min_searches}+ times)", report.no_click_queries),
        ("no results", report.zero_result_queries),
    ):
        table = Table("query", "searches", "clicked", "no results", title=title)
        for stats in queries:
            table.add_row(stats.query, str(stats.searches), str(stats.clicked), str(stats.zero_results))
        console.print(table)
    ranks = Table("rank", "impressions", "clicks", "ctr", title="click-through by rank")
    for rank in report.ctr_by_rank:
        ranks.add_row(str(rank.rank), str(rank.impressions), str(rank.clicks), f"{rank.ctr:.1%}")
    console.print(ranks)
