"""What handlers ask for, as `Annotated` dependencies: the service, the tenant, the app's metrics, answering."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lore.api.metrics import ApiMetrics
from lore.conversations import Answering
from lore.models import DEFAULT_TENANT
from lore.service import Lore


async def get_lore(request: Request) -> Lore:
    return request.app.state.lore


async def get_tenant() -> str:
    """The tenant every handler scopes its work to. Until API keys land, everyone is the default tenant."""
    return DEFAULT_TENANT


async def get_metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


async def get_answering(request: Request) -> Answering:
    return request.app.state.answering


LoreDep = Annotated[Lore, Depends(get_lore)]
TenantDep = Annotated[str, Depends(get_tenant)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
AnsweringDep = Annotated[Answering, Depends(get_answering)]
