"""The recommendation routes through a real server: related documents, a user's recommendations (for a
publishable key, always its end user), the model's version, refreshes queued by the server as events arrive,
and the errors of bad requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.intelligence.recommend.refresh import stale
from lore.models import DEFAULT_TENANT
from lore.security.scopes import PUBLISHABLE_SCOPES, ROLE_SCOPES
from tests.api.conftest import LiveServer, assert_error, small_server
from tests.intelligence.recommend_world import LEGAL, add_articles, event, readers_of_both
from tests.keys import bearer, mint_key
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    with small_server(
        tmp_path_factory.mktemp("recommend-api"), model_cache, recommend_refresh_seconds=0.2
    ) as live:
        yield live


@pytest.fixture(scope="module")
def ids(server: LiveServer) -> dict[str, str]:
    lore = server.lore
    found = add_articles(lore)
    lore.store.groups.create(DEFAULT_TENANT, "legal")
    found["Settlement terms"] = lore.add_text(
        title="Settlement terms", text="Confidential refunds.", source="s.md", access=LEGAL
    ).id
    readers_of_both(lore, found, "Refund policy", "Holiday opening hours", range(6))
    lore.store.events.append([event("view", f"fan{u}", found["Settlement terms"]) for u in range(20)])
    wait_for(lambda: not stale(lore.store, DEFAULT_TENANT), "the server to fit the fixture's recommender")
    return found


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> dict[str, str]:
    return bearer(mint_key(server.lore.store, scopes=ROLE_SCOPES["admin"]))


@pytest.fixture(scope="module")
def viewer(server: LiveServer) -> dict[str, str]:
    return bearer(mint_key(server.lore.store, scopes=ROLE_SCOPES["viewer"]))


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def fitted(http: httpx.Client, admin: dict[str, str], after: int = 0) -> dict[str, Any]:
    """The active model, once the server has fitted a version newer than `after`."""

    def newer() -> dict[str, Any] | None:
        active = ok(http.get("/v1/recommendations/model", headers=admin))["active"]
        return active if active and active["version"] > after else None

    return wait_for(newer, "the server to fit a recommender")


def test_the_server_fits_a_model_and_refits_it_as_events_arrive(
    server: LiveServer, http: httpx.Client, admin: dict[str, str], ids: dict[str, str]
) -> None:
    first = fitted(http, admin)
    assert first["kind"] == "recommender" and first["status"] == "active"
    assert first["metrics"]["documents"] == len(ids)
    server.lore.store.events.append([event("view", "late", ids["Track your parcel"])])
    second = fitted(http, admin, after=first["version"])
    assert second["params"]["watermark"] > first["params"]["watermark"]
    found = ok(http.get("/v1/recommendations", params={"user": "someone"}, headers=admin))
    assert found["model_version"] >= second["version"]


def test_related_documents_carry_reasons_and_the_model_version(
    http: httpx.Client, admin: dict[str, str], viewer: dict[str, str], ids: dict[str, str]
) -> None:
    fitted(http, admin)
    found = ok(http.get(f"/v1/documents/{ids['Refund policy']}/related", params={"k": 3}, headers=viewer))
    assert found["model_version"] >= 1 and len(found["items"]) == 3
    top = found["items"][0]
    assert (top["title"], top["reason"]) == (
        "Holiday opening hours",
        "people who read Refund policy also read this",
    )
    assert all(item["title"] != "Settlement terms" for item in found["items"])
    assert_error(
        http.get(f"/v1/documents/{ids['Settlement terms']}/related", headers=viewer), 404, "not_found"
    )
    assert_error(http.get("/v1/documents/nope/related", headers=viewer), 404, "not_found")
    assert_error(
        http.get(f"/v1/documents/{ids['Refund policy']}/related", params={"k": 0}, headers=viewer),
        422,
        "invalid_request",
    )


def test_a_publishable_key_recommends_to_its_end_user_only(
    server: LiveServer, http: httpx.Client, admin: dict[str, str], ids: dict[str, str]
) -> None:
    fitted(http, admin)
    key = mint_key(
        server.lore.store, scopes=PUBLISHABLE_SCOPES, kind="publishable", collections=frozenset({"default"})
    )
    visitor = {**bearer(key), "X-Lore-End-User": "visitor-1"}
    server.lore.store.events.append([event("view", "visitor-1", ids["Refund policy"])])
    mine = ok(http.get("/v1/recommendations", params={"k": 3}, headers=visitor))
    titles = [item["title"] for item in mine["items"]]
    assert titles[0] == "Holiday opening hours" and "Refund policy" not in titles
    assert "Settlement terms" not in titles  # the most popular, and restricted
    assert all(item["reason"] for item in mine["items"])
    same = ok(http.get("/v1/recommendations", params={"user": "visitor-1"}, headers=visitor))
    assert same["items"][0]["title"] == "Holiday opening hours"
    assert_error(
        http.get("/v1/recommendations", params={"user": "visitor-2"}, headers=visitor), 403, "forbidden"
    )
    assert_error(http.get("/v1/recommendations", headers=bearer(key)), 422, "invalid_input")


def test_recommendations_for_a_question_and_bad_requests(
    http: httpx.Client, admin: dict[str, str], viewer: dict[str, str]
) -> None:
    fitted(http, admin)
    asked = ok(
        http.get(
            "/v1/recommendations",
            params={"user": "newcomer", "context": "how do I stop my plan?", "k": 2},
            headers=viewer,
        )
    )
    assert asked["items"][0]["title"] == "Cancel your subscription"
    assert asked["items"][0]["reason"] == "matches your question"
    admin_view = ok(http.get("/v1/recommendations", params={"user": "newcomer", "k": 1}, headers=admin))
    assert admin_view["items"][0]["title"] == "Settlement terms"  # admins read restricted documents
    other = ok(
        http.get("/v1/recommendations", params={"user": "newcomer", "collection": "other"}, headers=admin)
    )
    assert other["items"] == []
    assert_error(http.get("/v1/recommendations", headers=viewer), 422, "invalid_input")
    as_end_user = ok(http.get("/v1/recommendations", headers={**viewer, "X-Lore-End-User": "newcomer"}))
    assert as_end_user["items"] and as_end_user["model_version"] >= 1  # the user its events name
    assert_error(
        http.get("/v1/recommendations", params={"user": "u", "k": 51}, headers=viewer), 422, "invalid_request"
    )
    assert_error(
        http.get("/v1/recommendations", params={"user": "u", "collection": "no/such"}, headers=viewer),
        422,
        "invalid_input",
    )
    assert_error(http.get("/v1/recommendations/model", headers=viewer), 403, "forbidden")
