"""Authentication and the route table's check, as one app-wide dependency.

Every request to a non-public route must carry `Authorization: Bearer <token>`, or else a cookie one of the app's
cookie checks accepts (a web session). A token that starts with `lore_` is an API key (`KeyRing`); any other is
offered to the app's credential checks in turn (user access tokens).
The `Principal` found is checked against the route's row in `ROUTE_SCOPES` and kept for the handler, which
asks for it as `PrincipalDep`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.routing import APIRoute

from lore.api.permissions import AUTHENTICATED, PUBLIC, ROUTE_SCOPES, USER, route_key
from lore.errors import Forbidden, InvalidInput, Unauthenticated
from lore.security.keys import KeyRing, looks_like_key
from lore.security.principal import Principal
from lore.security.scopes import Scope

CredentialCheck = Callable[[str, Request], Principal | None]
CookieCheck = Callable[[Request], Principal | None]  # a cookie's principal; None when the cookie is absent
END_USER_HEADER = "X-Lore-End-User"
MAX_END_USER = 128


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <API key or access token>'")
    return token.strip()


def end_user_of(request: Request) -> str | None:
    """The opaque end-user id a page embedding a key supplies: tenant-scoped, never interpreted."""
    value = request.headers.get(END_USER_HEADER)
    if value is None:
        return None
    if not 0 < len(value) <= MAX_END_USER or not value.isprintable():
        raise InvalidInput(
            f"{END_USER_HEADER} must be 1 to {MAX_END_USER} printable characters",
            details={"header": END_USER_HEADER},
        )
    return value


def authenticate(request: Request) -> Principal:
    """The principal the request's credentials prove, or Unauthenticated."""
    token = bearer_token(request)
    if token is None:
        cookie_checks: list[CookieCheck] = request.app.state.cookie_checks
        for cookie_check in cookie_checks:
            if (principal := cookie_check(request)) is not None:
                return principal
        raise Unauthenticated(
            "authentication required: send 'Authorization: Bearer <API key or access token>'"
        )
    if looks_like_key(token):
        keys: KeyRing = request.app.state.keys
        return keys.authenticate(token, origin=request.headers.get("origin"), end_user=end_user_of(request))
    checks: list[CredentialCheck] = request.app.state.credential_checks
    for check in checks:
        if (principal := check(token, request)) is not None:
            return principal
    raise Unauthenticated("the access token is not valid")


def cached_key_principal(request: Request) -> Principal | None:
    """An API key's principal from the process's key cache, on the event loop; None when the store must be read."""
    token = bearer_token(request)
    if token is None or not looks_like_key(token):
        return None
    keys: KeyRing = request.app.state.keys
    return keys.authenticate_cached(
        token, origin=request.headers.get("origin"), end_user=end_user_of(request)
    )


async def authorize(request: Request) -> Principal | None:
    """Run for every route. Only a credentials' check that reads the store goes to a worker thread: a public
    route (health checks, the docs) and an API key found in the key cache never leave the event loop (a hop to
    a thread costs about 80 us of CPU)."""
    route = request.scope.get("route")
    assert isinstance(route, APIRoute)
    requirement = ROUTE_SCOPES.get(route_key(request.method, route.path_format))
    if requirement is None:  # create_app checks the table: only a route added around it gets here
        raise Forbidden("this route has no permission declared", details={"path": route.path})
    if requirement == PUBLIC:
        return None
    principal = cached_key_principal(request)
    if principal is None:
        principal = await anyio.to_thread.run_sync(authenticate, request)
    permit(principal, requirement)
    request.state.principal = principal
    return principal


def permit(principal: Principal, requirement: str) -> None:
    """Forbidden unless the principal meets the route's requirement."""
    if requirement == USER:
        if principal.kind != "user":
            raise Forbidden(
                "this route is a signed-in user's own", details={"required": USER, "kind": principal.kind}
            )
    elif requirement == AUTHENTICATED:
        if principal.kind == "publishable":
            raise Forbidden(
                "a publishable key may not use this route",
                details={"required": AUTHENTICATED, "kind": principal.kind},
            )
    elif not principal.allows(Scope(requirement)):
        raise Forbidden(
            f"this route needs the {requirement!s} scope",
            details={"required": str(requirement), "scopes": sorted(principal.scopes)},
        )


async def current_principal(principal: Annotated[Principal | None, Depends(authorize)]) -> Principal:
    assert principal is not None, "a public route asked for a principal"
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
