"""The knowledge-gaps page in a real browser, over questions asked through the API: searches that found nothing
and hits marked not helpful become topics with their reasons and examples, the search analytics list them, an
answer is promoted to a draft, and only admins see the page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from lore.security.scopes import ROLE_SCOPES
from tests.keys import bearer, mint_key
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site
from tests.ui.roles import PASSWORD, add_user

NOTHING_FOUND = [
    "zorblax teleporter warranty",
    "zorblax teleporter warranty claim",
    "warranty zorblax teleporter",
]
UNHELPED = ["rotate an api key", "rotate api keys"]


@pytest.fixture(scope="module")
def api(site: Site) -> Iterator[httpx.Client]:
    key = mint_key(site.live.lore.store, scopes=ROLE_SCOPES["admin"])
    with httpx.Client(base_url=site.url, timeout=120, headers=bearer(key)) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def asked(api: httpx.Client) -> None:
    """Searches that found nothing (twice each) and searches whose hits were marked not helpful."""
    for query in NOTHING_FOUND * 2:
        found = ok(api.post("/v1/search", json={"query": query, "mode": "keyword"}))
        assert found["hits"] == [], f"{query!r} was meant to find nothing"
    for query in UNHELPED:
        found = ok(api.post("/v1/search", json={"query": query, "mode": "keyword"}))
        assert found["hits"], f"{query!r} was meant to find something"
        feedback = {"event_id": uuid.uuid4().hex, "kind": "not_helpful", "search_id": found["search_id"]}
        assert ok(api.post("/v1/events", json={"events": [feedback]}))["accepted"] == 1


def test_an_admin_sees_the_topics_asked_badly_and_the_searches_that_found_nothing(
    site: Site, page: Page, seen: Watch, asked: None
) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/gaps")
    topics = page.locator(".topic")
    nothing = topics.filter(has_text="zorblax")
    expect(nothing).to_have_count(1)
    expect(nothing.locator(".topic-count")).to_have_text("6 questions")
    expect(nothing.locator('[data-reason="no_click"]')).to_have_text("no click 6")
    expect(nothing.locator(".examples li")).to_have_count(len(NOTHING_FOUND))
    unhelped = topics.filter(has_text="rotate")
    expect(unhelped.locator('[data-reason="not_helpful"]')).to_have_text("not helpful 2")
    expect(unhelped.locator(".articles a").first).to_be_visible()  # the key article is near: one to fix
    zero = page.locator("table", has=page.locator("caption", has_text="Queries that found nothing"))
    for query in NOTHING_FOUND:
        expect(zero.locator("tr", has_text=query).locator("td").nth(1)).to_have_text("2")
    expect(page.locator("#search-summary")).to_contain_text("8 searches, 0 followed by a click")
    check_page(page, "gaps")

    page.get_by_label("From").fill("2020-01-01")
    page.get_by_label("To (included)").fill("2020-01-31")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#window")).to_contain_text("2020-01-01 to 2020-02-01")
    expect(topics).to_have_count(0)
    expect(page.locator("#report")).to_contain_text("No topic in this window")
    expect(page).to_have_url(f"{site.url}/gaps?since=2020-01-01&until=2020-01-31&min_count=2&limit=20")


def test_a_window_that_ends_before_it_starts_is_refused_with_the_apis_code(
    site: Site, page: Page, seen: Watch
) -> None:
    seen.allow("status of 422")
    sign_in(page, site.url, site.email, site.password, next_path="/gaps")
    page.get_by_label("From").fill("2026-02-10")
    page.get_by_label("To (included)").fill("2026-02-01")
    page.get_by_role("button", name="Show").click()
    alert = page.locator("#flash [role=alert]")
    expect(alert).to_have_attribute("data-code", "invalid_input")
    check_page(page, "gaps-bad-window")


def test_an_answer_is_promoted_to_a_draft_article(
    site: Site, page: Page, seen: Watch, api: httpx.Client
) -> None:
    conversation = ok(api.post("/v1/conversations"), 201)
    reply = ok(
        api.post(
            f"/v1/conversations/{conversation['id']}/messages",
            json={"content": "How do I create an API key?"},
        ),
        201,
    )
    assert not reply["metadata"]["abstained"]
    sign_in(page, site.url, site.email, site.password, next_path="/gaps")
    page.get_by_label("Conversation").fill(conversation["id"])
    page.get_by_label("Answer (message number)").fill(str(reply["id"]))
    page.get_by_label("Title (default: the question)").fill("Creating API keys, as answered")
    page.get_by_role("button", name="Promote").click()
    done = page.locator("#flash .flash.ok")
    expect(done).to_contain_text("added to drafts, restricted")
    check_page(page, "gaps-promoted")
    done.get_by_role("link", name="Creating API keys, as answered").click()
    expect(page.locator("h1")).to_have_text("Creating API keys, as answered")
    expect(page.locator(".meta").first).to_contain_text("drafts")
    expect(page.locator(".meta").first).to_contain_text("restricted")


def test_promoting_an_answer_that_is_not_there_says_not_found(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 404")
    sign_in(page, site.url, site.email, site.password, next_path="/gaps")
    page.get_by_label("Conversation").fill("no-such-conversation")
    page.get_by_label("Answer (message number)").fill("1")
    page.get_by_role("button", name="Promote").click()
    expect(page.locator("#flash [role=alert]")).to_have_attribute("data-code", "not_found")


def test_a_viewer_is_refused_the_page_and_does_not_see_it_in_the_navigation(
    site: Site, page: Page, seen: Watch
) -> None:
    seen.allow("status of 403")
    email = add_user(site, "viewer")
    sign_in(page, site.url, email, PASSWORD)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Search")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Knowledge gaps")
    ).to_have_count(0)
    response = page.goto(f"{site.url}/gaps")
    assert response is not None and response.status == 403
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "forbidden")
    check_page(page, "gaps-viewer-forbidden")
