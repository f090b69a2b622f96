"""The webhooks page, in a real browser, against a real receiver on loopback: an endpoint subscribed there gets
signed deliveries with the secret shown there once, its log shows each delivery and Replay sends it again;
rotation, disabling and deleting are what the API then sees; refused input and a missing CSRF token say the
API's code; the page works at phone width; only admins see it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from lore.security.bootstrap import PASSWORD_FILE
from lore.security.sessions import CSRF_COOKIE, CSRF_HEADER
from tests.api.conftest import assert_error, small_server
from tests.keys import bearer, mint_key
from tests.ui.admin import ADMIN_PAGES, assert_closed_to, new_user
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site
from tests.waiting import wait_for
from tests.webhooks.calls import deliveries, index, settled, subscribe
from tests.webhooks.receiver import Answer, Receiver

# Endpoints on loopback (the receiver's) pass the SSRF guard only with this on; retries shrunk to test size.
LOOPBACK_WEBHOOKS: dict[str, Any] = {
    "webhook_allow_loopback": True,
    "webhook_timeout_seconds": 2.0,
    "webhook_retry_base_seconds": 0.2,
    "webhook_attempts": 3,
    "webhook_disable_after_failures": 2,
    "webhook_disable_after_seconds": 0,
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("ui-webhooks")
    with small_server(data_dir, model_cache, **LOOPBACK_WEBHOOKS) as live:
        password = (data_dir / PASSWORD_FILE).read_text().strip()
        yield Site(live, live.lore.settings.auth.admin_email, password)


@pytest.fixture(scope="module")
def api(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=site.url, timeout=60, headers=bearer(mint_key(site.live.lore.store))
    ) as client:
        yield client


@pytest.fixture
def receiver(api: httpx.Client) -> Iterator[Receiver]:
    """A receiver for the test; the endpoints the test made are deleted after it, so none gets the next
    test's events."""
    with Receiver() as instance:
        yield instance
    for webhook in api.get("/v1/webhooks", params={"limit": 200}).json()["items"]:
        api.delete(f"/v1/webhooks/{webhook['id']}").raise_for_status()


def _row(page: Page, url: str) -> Locator:
    return page.locator("#webhook-list tr", has_text=url)


def _subscribe_here(page: Page, url: str, *events: str) -> str:
    """Subscribe `url` through the form; the secret it shows."""
    form = page.get_by_role("region", name="New endpoint")
    form.get_by_label("URL").fill(url)
    for event in events:
        form.get_by_label(event, exact=True).check()
    form.get_by_role("button", name="Subscribe endpoint").click()
    secret_box = page.get_by_label("Signing secret", exact=True)
    expect(secret_box).to_be_visible()
    return secret_box.input_value()


def test_an_endpoint_subscribed_here_gets_signed_deliveries_its_log_shows_and_replays(
    site: Site, page: Page, seen: Watch, receiver: Receiver, api: httpx.Client
) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/webhooks")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks")).to_be_visible()
    check_page(page, "webhooks")
    secret = _subscribe_here(page, receiver.url, "document.indexed")
    assert secret.startswith("whsec_")
    expect(page.get_by_role("region", name=f"Signing secret of {receiver.url}")).to_be_focused()
    expect(page.locator("#flash .flash.ok")).to_contain_text("subscribed")
    expect(_row(page, receiver.url)).to_contain_text("document.indexed")
    expect(_row(page, receiver.url)).to_contain_text("none yet")
    expect(page.get_by_label("URL")).to_have_value("")  # the form is ready for the next endpoint
    check_page(page, "webhooks-created")

    document_id = index(api)
    arrival = receiver.wait(1)[0]
    payload = arrival.verifies(secret)  # signed with the secret the page showed
    assert payload["type"] == "document.indexed" and payload["data"]["document_id"] == document_id
    webhook_id = api.get("/v1/webhooks").json()["items"][0]["id"]
    settled(api, webhook_id)

    page.reload()  # shown once: never again
    assert secret not in page.content()
    expect(_row(page, receiver.url)).to_contain_text("delivered")
    _row(page, receiver.url).get_by_role("link", name=receiver.url).click()
    page.wait_for_url(f"**/webhooks/{webhook_id}")
    log = page.get_by_role("table", name="Deliveries, newest first")
    first = log.locator("tbody tr")
    expect(first).to_have_count(1)
    expect(first).to_contain_text("delivered")
    expect(first.locator("td[data-label=Status]")).to_have_text("204")
    expect(first.locator("td[data-label=Attempts]")).to_have_text("1")
    expect(first.locator("td[data-label=Latency]")).to_contain_text(" ms")
    check_page(page, "webhook-log")

    first.get_by_role("button", name="Replay document.indexed").click()
    expect(page.locator("#flash .flash.ok")).to_contain_text("sent again")
    expect(log.locator("tbody tr")).to_have_count(2)
    replayed = receiver.wait(2)[1]
    assert replayed.id == arrival.id  # the same webhook-id: a receiver that dedupes sees the same message
    assert replayed.verifies(secret)["data"]["document_id"] == document_id
    items = settled(api, webhook_id, count=2)
    assert [d["state"] for d in items] == ["delivered", "delivered"]
    audit = api.get("/v1/audit", params={"action": "webhook.replayed"}).json()["items"]
    assert audit and audit[0]["target"] == webhook_id


def test_rotating_shows_a_new_secret_and_the_old_one_signs_beside_it(
    site: Site, page: Page, seen: Watch, receiver: Receiver, api: httpx.Client
) -> None:
    created = subscribe(api, receiver.url, ["document.indexed"])
    sign_in(page, site.url, site.email, site.password, next_path="/webhooks")
    row = _row(page, receiver.url)
    row.get_by_text("Rotate secret", exact=True).click()
    row.get_by_role("button", name=f"Rotate the secret of {receiver.url}").click()
    new = page.get_by_label("Signing secret", exact=True).input_value()
    assert new.startswith("whsec_") and new != created["secret"]
    expect(page.locator("#flash .flash.ok")).to_contain_text("also signs until")
    check_page(page, "webhooks-rotated")

    index(api)
    arrival = receiver.wait(1)[0]
    assert arrival.verifies(new)["type"] == "document.indexed"
    assert arrival.verifies(created["secret"])["type"] == "document.indexed"  # the overlap
    page.goto(f"{site.url}/webhooks/{created['id']}")
    expect(page.locator(".facts")).to_contain_text("also signs until")


def test_disabling_enabling_and_deleting_are_what_the_api_sees(
    site: Site, page: Page, seen: Watch, receiver: Receiver, api: httpx.Client
) -> None:
    created = subscribe(api, receiver.url, ["job.failed"], collections=["faq"])
    sign_in(page, site.url, site.email, site.password, next_path="/webhooks")
    row = _row(page, receiver.url)
    expect(row.locator("td[data-label=Collections]")).to_have_text("faq")
    row.get_by_text("Disable", exact=True).click()
    row.get_by_role("button", name=f"Disable {receiver.url}").click()
    expect(_row(page, receiver.url).locator("td[data-label=State]")).to_contain_text("disabled")
    assert api.get(f"/v1/webhooks/{created['id']}").json()["enabled"] is False

    page.goto(f"{site.url}/webhooks/{created['id']}")
    page.get_by_role("button", name=f"Enable {receiver.url}").click()
    expect(page.locator("#flash .flash.ok")).to_contain_text("enabled")
    expect(page.locator("#endpoint .facts")).to_contain_text("enabled")
    assert api.get(f"/v1/webhooks/{created['id']}").json()["enabled"] is True
    check_page(page, "webhook-enabled")

    page.get_by_text("Delete", exact=True).click()
    page.get_by_role("button", name=f"Delete {receiver.url}").click()
    page.wait_for_url(f"{site.url}/webhooks")
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    assert_error(api.get(f"/v1/webhooks/{created['id']}"), 404, "not_found")


def test_an_endpoint_lore_disabled_shows_why_and_is_enabled_again_here(
    site: Site, page: Page, seen: Watch, receiver: Receiver, api: httpx.Client
) -> None:
    receiver.default = Answer(status=500)
    created = subscribe(api, receiver.url, ["document.indexed"])
    index(api)
    wait_for(lambda: not api.get(f"/v1/webhooks/{created['id']}").json()["enabled"], "Lore to disable it")
    settled(api, created["id"])  # its delivery given up: the endpoint is disabled
    sign_in(page, site.url, site.email, site.password, next_path="/webhooks")
    state = _row(page, receiver.url).locator("td[data-label=State]")
    expect(state).to_contain_text("disabled")
    expect(state).to_contain_text("2 failed attempts in a row")
    check_page(page, "webhooks-auto-disabled")
    page.goto(f"{site.url}/webhooks/{created['id']}")
    log = page.locator("#delivery-log tbody tr")
    expect(log.first.locator("td[data-label=State]")).to_have_text("failed")
    expect(log.first.locator("td[data-label=Status]")).to_have_text("500")  # the last attempt's
    expect(log.first.locator("td[data-label=Attempts]")).to_have_text("2")
    expect(log.first.locator("td[data-label=Error]")).to_have_text("the endpoint is disabled")
    expect(page.locator("#delivery-log")).to_contain_text("enable it to replay")
    receiver.default = Answer(status=204)
    page.get_by_role("button", name=f"Enable {receiver.url}").click()
    expect(page.locator("#endpoint .facts")).to_contain_text("enabled")
    log.first.get_by_role("button", name="Replay document.indexed").click()  # the log came back with Replay
    settled_again = wait_for(
        lambda: next((d for d in deliveries(api, created["id"]) if d["state"] == "delivered"), None),
        "the replayed delivery",
    )
    assert settled_again["status_code"] == 204


def test_refused_input_says_the_apis_code(site: Site, page: Page, seen: Watch, receiver: Receiver) -> None:
    seen.allow("status of 422")
    seen.allow("status of 403")
    admin = bearer(mint_key(site.live.lore.store))
    sign_in(page, site.url, site.email, site.password, next_path="/webhooks")
    alert = page.locator("#flash [role=alert]")
    form = page.get_by_role("region", name="New endpoint")

    form.get_by_label("URL").fill("https://10.1.2.3/hook")
    form.get_by_label("document.indexed").check()
    form.get_by_role("button", name="Subscribe endpoint").click()
    api = httpx.post(
        f"{site.url}/v1/webhooks",
        json={"url": "https://10.1.2.3/hook", "events": ["document.indexed"]},
        headers=admin,
    )
    assert_error(api, 422, "webhook_url_refused")
    expect(alert).to_have_attribute("data-code", "webhook_url_refused")
    expect(alert).to_contain_text("non-public address")
    expect(form.get_by_label("URL")).to_have_value("https://10.1.2.3/hook")  # kept, to be corrected
    check_page(page, "webhooks-refused")

    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("document.indexed").uncheck()
    form.get_by_role("button", name="Subscribe endpoint").click()
    expect(alert).to_have_attribute("data-code", "invalid_request")
    expect(alert).to_contain_text("events")
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()

    refused = page.request.post(  # the session's cookie, without the page's CSRF header
        f"{site.url}/webhooks", form={"url": receiver.url, "events": "document.indexed"}
    )
    assert refused.status == 403
    assert 'data-code="csrf_failed"' in refused.text()
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == CSRF_COOKIE)
    accepted = page.request.post(
        f"{site.url}/webhooks",
        form={"url": receiver.url, "events": "document.indexed"},
        headers={CSRF_HEADER: csrf, "HX-Request": "true"},
    )
    assert accepted.status == 200 and "whsec_" in accepted.text()


def test_the_page_works_at_phone_width(
    site: Site, page: Page, seen: Watch, receiver: Receiver, api: httpx.Client
) -> None:
    created = subscribe(api, receiver.url, ["document.indexed", "job.failed"])
    index(api)
    settled(api, created["id"])
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, site.url, site.email, site.password, next_path="/webhooks")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    head = page.locator("table.webhooks thead").bounding_box()
    assert head is not None and head["width"] <= 1  # the header row is hidden: each row is a card
    delete = _row(page, receiver.url).get_by_text("Delete", exact=True)
    delete.scroll_into_view_if_needed()
    expect(delete).to_be_in_viewport(ratio=1)
    check_page(page, "webhooks-phone")
    page.goto(f"{site.url}/webhooks/{created['id']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    replay = page.get_by_role("button", name="Replay document.indexed")
    replay.scroll_into_view_if_needed()
    expect(replay).to_be_in_viewport(ratio=1)
    assert len(deliveries(api, created["id"])) == 1
    check_page(page, "webhook-log-phone")


def test_an_editor_neither_sees_nor_opens_the_webhooks_page(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 403")
    editor = new_user(site, "editor-webhooks@example.org", "editor")
    assert_closed_to(page, site, editor, ADMIN_PAGES["Webhooks"], "webhooks-forbidden")
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == CSRF_COOKIE)
    refused = page.request.post(
        f"{site.url}/webhooks",
        form={"url": "https://hooks.example.com/lore", "events": "document.indexed"},
        headers={CSRF_HEADER: csrf, "HX-Request": "true"},
    )
    assert refused.status == 403
    assert 'data-code="forbidden"' in refused.text()
