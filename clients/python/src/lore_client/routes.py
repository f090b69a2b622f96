"""`ROUTES`: every SDK method as a `Route` (HTTP method, path template, SDK name), in declaration order. Two
methods may share one route (`documents.add` sends JSON to `POST /v1/documents`, `documents.upload` a file)."""

from __future__ import annotations

from lore_client._client import _Api
from lore_client._routes import Route, declared_routes

ROUTES: tuple[Route, ...] = (
    *declared_routes(_Api),
    *(route for namespace in _Api.NAMESPACES for route in declared_routes(namespace)),
)

__all__ = ["ROUTES", "Route"]
