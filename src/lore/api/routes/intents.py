"""Intent models: classify a text (`classify` scope), and for admins, the tenant's versions (list, show,
activate, shadow, traffic share, rollback, compare), training from an uploaded CSV as a job, and the routes
conversations apply to each intent.

Every call is scoped to the caller's tenant: another tenant's model ids are not found (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.bodies import read_upload
from lore.api.deps import IntentsDep, JobsDep, LoreDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.errors import InvalidInput
from lore.intelligence.intents.comparison import compare
from lore.intelligence.intents.serving import KIND, Caller
from lore.intelligence.intents.versions import intent_version
from lore.names import check_name
from lore.wire.intents import (
    ClassificationOut,
    ClassifyIn,
    ComparisonOut,
    IntentRouteIn,
    IntentRouteList,
    IntentRouteOut,
    RollbackIn,
    ShareIn,
    TrainedModelList,
)
from lore.wire.schemas import JobOut
from lore.wire.trained_models import TrainedModelOut

router = APIRouter(prefix="/v1", tags=["intents"], responses=ERROR_RESPONSES)

ModelId = Annotated[str, Path(min_length=1, max_length=64)]
Intent = Annotated[str, Path(min_length=1, max_length=200)]
ModelName = Annotated[
    str | None, Query(min_length=1, max_length=64, description="Default: LORE_INTENT_MODEL.")
]
CSV_UPLOAD = {
    "type": "object",
    "properties": {"file": {"type": "string", "format": "binary", "description": "CSV: text,label"}},
    "required": ["file"],
}
CSV_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": CSV_UPLOAD}}}}


@router.post("/classify")
def classify(body: ClassifyIn, intents: IntentsDep, principal: PrincipalDep) -> ClassificationOut:
    """The intent of a text by the tenant's active intent model (or the candidate whose A/B share this end
    user falls in); 409 `no_active_model` when the model has no active version."""
    caller = Caller(principal.actor, principal.end_user)
    return ClassificationOut.of(intents.classify(principal.tenant_id, body.text, caller, body.model))


@router.get("/intents/models")
def list_models(lore: LoreDep, tenant: TenantDep, name: ModelName = None) -> TrainedModelList:
    """The tenant's intent model versions (of one name, if given), by name, newest version first."""
    versions = lore.store.trained_models.versions(tenant, KIND, name)
    return TrainedModelList(items=[TrainedModelOut.of(m) for m in versions])


@router.get("/intents/models/{model_id}")
def get_model(model_id: ModelId, lore: LoreDep, tenant: TenantDep) -> TrainedModelOut:
    """One version with its validation metrics, labels and training data hash."""
    return TrainedModelOut.of(intent_version(lore.store, tenant, model_id))


@router.post("/intents/models/{model_id}/activate")
def activate_model(model_id: ModelId, lore: LoreDep, tenant: TenantDep, audit: AuditDep) -> TrainedModelOut:
    """Make this version the serving one; the version active before it is retired."""
    intent_version(lore.store, tenant, model_id)
    model = lore.store.trained_models.activate(tenant, model_id)
    audit.record("intents.activated", target=model_id, summary={"name": model.name, "version": model.version})
    return TrainedModelOut.of(model)


@router.post("/intents/models/{model_id}/shadow")
def shadow_model(model_id: ModelId, lore: LoreDep, tenant: TenantDep, audit: AuditDep) -> TrainedModelOut:
    """Run this version beside the active one: it predicts every request, only its events show it."""
    intent_version(lore.store, tenant, model_id)
    model = lore.store.trained_models.set_status(tenant, model_id, "shadow")
    audit.record("intents.shadowed", target=model_id, summary={"name": model.name, "version": model.version})
    return TrainedModelOut.of(model)


@router.post("/intents/models/{model_id}/share")
def share_model(
    model_id: ModelId, body: ShareIn, lore: LoreDep, tenant: TenantDep, audit: AuditDep
) -> TrainedModelOut:
    """Let this candidate serve a share of requests (A/B), the same end users or conversations each time."""
    intent_version(lore.store, tenant, model_id)
    model = lore.store.trained_models.set_status(tenant, model_id, "candidate", body.traffic_share)
    audit.record("intents.shared", target=model_id, summary={"traffic_share": body.traffic_share})
    return TrainedModelOut.of(model)


@router.post("/intents/rollback")
def rollback_model(
    body: RollbackIn, lore: LoreDep, intents: IntentsDep, tenant: TenantDep, audit: AuditDep
) -> TrainedModelOut:
    """Reactivate the version that was active before the current one (409 when there is none)."""
    model = lore.store.trained_models.rollback(tenant, KIND, body.name or intents.default_name)
    audit.record(
        "intents.rolled_back", target=model.id, summary={"name": model.name, "version": model.version}
    )
    return TrainedModelOut.of(model)


@router.get("/intents/compare")
def compare_models(
    lore: LoreDep, intents: IntentsDep, tenant: TenantDep, name: ModelName = None
) -> ComparisonOut:
    """Agreement of the shadow with the serving version, and requests served per version, from the
    `classified` events."""
    intents.events.flush()  # this process's latest classifications count too
    return ComparisonOut.of(compare(lore.store, tenant, name or intents.default_name))


@router.post("/intents/train", status_code=202, openapi_extra=CSV_BODY)
async def train_model(
    request: Request,
    response: Response,
    jobs: JobsDep,
    lore: LoreDep,
    tenant: TenantDep,
    audit: AuditDep,
    name: ModelName = None,
    activate: bool = False,
) -> JobOut:
    """Queue a `train_intents` job on the uploaded CSV (multipart `file`, columns text,label); it saves the next
    version of `name` (activated if `activate`); follow it at `Location`."""
    name = check_name("model", name or lore.settings.intelligence.intent_model)
    upload = await read_upload(request, lore.settings.serving.max_upload_bytes)
    try:
        content = upload.data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput("the CSV must be UTF-8", details={"position": error.start}) from error
    params = {"csv": content, "name": name, "activate": activate}
    job = await run_in_threadpool(jobs.submit, "train_intents", params, tenant_id=tenant)
    await run_in_threadpool(audit.record, "intents.train_queued", job.id, {"name": name})
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobOut.of(job)


@router.get("/intents/routes")
def list_routes(lore: LoreDep, tenant: TenantDep) -> IntentRouteList:
    return IntentRouteList(items=[IntentRouteOut.of(r) for r in lore.store.intent_routes.list(tenant)])


@router.put("/intents/routes/{intent}")
def set_route(
    intent: Intent, body: IntentRouteIn, lore: LoreDep, tenant: TenantDep, audit: AuditDep
) -> IntentRouteOut:
    """Create or replace what conversations do with questions of this intent."""
    if body.collection is not None:
        check_name("collection", body.collection)
    route = lore.store.intent_routes.set(
        tenant, intent, collection=body.collection, tags=body.tags, reply=body.reply, escalate=body.escalate
    )
    audit.record("intents.route_set", target=intent, summary=body.model_dump(exclude={"reply"}))
    return IntentRouteOut.of(route)


@router.delete("/intents/routes/{intent}", status_code=204)
def delete_route(intent: Intent, lore: LoreDep, tenant: TenantDep, audit: AuditDep) -> Response:
    lore.store.intent_routes.delete(tenant, intent)
    audit.record("intents.route_deleted", target=intent)
    return Response(status_code=204)
