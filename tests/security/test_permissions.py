"""The route table guards every route: each route in the OpenAPI has a row, no row is stale, docs/security.md
shows the table, and every route called as each role (a key with its scopes, and a user's access token), key
kind and anonymous caller is allowed or denied as the table says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.api.app import routes_of
from lore.api.permissions import PUBLIC, ROUTE_SCOPES, USER, matrix, route_key
from lore.security.identity import Identity
from lore.security.scopes import PUBLISHABLE_SCOPES, ROLE_SCOPES, Scope
from tests.api.conftest import LiveServer, small_server
from tests.keys import bearer, mint_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    with small_server(tmp_path_factory.mktemp("permissions"), model_cache) as live:
        yield live


def operations(app_openapi: dict[str, Any]) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, ops in app_openapi["paths"].items() for method in ops]


def test_every_route_has_exactly_one_row_and_no_row_is_stale(server: LiveServer) -> None:
    """The API's routes and the web UI's pages (which the OpenAPI leaves out) alike."""
    routes = {route_key(method, path) for method, path in routes_of(server.app)}
    assert {route_key(m, p) for m, p in operations(server.app.openapi())} <= routes
    assert routes - ROUTE_SCOPES.keys() == set()
    assert ROUTE_SCOPES.keys() - routes == set()


def test_docs_show_the_permission_matrix() -> None:
    assert matrix() in (ROOT / "docs" / "security.md").read_text()


def user_token(server: LiveServer, role: str) -> str:
    """An access token of a new user with `role`, as a login gives it."""
    identity: Identity = server.app.state.identity
    user = identity.users.create("default", f"{role}@permissions.example", role, None)
    return identity.logins.issue_tokens(user).access_token


def callers(server: LiveServer) -> dict[str, tuple[dict[str, str], frozenset[Scope]]]:
    store = server.lore.store
    found = {role: (bearer(mint_key(store, scopes=scopes)), scopes) for role, scopes in ROLE_SCOPES.items()}
    found |= {
        f"user:{role}": (bearer(user_token(server, role)), scopes) for role, scopes in ROLE_SCOPES.items()
    }
    publishable = mint_key(
        store, scopes=PUBLISHABLE_SCOPES, kind="publishable", collections=frozenset({"help"})
    )
    found["publishable"] = (bearer(publishable), PUBLISHABLE_SCOPES)
    for scope in (Scope.INSTALLATION, Scope.METRICS):
        found[scope.value] = (bearer(mint_key(store, scopes=frozenset({scope}))), frozenset({scope}))
    found["anonymous"] = ({}, frozenset())
    return found


def test_every_route_allows_and_denies_each_caller_as_the_table_says(server: LiveServer) -> None:
    attempts = 0
    wrong: list[str] = []
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for name, (headers, scopes) in callers(server).items():
            for method, path in operations(server.app.openapi()):
                requirement = ROUTE_SCOPES[route_key(method, path)]
                response = http.request(
                    method, path.replace("{", "").replace("}", ""), headers=headers, json={}
                )
                attempts += 1
                is_user = name.startswith("user:")
                allowed = requirement == PUBLIC or requirement in scopes or (requirement == USER and is_user)
                refused = response.status_code == 401 or (
                    response.status_code == 403 and "required" in response.json()["error"]["details"]
                )
                if allowed == refused:
                    wrong.append(f"{name}: {method} {path} -> {response.status_code}")
    assert wrong == []
    assert attempts >= 12 * len(operations(server.app.openapi()))
