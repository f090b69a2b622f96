"""The UI's route class: a page's errors are pages too. The app-wide checks (the route table, rate limits) and
the handlers raise the same `LoreError`s as for the API; here they become a sign-in redirect (not signed in, or
the session ended), or an error page, or, for an htmx request, a message swapped into the page's `#flash`
region with the same status and code the API would answer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError

from lore.api.errors import retry_headers, status_for
from lore.api.permissions import PUBLIC, ROUTE_SCOPES, route_key
from lore.errors import InvalidInput, LoreError, Unauthenticated
from lore.ui.rendering import is_htmx, render

logger = logging.getLogger("lore.ui")
SIGN_IN = "/login"


def local_path(target: str | None, default: str = "/search") -> str:
    """`target` when it is a path on this server, else `default`: a sign-in never redirects off-site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page, coming back here after (for htmx, to the page the request came from)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if is_htmx(request):
        current = urlsplit(request.headers.get("hx-current-url", ""))
        here = local_path(current.path + (f"?{current.query}" if current.query else ""), here)
        return Response(status_code=204, headers={"HX-Redirect": f"{SIGN_IN}?next={quote(here)}"})
    return RedirectResponse(f"{SIGN_IN}?next={quote(here)}", status_code=303)


def error_response(request: Request, error: LoreError) -> Response:
    status = status_for(error)
    context = {"error": error, "status": status}
    headers = retry_headers(error)
    if is_htmx(request):
        headers |= {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        return render(request, "error.html", context, block="message", status=status, headers=headers)
    return render(request, "error.html", context, status=status, headers=headers)


class InvalidRequest(InvalidInput):
    """A form that does not fit the API's input model: the code the API answers for the same body."""

    code = "invalid_request"


def invalid_input(errors: list[Any]) -> InvalidInput:
    """A form's fields that failed validation, said the way the API's 422 says them."""
    fields = [
        {"field": ".".join(str(part) for part in e.get("loc", ()) if part not in ("body", "query", "form"))}
        | {"message": e.get("msg", "")}
        for e in errors
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" if f["field"] else f["message"] for f in fields)
    return InvalidRequest(summary or "the form is not valid", details={"fields": fields})


class UiRoute(APIRoute):
    @property
    def requirement(self) -> str | None:
        return next((ROUTE_SCOPES.get(route_key(m, self.path)) for m in self.methods or ()), None)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthenticated as error:
                if self.requirement == PUBLIC:  # a sign-in refused: said on its page
                    return error_response(request, error)
                return sign_in_redirect(request)
            except LoreError as error:
                return error_response(request, error)
            except (RequestValidationError, ValidationError) as error:
                return error_response(request, invalid_input(list(error.errors())))

        return page_handler


def page_router() -> APIRouter:
    """A router of UI pages: their errors rendered as pages, and out of the OpenAPI (they answer HTML)."""
    return APIRouter(route_class=UiRoute, include_in_schema=False)


def with_cookies(source: Response, target: Response) -> Response:
    """`target` carrying the cookies an API handler set on `source` (a session opened or closed)."""
    target.raw_headers.extend((name, value) for name, value in source.raw_headers if name == b"set-cookie")
    return target


def go_to(request: Request, path: str) -> Response:
    """Navigate to `path`: a redirect for a form post, `HX-Redirect` for an htmx one."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": path})
    return RedirectResponse(path, status_code=303)
