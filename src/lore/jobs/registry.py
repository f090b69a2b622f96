"""Job kinds: each background job is defined once, as a handler registered under its kind's name.

    >>> @handler("rebuild_index")
    ... def rebuild_index(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    ...     return {"vectors": lore.rebuild_index()}

A handler runs in whichever worker claims the job, so it must be idempotent: a job whose worker died is run
again from the start. `params` always carries `tenant_id`, the tenant the job was submitted for; `progress(done,
total)` records how far it got (and raises `LeaseLost` when another worker has taken the job over).

Kinds are plug-ins: the built-ins (`lore.jobs.kinds`) are imported on the first lookup, installed distributions
add a `Kind` through the entry-point group `lore.job_kinds` (docs/plugins.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lore.plugins import Registry

if TYPE_CHECKING:
    from lore.config import Settings
    from lore.service import Lore

ReportProgress = Callable[[int, int], None]
Handler = Callable[["Lore", dict[str, Any], ReportProgress], dict[str, Any]]
Validator = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Kind:
    run: Handler
    validate: Validator | None = None  # raises InvalidInput before a job with bad params is queued
    # a kind with its own retry policy (webhooks): attempts and first backoff from the settings
    attempts: Callable[[Settings], int] | None = None
    retry_base: Callable[[Settings], float] | None = None


job_kinds: Registry[Kind] = Registry("job kind", "lore.job_kinds", builtins="lore.jobs.kinds")


def handler(
    name: str,
    *,
    validate: Validator | None = None,
    attempts: Callable[[Settings], int] | None = None,
    retry_base: Callable[[Settings], float] | None = None,
) -> Callable[[Handler], Handler]:
    """Register a function as the handler of job kind `name`; `attempts` and `retry_base` override the
    jobs' settings (`job_retries`, the runner's backoff) for this kind."""

    def register(run: Handler) -> Handler:
        job_kinds.add(name, Kind(run, validate, attempts, retry_base))
        return run

    return register


def kind(name: str) -> Kind:
    return job_kinds.get(name)
