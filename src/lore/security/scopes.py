"""Scopes are the permissions routes ask for; roles are named sets of scopes a tenant's users hold.

    viewer  search, ask, documents:read, events (send feedback and interactions), classify
    editor  viewer + documents:write
    admin   editor + admin
    owner   admin + owner (manages owners and admins, the tenant's policy and secrets)

Two scopes belong to the installation, not to a tenant, so no role holds them: `installation` (create, list and
disable tenants; back up the whole store) and `metrics` (scrape /metrics). Only keys the operator creates on the
machine carry them. A publishable key carries at most `search`, `ask` and `events` (a help page's feedback).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args


class Scope(StrEnum):
    SEARCH = "search"
    ASK = "ask"
    DOCUMENTS_READ = "documents:read"
    DOCUMENTS_WRITE = "documents:write"
    EVENTS = "events"
    CLASSIFY = "classify"
    ADMIN = "admin"
    OWNER = "owner"
    INSTALLATION = "installation"
    METRICS = "metrics"


RoleName = Literal["owner", "admin", "editor", "viewer"]
ROLES: tuple[RoleName, ...] = get_args(RoleName)

_VIEWER = frozenset({Scope.SEARCH, Scope.ASK, Scope.DOCUMENTS_READ, Scope.EVENTS, Scope.CLASSIFY})
_EDITOR = _VIEWER | {Scope.DOCUMENTS_WRITE}
_ADMIN = _EDITOR | {Scope.ADMIN}

ROLE_SCOPES: dict[RoleName, frozenset[Scope]] = {
    "viewer": _VIEWER,
    "editor": _EDITOR,
    "admin": _ADMIN,
    "owner": _ADMIN | {Scope.OWNER},
}

PUBLISHABLE_SCOPES = frozenset({Scope.SEARCH, Scope.ASK, Scope.EVENTS})


def parse_scopes(names: list[str] | tuple[str, ...]) -> frozenset[Scope]:
    """Scopes from their names; an unknown name raises ValueError naming the known ones."""
    known = {scope.value for scope in Scope}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(f"unknown scopes {unknown}; known: {sorted(known)}")
    return frozenset(Scope(name) for name in names)
