"""API keys through a real server: every route needs one, a key's scopes bound what it does, and revocation,
expiry, rotation and a disabled tenant take effect on the next request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lore.backends.store.database import Database
from lore.backends.store.schema import api_keys
from lore.cli.main import app as cli
from lore.models import utcnow
from lore.security.scopes import PUBLISHABLE_SCOPES, ROLE_SCOPES, Scope
from tests.api.conftest import LiveServer, assert_error, small_server
from tests.keys import bearer, mint_key


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    with small_server(tmp_path_factory.mktemp("keys"), model_cache) as live:
        yield live


@pytest.fixture(scope="module")
def store(server: LiveServer) -> Database:
    return server.lore.store


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def test_a_request_without_credentials_is_401_with_a_bearer_challenge(http: httpx.Client) -> None:
    response = http.get("/v1/documents")
    assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_error(http.get("/v1/documents", headers={"Authorization": "Basic eDp5"}), 401, "unauthenticated")
    for token in ("lore_sk_nothing", "lore_sk_aaaaaaaaaaaa_wrong", "not-a-key"):
        assert_error(http.get("/v1/documents", headers=bearer(token)), 401, "unauthenticated")


def test_health_and_docs_need_no_credentials(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    assert http.get("/readyz").status_code == 200
    assert http.get("/docs").status_code == 200
    assert http.get("/openapi.json").status_code == 200


def test_a_key_does_what_its_scopes_allow_and_nothing_more(http: httpx.Client, store: Database) -> None:
    viewer = bearer(mint_key(store, scopes=ROLE_SCOPES["viewer"]))
    assert http.get("/v1/documents", headers=viewer).status_code == 200
    assert http.post("/v1/search", json={"query": "anything"}, headers=viewer).status_code == 200
    denied = http.post("/v1/documents", json={"title": "t", "text": "x"}, headers=viewer)
    error = assert_error(denied, 403, "forbidden")
    assert error["details"]["required"] == "documents:write"
    assert_error(http.get("/v1/keys", headers=viewer), 403, "forbidden")
    admin = bearer(mint_key(store, scopes=ROLE_SCOPES["admin"]))
    assert http.get("/v1/keys", headers=admin).status_code == 200
    assert_error(
        http.get("/v1/tenants", headers=admin), 403, "forbidden"
    )  # the installation's, not a tenant's
    assert_error(http.post("/v1/admin/backups", headers=admin), 403, "forbidden")  # holds every tenant's data


def test_a_created_key_is_shown_once_and_never_listed_with_its_secret(
    http: httpx.Client, store: Database
) -> None:
    admin = bearer(mint_key(store, scopes=ROLE_SCOPES["admin"]))
    created = http.post("/v1/keys", json={"name": "reader", "scopes": ["search"]}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith(f"lore_sk_{body['id']}_")
    assert body["created_by"].startswith("key:")
    listed = http.get("/v1/keys", headers=admin)
    assert body["key"] not in listed.text and "secret_hash" not in listed.text
    shown = http.get(f"/v1/keys/{body['id']}", headers=admin).json()
    assert shown["state"] == "active" and "key" not in shown
    assert http.post("/v1/search", json={"query": "q"}, headers=bearer(body["key"])).status_code == 200


def test_a_revoked_key_stops_at_once(http: httpx.Client, store: Database) -> None:
    admin = bearer(mint_key(store, scopes=ROLE_SCOPES["admin"]))
    created = http.post("/v1/keys", json={"name": "short", "scopes": ["search"]}, headers=admin).json()
    victim = bearer(created["key"])
    assert http.post("/v1/search", json={"query": "q"}, headers=victim).status_code == 200
    revoked = http.delete(f"/v1/keys/{created['id']}", headers=admin)
    assert revoked.json()["state"] == "revoked"
    error = assert_error(http.post("/v1/search", json={"query": "q"}, headers=victim), 401, "unauthenticated")
    assert error["details"]["state"] == "revoked"


def test_an_expired_key_is_refused_and_a_past_expiry_is_invalid(http: httpx.Client, store: Database) -> None:
    admin = bearer(mint_key(store, scopes=ROLE_SCOPES["admin"]))
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    assert_error(
        http.post("/v1/keys", json={"name": "old", "scopes": ["search"], "expires_at": past}, headers=admin),
        422,
        "invalid_input",
    )
    soon = mint_key(store, scopes=frozenset({Scope.SEARCH}), expires_at=utcnow() + timedelta(seconds=1))
    key_id = soon.split("_")[2]
    with store.engine.begin() as conn:  # the clock moves on: expire it now
        conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(expires_at=utcnow()))
    error = assert_error(
        http.post("/v1/search", json={"query": "q"}, headers=bearer(soon)), 401, "unauthenticated"
    )
    assert error["details"]["state"] == "expired"


def test_a_rotated_key_keeps_working_through_its_overlap_and_says_so(
    http: httpx.Client, store: Database
) -> None:
    admin = bearer(mint_key(store, scopes=ROLE_SCOPES["admin"]))
    old = http.post("/v1/keys", json={"name": "rotating", "scopes": ["search", "ask"]}, headers=admin).json()
    rotated = http.post(f"/v1/keys/{old['id']}/rotate", json={"overlap_hours": 1}, headers=admin)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["id"] != old["id"] and new["scopes"] == ["ask", "search"]
    for key in (old["key"], new["key"]):
        assert http.post("/v1/search", json={"query": "q"}, headers=bearer(key)).status_code == 200
    shown = http.get(f"/v1/keys/{old['id']}", headers=admin).json()
    assert shown["state"] == "rotating" and shown["replaced_by"] == new["id"]
    again = http.post(f"/v1/keys/{old['id']}/rotate", json={}, headers=admin)
    assert_error(again, 422, "invalid_input")  # a key is rotated once
    closed = http.post(f"/v1/keys/{new['id']}/rotate", json={"overlap_hours": 0}, headers=admin).json()
    assert_error(
        http.post("/v1/search", json={"query": "q"}, headers=bearer(new["key"])), 401, "unauthenticated"
    )
    assert http.post("/v1/search", json={"query": "q"}, headers=bearer(closed["key"])).status_code == 200


def test_publishable_keys_only_search_and_ask_in_named_collections_from_their_origins(
    http: httpx.Client, store: Database
) -> None:
    admin = bearer(mint_key(store, scopes=ROLE_SCOPES["admin"]))
    too_much = {
        "name": "widget",
        "kind": "publishable",
        "scopes": ["documents:read"],
        "collections": ["help"],
    }
    assert_error(http.post("/v1/keys", json=too_much, headers=admin), 422, "invalid_input")
    anywhere = {"name": "widget", "kind": "publishable", "scopes": ["search"]}
    assert_error(http.post("/v1/keys", json=anywhere, headers=admin), 422, "invalid_input")
    body = {
        "name": "widget",
        "kind": "publishable",
        "scopes": sorted(PUBLISHABLE_SCOPES),
        "collections": ["help"],
        "allowed_origins": ["https://help.example.com"],
    }
    created = http.post("/v1/keys", json=body, headers=admin).json()
    assert created["key"].startswith("lore_pk_")
    good = bearer(created["key"]) | {"Origin": "https://help.example.com"}
    assert http.post("/v1/search", json={"query": "q"}, headers=good).status_code == 200
    assert_error(http.get("/v1/documents", headers=good), 403, "forbidden")
    evil = bearer(created["key"]) | {"Origin": "https://evil.example"}
    assert_error(http.post("/v1/search", json={"query": "q"}, headers=evil), 403, "forbidden")
    assert_error(
        http.post("/v1/search", json={"query": "q"}, headers=bearer(created["key"])), 403, "forbidden"
    )


def test_a_disabled_tenant_is_locked_out_at_once_and_sees_nothing_of_another(
    http: httpx.Client, store: Database
) -> None:
    operator = bearer(mint_key(store))
    assert http.post("/v1/tenants", json={"id": "acme"}, headers=operator).status_code == 201
    assert_error(http.post("/v1/tenants", json={"id": "acme"}, headers=operator), 409, "conflict")
    secret = {"title": "Default only", "text": "The default tenant's vault code is 4417."}
    assert http.post("/v1/documents", json=secret, headers=operator).status_code == 201
    acme = bearer(mint_key(store, tenant="acme", scopes=ROLE_SCOPES["owner"]))
    assert http.get("/v1/documents", headers=acme).json()["items"] == []
    hits = http.post("/v1/search", json={"query": "vault code 4417", "mode": "keyword"}, headers=acme).json()
    assert hits["hits"] == []
    disabled = http.patch("/v1/tenants/acme", json={"disabled": True}, headers=operator)
    assert disabled.json()["disabled_at"] is not None
    assert_error(http.get("/v1/documents", headers=acme), 401, "unauthenticated")
    http.patch("/v1/tenants/acme", json={"disabled": False}, headers=operator)
    assert http.get("/v1/documents", headers=acme).status_code == 200


def test_lore_keys_create_prints_a_key_that_works(server: LiveServer, http: httpx.Client) -> None:
    data_dir = str(server.lore.settings.storage.data_dir)
    result = CliRunner().invoke(
        cli, ["keys", "create", "--scope", "search", "--json", "--data-dir", data_dir]
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert http.post("/v1/search", json={"query": "q"}, headers=bearer(created["key"])).status_code == 200
    listed = CliRunner().invoke(cli, ["keys", "list", "--json", "--data-dir", data_dir])
    assert created["id"] in listed.output and created["key"] not in listed.output
    revoked = CliRunner().invoke(cli, ["keys", "revoke", created["id"], "--data-dir", data_dir])
    assert revoked.exit_code == 0
    assert http.post("/v1/search", json={"query": "q"}, headers=bearer(created["key"])).status_code == 401
    unknown = CliRunner().invoke(cli, ["keys", "create", "--scope", "everything", "--data-dir", data_dir])
    assert unknown.exit_code != 0
