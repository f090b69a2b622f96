"""`webhook_delivery`: one attempt of one webhook delivery; a failed attempt raises, so the runner retries it
with the webhooks' own backoff (`webhook_retry_base_seconds`) and number of attempts (`webhook_attempts`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.errors import InvalidInput
from lore.jobs.registry import ReportProgress, handler
from lore.webhooks.delivery import JOB_KIND, SPARE_JOB_ATTEMPTS

if TYPE_CHECKING:
    from lore.config import Settings
    from lore.service import Lore


def _validate(params: dict[str, Any]) -> None:
    if not isinstance(params.get("delivery_id"), str):
        raise InvalidInput("a webhook delivery job names its delivery_id")


def _attempts(settings: Settings) -> int:
    return settings.webhooks.webhook_attempts + SPARE_JOB_ATTEMPTS


def _retry_base(settings: Settings) -> float:
    return settings.webhooks.webhook_retry_base_seconds


@handler(JOB_KIND, validate=_validate, attempts=_attempts, retry_base=_retry_base)
def deliver(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    return lore.webhooks.deliveries.deliver(params["tenant_id"], params["delivery_id"])
