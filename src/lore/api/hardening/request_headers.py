"""A request's headers as a plain dict: the guards run on every request, and Starlette's `Headers` scans the
whole list on every lookup. Names arrive lower-cased from the server; the first of repeated headers counts, as
it does for `Request.headers`."""

from __future__ import annotations

from starlette.types import Scope


def request_headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in reversed(scope["headers"])}
