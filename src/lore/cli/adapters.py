"""`lore adapters train|list|show|activate|rollback COLLECTION`: query adapters, embeddings tuned to a tenant.

Training runs in this process: it reads the pairs, fits the adapter, searches its held-out queries without and
with it, and stores it as a new candidate version; `--activate` activates it when it helped. A running
`lore serve` picks up an activation or a rollback within `LORE_ADAPTER_REFRESH_SECONDS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lore.cli.common import (
    DataDir,
    JsonFlag,
    console,
    err_console,
    open_lore,
    open_store,
    print_json,
    settings_for,
)
from lore.errors import InvalidInput
from lore.models import DEFAULT_TENANT

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.backends.store.trained_models import TrainedModel
    from lore.intelligence.adapter_versions import AdapterVersions
    from lore.service import Lore

app = typer.Typer(help="Query adapters: embeddings tuned to the tenant's queries.", no_args_is_help=True)

CollectionArgument = Annotated[str, typer.Argument(help="The collection the adapter serves.")]
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The collection's tenant.")]


@app.command("train")
def train(
    collection: CollectionArgument,
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs",
            help="TSV or CSV of query and document id, source or passage text (header optional: query, "
            "document_id|source|chunk_id|text).",
        ),
    ] = None,
    from_events: Annotated[
        bool, typer.Option("--from-events", help="Learn from the tenant's clicks and helpful feedback.")
    ] = False,
    activate: Annotated[bool, typer.Option("--activate", help="Activate it if it helped.")] = False,
    tenant: TenantOption = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Train a new adapter version from labelled pairs, events, or both."""
    from lore.intelligence.adapters import train_adapter

    if pairs is None and not from_events:
        raise InvalidInput("give --pairs FILE, --from-events, or both")
    with open_lore(data_dir) as lore:
        found = _pairs(lore, tenant, collection, pairs, from_events)
        model = train_adapter(lore, tenant, collection, found, activate=activate)
        _audit(lore.store, tenant, "adapter.trained", model)
    _render(model, as_json)
    if activate and model.status != "active" and not as_json:
        err_console.print("not activated: it did not help on its held-out queries", style="yellow")


@app.command("list")
def list_adapters(
    collection: Annotated[str | None, typer.Argument(help="Only this collection's.")] = None,
    tenant: TenantOption = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Every version, by collection, newest first."""
    from lore.wire.trained_models import TrainedModelOut

    with open_store(data_dir) as db:
        versions = _versions(db, data_dir).list(tenant, collection)
    if as_json:
        print_json([TrainedModelOut.of(model).model_dump(mode="json") for model in versions])
        return
    table = Table("collection", "version", "status", "vector gain", "hybrid gain", "embedder", "created")
    for model in versions:
        gains = [str((model.metrics.get(mode) or {}).get("gain")) for mode in ("vector", "hybrid")]
        created = model.created_at.isoformat(timespec="seconds")
        table.add_row(model.name, str(model.version), model.status, *gains, model.embedder or "", created)
    console.print(table)


@app.command("show")
def show(
    collection: CollectionArgument,
    version: Annotated[int | None, typer.Option("--version", help="Default: the active one.")] = None,
    tenant: TenantOption = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """One version with its metrics: the active one unless --version."""
    with open_store(data_dir) as db:
        model = _versions(db, data_dir).show(tenant, collection, version)
    _render(model, as_json)


@app.command("activate")
def activate(
    collection: CollectionArgument,
    version: Annotated[int | None, typer.Option("--version", help="Default: the newest.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Even if it did not help.")] = False,
    tenant: TenantOption = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a version the collection's adapter (refused unless its held-out searches gained, or --force)."""
    with open_store(data_dir) as db:
        model = _versions(db, data_dir).activate(tenant, collection, version, force=force)
        _audit(db, tenant, "adapter.activated", model, forced=force)
    _render(model, as_json)


@app.command("rollback")
def rollback(
    collection: CollectionArgument,
    tenant: TenantOption = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Go back to the version active before, or to no adapter after the first one."""
    from lore.wire.trained_models import TrainedModelOut

    with open_store(data_dir) as db:
        restored = _versions(db, data_dir).rollback(tenant, collection)
        _audit(db, tenant, "adapter.rolled_back", restored, collection=collection)
    if as_json:
        print_json(
            {"active": None if restored is None else TrainedModelOut.of(restored).model_dump(mode="json")}
        )
    elif restored is None:
        console.print(f"{collection}: no adapter")
    else:
        console.print(f"{collection}: adapter version {restored.version} is active again")


def _pairs(lore: Lore, tenant: str, collection: str, path: Path | None, from_events: bool) -> list[Any]:
    from lore.intelligence.adapter_pairs import pairs_from_events, read_pairs
    from lore.intelligence.adapters import document_lookup

    found = [] if path is None else read_pairs(path, document_lookup(lore, tenant, collection))
    return found + (pairs_from_events(lore.store.events, tenant) if from_events else [])


def _versions(db: Database, data_dir: Path | None) -> AdapterVersions:
    """The store's adapter versions, without a model or an index: a running server follows within
    `LORE_ADAPTER_REFRESH_SECONDS`."""
    from lore.intelligence.adapter_versions import AdapterVersions

    return AdapterVersions(db.trained_models, settings_for(data_dir).intelligence.adapter_min_gain)


def _audit(db: Database, tenant: str, action: str, model: TrainedModel | None, **summary: Any) -> None:
    from lore.security.audit import AuditLog
    from lore.security.principal import operator

    if model is not None:
        summary = {"collection": model.name, "version": model.version, **summary}
    target = model.id if model is not None else str(summary.get("collection"))
    AuditLog(db.audit).record(tenant, operator(tenant).actor, action, target, summary)


def _render(model: TrainedModel, as_json: bool) -> None:
    from lore.wire.trained_models import TrainedModelOut

    if as_json:
        print_json(TrainedModelOut.of(model).model_dump(mode="json"))
        return
    console.print(f"[bold]{model.name}[/bold] adapter version {model.version}: {model.status}", markup=True)
    for mode in ("vector", "hybrid"):
        figures = model.metrics.get(mode) or {}
        console.print(
            f"  {mode:<6} nDCG@10 on held-out queries  {figures.get('before')} -> {figures.get('after')}"
            f"  ({figures.get('gain'):+})"
            if figures
            else f"  {mode}: not evaluated",
            markup=False,
        )
