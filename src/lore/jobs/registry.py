"""Job kinds: each background job is defined once, as a handler registered under its kind's name.

    >>> @handler("rebuild_index")
    ... def rebuild_index(lore: Lore, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    ...     return {"vectors": lore.rebuild_index()}

A handler runs in whichever worker claims the job, so it must be idempotent: a job whose worker died is run
again from the start. `params` always carries `tenant_id`, the tenant the job was submitted for; `progress(done,
total)` records how far it got (and raises `LeaseLost` when another worker has taken the job over).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lore.errors import InvalidInput

if TYPE_CHECKING:
    from lore.service import Lore

Progress = Callable[[int, int], None]
Handler = Callable[["Lore", dict[str, Any], Progress], dict[str, Any]]
Validator = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    run: Handler
    validate: Validator | None = None  # raises InvalidInput before a job with bad params is queued


KINDS: dict[str, Kind] = {}


def handler(name: str, *, validate: Validator | None = None) -> Callable[[Handler], Handler]:
    """Register a function as the handler of job kind `name`."""

    def register(run: Handler) -> Handler:
        KINDS[name] = Kind(name, run, validate)
        return run

    return register


def kind(name: str) -> Kind:
    from lore.jobs import kinds  # noqa: F401  (registers the built-in kinds)

    if name not in KINDS:
        raise InvalidInput(f"unknown job kind {name!r}", details={"known": sorted(KINDS)})
    return KINDS[name]
