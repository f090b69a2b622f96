"""Signing in and searching, in a real browser."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from lore.security.scopes import ROLE_SCOPES
from tests.keys import bearer, mint_key
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site


def test_a_page_sends_a_signed_out_visitor_to_sign_in_and_back(site: Site, page: Page, seen: Watch) -> None:
    page.goto(f"{site.url}/search?q=password")
    expect(page).to_have_url(f"{site.url}/login?next=/search%3Fq%3Dpassword")
    check_page(page, "login")
    page.get_by_label("Email").fill(site.email)
    page.get_by_label("Password").fill(site.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site.url}/search?q=password")
    expect(page.locator(".hit").first).to_be_visible()


def test_a_wrong_password_is_said_on_the_page(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 401")
    page.goto(f"{site.url}/login")
    page.get_by_label("Email").fill(site.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.locator("#flash [role=alert]")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("data-code", "unauthenticated")
    expect(page).to_have_url(f"{site.url}/login")


def test_search_shows_highlighted_hits_with_their_sources(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password)
    page.get_by_label("Search the knowledge base").fill("reset password")
    page.get_by_label("Mode").select_option("keyword")
    page.get_by_role("button", name="Search").click()
    first = page.locator(".hit").first
    expect(first).to_be_visible()
    expect(first.locator("mark").first).to_be_visible()
    expect(first.locator(".source")).to_contain_text("demo")
    expect(page).to_have_url(f"{site.url}/search?q=reset%20password&mode=keyword&collection=")
    check_page(page, "search")


def test_the_theme_switches_and_is_kept(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password)
    page.emulate_media(color_scheme="light")
    page.get_by_role("button", name="Switch between light and dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.set_viewport_size({"width": 375, "height": 740})
    check_page(page, "search-phone-dark")


def test_a_hit_opens_its_document_at_the_passage(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/search?q=scanned+pdf")
    first = page.locator(".hit").first
    title = first.locator(".hit-title").inner_text()
    first.locator(".hit-title a").click()
    expect(page.locator("h1")).to_have_text(title)
    passage = page.locator(".passage")
    expect(passage).to_be_visible()
    expect(passage).to_be_focused()
    check_page(page, "document")


def test_a_document_another_tenant_owns_is_not_found(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 404")
    sign_in(page, site.url, site.email, site.password)
    response = page.goto(f"{site.url}/documents/no-such-document")
    assert response is not None and response.status == 404
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "not_found")


def test_a_search_on_the_page_counts_as_a_search_of_the_api(site: Site, page: Page, seen: Watch) -> None:
    """The page runs the API's search, so the tenant's usage and quotas see it; a page without a query does not
    count."""
    sign_in(page, site.url, site.email, site.password)
    before = searches_used(site)
    page.goto(f"{site.url}/search")
    page.goto(f"{site.url}/search?q=refund&mode=keyword")
    expect(page.locator(".hit").first).to_be_visible()
    assert searches_used(site) == before + 1


def searches_used(site: Site) -> int:
    """Today's searches of the default tenant, as GET /v1/usage reports them."""
    key = mint_key(site.live.lore.store, scopes=ROLE_SCOPES["admin"])
    usage = httpx.get(f"{site.url}/v1/usage", headers=bearer(key), timeout=30).json()
    return int(usage["totals"].get("searches", 0))
