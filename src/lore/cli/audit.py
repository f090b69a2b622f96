"""`lore audit verify`: check that every tenant's audit log is the chain it was written as."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lore.cli.common import DataDir, JsonFlag, console, err_console, open_store, print_json

if TYPE_CHECKING:
    from lore.security.audit import ChainReport

app = typer.Typer(help="Check the audit log.", no_args_is_help=True)


@app.command("verify")
def verify(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's log (default: every tenant's).")
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Recompute every record's hash and link; exits 1 naming the seq of each edited, missing or moved record."""
    from lore.security.audit import AuditLog

    with open_store(data_dir) as db:
        reports = AuditLog(db.audit).verify(tenant)
    if as_json:
        print_json({"ok": all(report.ok for report in reports), "tenants": [_json(r) for r in reports]})
    else:
        for report in reports:
            _render(report)
    if not all(report.ok for report in reports):
        raise typer.Exit(1)


def _json(report: ChainReport) -> dict[str, Any]:
    breaks = [{"seq": b.seq, "reason": b.reason, "message": b.message} for b in report.breaks]
    return {
        "tenant_id": report.tenant_id,
        "records": report.records,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
        "ok": report.ok,
        "breaks": breaks,
    }


def _render(report: ChainReport) -> None:
    if report.ok:
        head = f"head {report.head_seq} {report.head_hash[:16]}"
        console.print(f"{report.tenant_id}: {report.records} records, chain intact ({head})")
        return
    for found in report.breaks:
        err_console.print(f"{report.tenant_id}: seq {found.seq} {found.reason}: {found.message}", style="red")
