"""What handlers ask for, as `Annotated` dependencies: the service, the caller's tenant, the key ring, users'
identities, the job queue, the app's metrics, answering and its intent models, knowledge gaps, the
tenants' secrets, the limits on concurrent work, the throttle (rate limits, quotas, usage) and the MCP session manager. Only this
module reads `app.state`, where the lifespan put them."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Request
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from lore.api.auth import PrincipalDep
from lore.api.metrics import ApiMetrics
from lore.api.streaming import AnswerSlots
from lore.api.throttle import Throttling
from lore.conversations import Answering
from lore.intelligence.gaps import KnowledgeGaps
from lore.intelligence.intents.serving import IntentService
from lore.jobs import JobQueue
from lore.security.identity import Identity
from lore.security.keys import KeyRing
from lore.security.secrets import TenantSecrets
from lore.service import Lore


async def get_lore(request: Request) -> Lore:
    return request.app.state.lore


async def get_tenant(principal: PrincipalDep) -> str:
    """The tenant every handler scopes its work to: the caller's."""
    return principal.tenant_id


async def get_keys(request: Request) -> KeyRing:
    return request.app.state.keys


async def get_identity(request: Request) -> Identity:
    return request.app.state.identity


async def get_jobs(request: Request) -> JobQueue:
    return request.app.state.jobs


async def get_metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


async def get_answering(request: Request) -> Answering:
    return request.app.state.answering


async def get_intents(request: Request) -> IntentService:
    return request.app.state.answering.intents


async def get_secrets(request: Request) -> TenantSecrets:
    return request.app.state.secrets


async def get_gaps(request: Request) -> KnowledgeGaps:
    return request.app.state.gaps


async def get_search_limiter(request: Request) -> anyio.CapacityLimiter:
    """Admits `LORE_SEARCH_THREADS` searches (and answer retrievals) of this process at a time."""
    return request.app.state.search_limiter


async def get_answer_slots(request: Request) -> AnswerSlots:
    return request.app.state.answer_slots


async def get_throttling(request: Request) -> Throttling:
    return request.app.state.throttling


async def get_mcp(request: Request) -> StreamableHTTPSessionManager:
    return request.app.state.mcp


LoreDep = Annotated[Lore, Depends(get_lore)]
TenantDep = Annotated[str, Depends(get_tenant)]
KeysDep = Annotated[KeyRing, Depends(get_keys)]
IdentityDep = Annotated[Identity, Depends(get_identity)]
JobsDep = Annotated[JobQueue, Depends(get_jobs)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
AnsweringDep = Annotated[Answering, Depends(get_answering)]
IntentsDep = Annotated[IntentService, Depends(get_intents)]
SecretsDep = Annotated[TenantSecrets, Depends(get_secrets)]
GapsDep = Annotated[KnowledgeGaps, Depends(get_gaps)]
SearchLimiterDep = Annotated[anyio.CapacityLimiter, Depends(get_search_limiter)]
AnswerSlotsDep = Annotated[AnswerSlots, Depends(get_answer_slots)]
ThrottlingDep = Annotated[Throttling, Depends(get_throttling)]
McpDep = Annotated[StreamableHTTPSessionManager, Depends(get_mcp)]
