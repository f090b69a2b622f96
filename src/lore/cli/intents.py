"""`lore intents ...`: train, inspect, serve and compare a tenant's intent models, and set its intent routes.

lore intents train tickets.csv --name support --activate
lore intents share mdl_1f2e... 0.2
lore intents routes set refund_request --collection billing --tag refunds
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lore.cli.common import (
    DataDir,
    JsonFlag,
    Quiet,
    console,
    open_store,
    print_json,
    settings_for,
)
from lore.cli.progress import reporting
from lore.models import DEFAULT_TENANT

if TYPE_CHECKING:
    from lore.backends.store.trained_models import TrainedModel

app = typer.Typer(
    help="Train, serve and compare intent models; route conversations by intent.", no_args_is_help=True
)
routes_app = typer.Typer(help="What conversations do with each intent.", no_args_is_help=True)
app.add_typer(routes_app, name="routes")

Tenant = Annotated[str, typer.Option("--tenant", "-t", help="The model's tenant.")]
Name = Annotated[
    str | None, typer.Option("--name", "-n", help="The model's name (default: $LORE_INTENT_MODEL).")
]
ModelId = Annotated[str, typer.Argument(help="A version's id (mdl_...), as `lore intents list` shows it.")]
CsvPath = Annotated[Path, typer.Argument(help="A CSV with columns text,label.", exists=True, dir_okay=False)]


@app.command("train")
def train(
    csv_path: CsvPath,
    name: Name = None,
    activate: Annotated[bool, typer.Option("--activate", help="Serve the new version at once.")] = False,
    tenant: Tenant = DEFAULT_TENANT,
    quiet: Quiet = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Train the next version of a model on a labelled CSV, with a stratified validation share (a new data dir
    is made for it)."""
    from lore.intelligence.intents.versions import train_version
    from lore.registry import create_embedder

    settings = settings_for(data_dir)
    embedder = create_embedder(settings)
    with open_store(data_dir, create=True) as store, reporting(quiet or as_json) as report:

        def progress(stage: str, done: int, total: int) -> None:
            report(stage, done / total if total else None, f"{done}/{total}")

        record = train_version(
            store,
            embedder,
            settings,
            tenant,
            csv_path.read_bytes(),
            name or settings.intelligence.intent_model,
            activate=activate,
            progress=progress,
        )
    _render(record, as_json)


@app.command("list")
def list_models(
    name: Name = None, tenant: Tenant = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Every version, by name, newest first."""
    from lore.intelligence.intents.serving import KIND
    from lore.wire.intents import TrainedModelList
    from lore.wire.trained_models import TrainedModelOut

    with open_store(data_dir) as store:
        versions = store.trained_models.versions(tenant, KIND, name)
    if as_json:
        print_json(TrainedModelList(items=[TrainedModelOut.of(m) for m in versions]).model_dump(mode="json"))
        return
    for m in versions:
        share = f" share={m.traffic_share}" if m.traffic_share else ""
        accuracy = m.metrics.get("accuracy")
        console.print(f"{m.id}  {m.name} v{m.version}  {m.status}{share}  accuracy={accuracy}", markup=False)


@app.command("show")
def show(
    model_id: ModelId, tenant: Tenant = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """One version: its metrics (validation), labels, data hash and embedder."""
    from lore.intelligence.intents.versions import intent_version

    with open_store(data_dir) as store:
        _render(intent_version(store, tenant, model_id), as_json, full=True)


@app.command("activate")
def activate(
    model_id: ModelId, tenant: Tenant = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Serve this version; the one active before it is retired."""
    from lore.intelligence.intents.versions import intent_version

    with open_store(data_dir) as store:
        intent_version(store, tenant, model_id)
        _render(store.trained_models.activate(tenant, model_id), as_json)


@app.command("shadow")
def shadow(
    model_id: ModelId, tenant: Tenant = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Run this version in shadow: it predicts beside the active one, and the events record both."""
    from lore.intelligence.intents.versions import intent_version

    with open_store(data_dir) as store:
        intent_version(store, tenant, model_id)
        _render(store.trained_models.set_status(tenant, model_id, "shadow"), as_json)


@app.command("share")
def share(
    model_id: ModelId,
    traffic_share: Annotated[float, typer.Argument(help="0 < share < 1 of requests; 0 stops it serving.")],
    tenant: Tenant = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Let a candidate serve a share of requests (A/B), stable per end user or conversation."""
    from lore.intelligence.intents.versions import intent_version

    with open_store(data_dir) as store:
        intent_version(store, tenant, model_id)
        record = store.trained_models.set_status(tenant, model_id, "candidate", traffic_share or None)
        _render(record, as_json)


@app.command("rollback")
def rollback(
    name: Name = None, tenant: Tenant = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Serve again the version active before the current one."""
    from lore.intelligence.intents.serving import KIND

    settings = settings_for(data_dir)
    with open_store(data_dir) as store:
        _render(
            store.trained_models.rollback(tenant, KIND, name or settings.intelligence.intent_model), as_json
        )


@app.command("eval")
def evaluate(
    model_id: ModelId,
    csv_path: CsvPath,
    tenant: Tenant = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Score a stored version on a labelled CSV: accuracy, macro-F1, per label, the most confused pairs."""
    from lore.evaluation.intents import score
    from lore.intelligence.intents.data import parse_csv
    from lore.intelligence.intents.model import IntentModel
    from lore.intelligence.intents.versions import intent_version
    from lore.registry import create_embedder_for

    settings = settings_for(data_dir)
    with open_store(data_dir) as store:
        record = intent_version(store, tenant, model_id)
        model = IntentModel.loads(store.trained_models.payload(tenant, model_id))
    embedder = create_embedder_for(settings, record.embedder or settings.embedding.embedder)
    figures = score(model, embedder, parse_csv(csv_path.read_bytes()))
    _figures({"model_id": model_id, "version": record.version, **figures}, as_json)


@app.command("compare")
def compare(
    name: Name = None,
    labelled: Annotated[
        Path | None, typer.Option(help="A CSV (text,label) to score the logged predictions.")
    ] = None,
    tenant: Tenant = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Versions side by side from their `classified` events: shadow agreement, requests served, accuracy."""
    from lore.intelligence.intents import comparison
    from lore.intelligence.intents.data import parse_csv

    settings = settings_for(data_dir)
    truth = None
    if labelled is not None:
        data = parse_csv(labelled.read_bytes())
        truth = dict(zip(data.texts, data.labels, strict=True))
    with open_store(data_dir) as store:
        report = comparison.compare(store, tenant, name or settings.intelligence.intent_model, truth)
    _figures(report, as_json)


@routes_app.command("set")
def set_route(
    intent: Annotated[str, typer.Argument(help="The intent the rule applies to.")],
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Search this collection.")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Narrow to this tag (repeatable).")] = None,
    reply: Annotated[str | None, typer.Option(help="Answer with this text instead.")] = None,
    escalate: Annotated[bool, typer.Option("--escalate", help="Mark the answer for a human.")] = False,
    tenant: Tenant = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Create or replace the rule for an intent."""
    from lore.names import check_name
    from lore.wire.intents import IntentRouteOut

    if collection is not None:
        check_name("collection", collection)
    with open_store(data_dir) as store:
        route = store.intent_routes.set(
            tenant, intent, collection=collection, tags=tag or [], reply=reply, escalate=escalate
        )
    _figures(IntentRouteOut.of(route).model_dump(mode="json"), as_json)


@routes_app.command("list")
def list_routes(tenant: Tenant = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    from lore.wire.intents import IntentRouteList, IntentRouteOut

    with open_store(data_dir) as store:
        routes = IntentRouteList(items=[IntentRouteOut.of(r) for r in store.intent_routes.list(tenant)])
    if as_json:
        print_json(routes.model_dump(mode="json"))
        return
    for r in routes.items:
        reply = " reply" if r.reply else ""
        console.print(
            f"{r.intent}  collection={r.collection} tags={r.tags}{reply} escalate={r.escalate}", markup=False
        )


@routes_app.command("delete")
def delete_route(
    intent: Annotated[str, typer.Argument(help="The intent whose rule goes.")],
    tenant: Tenant = DEFAULT_TENANT,
    data_dir: DataDir = None,
) -> None:
    with open_store(data_dir) as store:
        store.intent_routes.delete(tenant, intent)
    console.print(f"deleted the route for {intent}", markup=False)


def _render(record: TrainedModel, as_json: bool, full: bool = False) -> None:
    from lore.wire.trained_models import TrainedModelOut

    out = TrainedModelOut.of(record).model_dump(mode="json")
    if as_json:
        print_json(out)
        return
    if not full:
        out["metrics"] = {k: v for k, v in out["metrics"].items() if k != "per_label"}
        out["labels"] = len(out["labels"])
    _figures(out, False)


def _figures(values: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(values)
        return
    width = max(map(len, values), default=0)
    for key, value in values.items():
        console.print(f"{key:>{width}}  {value}", markup=False)
