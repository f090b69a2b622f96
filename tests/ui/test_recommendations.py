"""The recommendations page and a document's related articles in a real browser, over reading recorded through
the API: an admin sees an end user's recommendations with their reasons, the articles related to one and the
recommender's versions; a viewer sees only their own."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from lore.intelligence.recommend.refresh import refresh
from lore.models import DEFAULT_TENANT
from lore.security.scopes import ROLE_SCOPES
from tests.keys import bearer, mint_key
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site
from tests.ui.roles import PASSWORD, add_user

READ_TOGETHER = ("API keys and authentication", "Data storage and backups")


@pytest.fixture(scope="module")
def titles(site: Site) -> dict[str, str]:
    """Six readers read two articles together, alice only the first; the recommender fitted on it. Title ->
    document id."""
    key = mint_key(site.live.lore.store, scopes=ROLE_SCOPES["admin"])
    with httpx.Client(base_url=site.url, timeout=120, headers=bearer(key)) as api:
        listed = api.get("/v1/documents", params={"collection": "demo", "limit": 100})
        assert listed.status_code == 200, listed.text
        ids = {d["title"]: d["id"] for d in listed.json()["items"]}
        first, second = (ids[title] for title in READ_TOGETHER)
        views = [(f"reader{u}", doc) for u in range(6) for doc in (first, second)] + [("alice", first)]
        events = [
            {"event_id": uuid.uuid4().hex, "kind": "view", "user_id": user, "document_id": doc}
            for user, doc in views
        ]
        accepted = api.post("/v1/events", json={"events": events})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["accepted"] == len(events)
    refresh(site.live.lore, DEFAULT_TENANT)
    return ids


def items(page: Page, list_id: str) -> Any:
    return page.locator(f"#{list_id} li")


def item(page: Page, list_id: str, title: str) -> Any:
    """The list's entries linking to the article `title` (a reason may name another)."""
    return items(page, list_id).filter(has=page.get_by_role("link", name=title, exact=True))


def test_an_admin_sees_an_end_users_recommendations_with_their_reasons(
    site: Site, page: Page, seen: Watch, titles: dict[str, str]
) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/recommendations")
    expect(page.locator("#model-active")).to_contain_text("Active: version")
    page.get_by_label("User (empty: you)").fill("alice")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#for-user-title")).to_have_text("For alice")
    together = item(page, "recommended", READ_TOGETHER[1])
    expect(together).to_have_count(1)
    expect(together.locator(".reason")).to_have_text(f"people who read {READ_TOGETHER[0]} also read this")
    expect(item(page, "recommended", READ_TOGETHER[0])).to_have_count(0)  # read already
    check_page(page, "recommendations")

    page.get_by_label("Articles related to").select_option(label=READ_TOGETHER[0])
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#related-title")).to_have_text(f"Related to {READ_TOGETHER[0]}")
    expect(items(page, "related").first.locator(".reason")).not_to_be_empty()
    expect(item(page, "related", READ_TOGETHER[0])).to_have_count(0)
    expect(page).to_have_url(
        f"{site.url}/recommendations?user=alice&context=&collection=&k=10&document={titles[READ_TOGETHER[0]]}"
    )
    check_page(page, "recommendations-related")


def test_a_document_lists_its_related_articles(
    site: Site, page: Page, seen: Watch, titles: dict[str, str]
) -> None:
    sign_in(page, site.url, site.email, site.password, next_path=f"/documents/{titles[READ_TOGETHER[0]]}")
    related = page.get_by_role("region", name="Related articles")
    expect(related.get_by_role("link", name=READ_TOGETHER[1])).to_be_visible()
    related.get_by_role("link", name=READ_TOGETHER[1]).click()
    expect(page.locator("h1")).to_have_text(READ_TOGETHER[1])
    check_page(page, "document-related")


def test_a_viewer_sees_only_their_own_recommendations(
    site: Site, page: Page, seen: Watch, titles: dict[str, str]
) -> None:
    seen.allow("status of 403")
    email = add_user(site, "viewer")
    sign_in(page, site.url, email, PASSWORD, next_path="/recommendations")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Recommendations")).to_be_visible()
    expect(page.locator("#for-user-title")).to_contain_text("For ")
    expect(page.get_by_label("User (empty: you)")).to_have_count(0)
    expect(page.locator("#model-title")).to_have_count(0)
    check_page(page, "recommendations-viewer")
    response = page.goto(f"{site.url}/recommendations?user=alice")
    assert response is not None and response.status == 403
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "forbidden")


def test_a_count_out_of_bounds_is_refused(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 422")
    sign_in(page, site.url, site.email, site.password)
    response = page.goto(f"{site.url}/recommendations?k=0")
    assert response is not None and response.status == 422
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "invalid_request")
