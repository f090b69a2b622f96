"""Rendering pages and the fragments htmx swaps in: one Jinja2 environment, the context every page needs (the
signed-in principal, its CSRF token, the navigation it may use), and error pages."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from jinja2_fragments import render_block
from jinja2_fragments.fastapi import Jinja2Blocks

from lore.api.permissions import PUBLIC, ROUTE_SCOPES, USER, route_key
from lore.security.principal import Principal
from lore.security.scopes import Scope
from lore.security.sessions import CSRF_COOKIE, CSRF_HEADER

UI_DIR = Path(__file__).parent
STATIC_DIR = UI_DIR / "static"
TEMPLATES = Jinja2Blocks(directory=str(UI_DIR / "templates"))  # autoescapes .html


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str


# The navigation, in order; each entry shows only to a principal its page's row in ROUTE_SCOPES admits.
NAVIGATION = (
    NavItem("Search", "/search"),
    NavItem("Chat", "/chat"),
    NavItem("Documents", "/documents"),
    NavItem("Jobs", "/jobs"),
    NavItem("Knowledge gaps", "/gaps"),
    NavItem("Recommendations", "/recommendations"),
    NavItem("API keys", "/keys"),
    NavItem("Users", "/users"),
    NavItem("Webhooks", "/webhooks"),
    NavItem("Usage", "/usage"),
    NavItem("Audit log", "/audit"),
    NavItem("Health", "/health"),
)


def allows(principal: Principal | None, method: str, path: str) -> bool:
    """Whether the route's row in the table lets `principal` in: what the route's own check will decide."""
    requirement = ROUTE_SCOPES.get(route_key(method, path))
    if requirement is None:
        return False
    if requirement == PUBLIC:
        return True
    if principal is None:
        return False
    if requirement == USER:
        return principal.kind == "user"
    return principal.allows(Scope(requirement))


def navigation(principal: Principal | None) -> list[NavItem]:
    return [item for item in NAVIGATION if allows(principal, "GET", item.path)]


@cache
def _asset_version(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """`/static/<name>?v=<content hash>`: a new release's files are never taken from a stale cache."""
    return f"/static/{name}?v={_asset_version(name)}"


def principal_of(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    block: str | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The whole page, or only its `block` (the part an htmx request swaps in)."""
    response: Response = TEMPLATES.TemplateResponse(
        request,
        template,
        _values(request, context),
        status_code=status,
        headers=dict(headers or {}),
        block_name=block,
    )
    return response


def fragment(request: Request, template: str, block: str, context: Mapping[str, Any] | None = None) -> str:
    """One block as HTML text, with the same context as a page: what a server-sent event carries."""
    values = {"request": request, **_values(request, context)}
    return render_block(TEMPLATES.env, template, block, values)


def _values(request: Request, context: Mapping[str, Any] | None) -> dict[str, Any]:
    principal = principal_of(request)
    return {
        "principal": principal,
        "navigation": navigation(principal),
        "csrf_header": CSRF_HEADER,
        "csrf_token": request.cookies.get(CSRF_COOKIE, ""),
        "static_url": static_url,
        "allows": lambda method, path: allows(principal, method, path),
        "current_path": request.url.path,
        **(context or {}),
    }
