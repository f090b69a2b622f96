"""The usage page, in a real browser: an admin sees the tenant's counters move after real searches through the
API, next to the quotas and rate limits the operator set; a bad period says the API's code; only admins see
the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from lore.security.keys import KeySpec
from lore.security.policy import TenantSettings
from lore.security.scopes import ROLE_SCOPES, RoleName
from tests.api.conftest import assert_error
from tests.keys import bearer, mint_key
from tests.ui.admin import ADMIN_PAGES, assert_closed_to, new_user
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site

POLICY = {
    "quotas": {"requests_per_day": 100_000, "tokens_per_day": 50_000, "documents": 500},
    "rate_limits": {"tenant": "6000/minute", "user": "600/minute"},
}


@pytest.fixture(scope="module", autouse=True)
def limited(site: Site) -> Iterator[None]:
    """The operator's limits on the tenant, stored before any request of this module reads (and caches) its
    policy."""
    stored = TenantSettings.model_validate(POLICY).stored_form({})
    site.live.lore.store.tenants.set_settings("default", stored)
    yield


def _number(page: Page, selector: str) -> int:
    return int(page.locator(selector).inner_text().replace(",", "").strip())


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_an_admin_sees_the_counters_move_after_searches(site: Site, page: Page, seen: Watch) -> None:
    _, token = site.live.app.state.keys.create(
        "default", KeySpec(name="usage probe", scopes=ROLE_SCOPES["viewer"]), created_by="operator"
    )
    sign_in(page, site.url, site.email, site.password, next_path="/usage")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage")).to_be_visible()
    searches = _number(page, "#usage-totals tr[data-counter=searches] td")
    requests = _number(page, "[data-quota=requests_per_day] [data-used]")
    meter = page.get_by_label("Requests today")
    expect(meter).to_have_attribute("max", "100000")
    expect(page.locator("[data-quota=requests_per_day]")).to_contain_text("of 100,000")
    expect(page.locator("[data-quota=stored_bytes]")).to_contain_text("no quota")
    expect(page.locator("#rate-limits")).to_contain_text("6000/minute")
    expect(page.locator("#period")).to_contain_text(_today())
    check_page(page, "usage")

    for query in ("reset password", "invoice", "scanned pdf"):
        response = httpx.post(f"{site.url}/v1/search", json={"query": query}, headers=bearer(token))
        assert response.status_code == 200

    page.reload()
    assert _number(page, "#usage-totals tr[data-counter=searches] td") == searches + 3
    assert _number(page, "[data-quota=requests_per_day] [data-used]") >= requests + 3
    probe = page.locator("#usage-days tr", has_text="usage probe")
    expect(probe.locator("[data-counter=searches]")).to_have_text("3")
    expect(probe.locator("[data-counter=requests]")).to_have_text("3")
    expect(probe).to_contain_text(_today())


def test_a_period_and_a_key_narrow_the_report(site: Site, page: Page, seen: Watch) -> None:
    _, token = site.live.app.state.keys.create(
        "default", KeySpec(name="narrowed", scopes=ROLE_SCOPES["viewer"]), created_by="operator"
    )
    httpx.post(f"{site.url}/v1/search", json={"query": "password"}, headers=bearer(token))
    sign_in(page, site.url, site.email, site.password, next_path="/usage")
    page.get_by_label("From").fill(_today())
    page.get_by_label("To (included)").fill(_today())
    page.get_by_label("API key").select_option(label="narrowed")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#period")).to_contain_text("1 day")
    expect(page.locator("#period")).to_contain_text("“narrowed” only")
    expect(page.locator("#usage-totals tr[data-counter=searches] td")).to_have_text("1")
    expect(page.locator("#usage-days tbody tr")).to_have_count(1)
    assert f"since={_today()}" in page.url  # the address keeps the period
    check_page(page, "usage-period")
    page.set_viewport_size({"width": 375, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    check_page(page, "usage-phone")


def test_a_period_ending_before_it_starts_says_the_apis_code(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 422")
    admin = bearer(mint_key(site.live.lore.store, scopes=ROLE_SCOPES["admin"]))
    today = datetime.now(UTC).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    sign_in(page, site.url, site.email, site.password, next_path="/usage")
    page.get_by_label("From").fill(today.isoformat())
    page.get_by_label("To (included)").fill(yesterday)
    page.get_by_role("button", name="Show").click()
    api = httpx.get(
        f"{site.url}/v1/usage", params={"since": today.isoformat(), "until": yesterday}, headers=admin
    )
    assert_error(api, 422, "invalid_input")
    alert = page.locator("#flash [role=alert]")
    expect(alert).to_have_attribute("data-code", "invalid_input")
    expect(alert).to_contain_text("since must not be after until")
    check_page(page, "usage-refused")

    response = page.goto(f"{site.url}/usage?since=last-week")
    assert response is not None and response.status == 422
    assert_error(httpx.get(f"{site.url}/v1/usage?since=last-week", headers=admin), 422, "invalid_request")
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "invalid_request")


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_a_viewer_or_an_editor_neither_sees_nor_opens_it(
    site: Site, page: Page, seen: Watch, role: RoleName
) -> None:
    seen.allow("status of 403")
    person = new_user(site, f"{role}-usage@example.org", role)
    assert_closed_to(page, site, person, ADMIN_PAGES["Usage"], f"usage-forbidden-{role}")
