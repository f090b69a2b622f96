"""Query adapters of the caller's tenant: list them, train one (a job), activate a version, roll back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import JobsDep, LoreDep
from lore.api.errors import ERROR_RESPONSES
from lore.errors import InvalidInput
from lore.intelligence.adapter_versions import AdapterVersions
from lore.security.access import check_collection, collections_for
from lore.wire.adapters import AdapterActivateIn, AdapterPage, AdapterRollbackOut, AdapterTrainIn
from lore.wire.schemas import JobOut
from lore.wire.trained_models import TrainedModelOut

router = APIRouter(prefix="/v1/adapters", tags=["adapters"], responses=ERROR_RESPONSES)

CollectionName = Annotated[str, Path(min_length=1, max_length=64, description="The collection it serves.")]


@router.get("")
def list_adapters(
    lore: LoreDep,
    principal: PrincipalDep,
    collection: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> AdapterPage:
    """Every version, by collection, newest first (of the collections the caller may use); follow
    `next_cursor` until it is null."""
    allowed = collections_for(principal, None if collection is None else [collection])
    if cursor is not None and not cursor.isdigit():
        raise InvalidInput("cursor is not one this listing returned", details={"cursor": cursor})
    start = int(cursor or 0)
    versions = AdapterVersions.of(lore).list(principal.tenant_id, collection)
    if allowed is not None:
        versions = [model for model in versions if model.name in allowed]
    page = [TrainedModelOut.of(model) for model in versions[start : start + limit]]
    more = start + limit < len(versions)
    return AdapterPage(items=page, next_cursor=str(start + limit) if more else None)


@router.get("/{collection}")
def get_adapter(
    collection: CollectionName,
    lore: LoreDep,
    principal: PrincipalDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> TrainedModelOut:
    """The collection's active adapter, or one `version` of it, with its held-out metrics."""
    check_collection(principal, collection)
    return TrainedModelOut.of(AdapterVersions.of(lore).show(principal.tenant_id, collection, version))


@router.post("/{collection}/train", status_code=202)
def train(
    collection: CollectionName,
    body: AdapterTrainIn,
    jobs: JobsDep,
    principal: PrincipalDep,
    response: Response,
    audit: AuditDep,
) -> JobOut:
    """Queue the training of a new version; follow the job at its `Location` (its result is the version)."""
    check_collection(principal, collection)
    params = {
        "collection": collection,
        "pairs": [pair.model_dump(exclude_none=True) for pair in body.pairs],
        "from_events": body.from_events,
        "activate": body.activate,
    }
    job = jobs.submit("train_adapter", params, tenant_id=principal.tenant_id)
    summary = {"collection": collection, "pairs": len(body.pairs), "from_events": body.from_events}
    audit.record("adapter.training_queued", target=job.id, summary=summary)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobOut.of(job)


@router.post("/{collection}/activate")
def activate(
    collection: CollectionName,
    body: AdapterActivateIn,
    lore: LoreDep,
    principal: PrincipalDep,
    audit: AuditDep,
) -> TrainedModelOut:
    """Make a version the collection's adapter, for searches at once (409 when it did not help on its
    held-out queries, unless `force`)."""
    check_collection(principal, collection)
    versions = AdapterVersions.of(lore)
    model = versions.activate(principal.tenant_id, collection, body.version, force=body.force)
    summary = {"collection": collection, "version": model.version, "forced": body.force}
    audit.record("adapter.activated", target=model.id, summary=summary)
    return TrainedModelOut.of(model)


@router.post("/{collection}/rollback")
def rollback(
    collection: CollectionName, lore: LoreDep, principal: PrincipalDep, audit: AuditDep
) -> AdapterRollbackOut:
    """Go back to the version active before the current one, or to no adapter (409 when none is active)."""
    check_collection(principal, collection)
    restored = AdapterVersions.of(lore).rollback(principal.tenant_id, collection)
    version = None if restored is None else restored.version
    audit.record(
        "adapter.rolled_back", target=collection, summary={"collection": collection, "version": version}
    )
    return AdapterRollbackOut(active=None if restored is None else TrainedModelOut.of(restored))
