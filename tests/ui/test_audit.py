"""The audit log page, in a real browser, as an admin reads it: changes made through the API show with their
actor, action and target; filtering by action narrows them; the CSV and JSON Lines exports hold exactly the
filtered entries (and no secret); a bad filter says the API's code; only admins see the page."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from lore.security.keys import KeySpec
from lore.security.scopes import ROLE_SCOPES, RoleName
from tests.api.conftest import assert_error
from tests.keys import bearer
from tests.ui.admin import ADMIN_PAGES, assert_closed_to, new_user
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site


def _admin_key(site: Site, name: str) -> tuple[str, str]:
    """A named admin key, as the operator makes one: its id and its secret."""
    key, token = site.live.app.state.keys.create(
        "default", KeySpec(name=name, scopes=ROLE_SCOPES["admin"]), created_by="operator"
    )
    return key.id, token


def _seqs(rows: Locator) -> list[int]:
    return [int(seq) for seq in rows.evaluate_all("rows => rows.map(row => row.dataset.seq)")]


class Api:
    """Requests to the site's API with one key's headers, each on a connection of its own."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers

    def post(self, path: str, body: dict[str, object]) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, headers=self.headers)

    def patch(self, path: str, body: dict[str, object]) -> httpx.Response:
        return httpx.patch(f"{self.url}{path}", json=body, headers=self.headers)

    def items(self, **params: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/v1/audit", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


def _download(page: Page, link: str) -> tuple[str, str]:
    """Click an export link; the file's suggested name and its text."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link, exact=True).click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_text(encoding="utf-8")


def test_an_admin_reads_filters_and_exports_the_audit_log(site: Site, page: Page, seen: Watch) -> None:
    key_id, token = _admin_key(site, "automation")
    api = Api(site.url, bearer(token))
    created = api.post("/v1/keys", {"name": "audited key", "scopes": ["search"]})
    assert created.status_code == 201
    new_key, secret = created.json()["id"], created.json()["key"]
    person = new_user(site, "role-change@example.org", "editor")
    assert api.patch(f"/v1/users/{person.id}", {"role": "viewer"}).status_code == 200

    sign_in(page, site.url, site.email, site.password, next_path="/audit")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log")).to_be_visible()
    rows = page.locator("table.audit tbody tr[data-seq]")
    seqs = _seqs(rows)
    assert seqs == sorted(seqs, reverse=True)  # newest first
    changed = rows.filter(has=page.locator("[data-action='user.updated']")).first
    expect(changed.locator("[data-actor]")).to_have_attribute("data-actor", f"key:{key_id}")
    expect(changed).to_contain_text("key “automation”")
    expect(changed.locator("[data-target]")).to_have_attribute("data-target", f"user:{person.id}")
    expect(changed).to_contain_text("role-change@example.org")
    expect(changed).to_contain_text('after: {"disabled": false, "role": "viewer"}')
    made = rows.filter(has=page.locator("[data-action='key.created']")).first
    expect(made.locator("[data-target]")).to_have_attribute("data-target", new_key)
    expect(made).to_contain_text("key “audited key”")
    assert secret not in page.content()
    check_page(page, "audit")

    everything = rows.count()
    page.get_by_label("Action").fill("key.created")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{site.url}/audit?action=key.created&actor=&target=&since=&until=")
    expect(rows.filter(has_not=page.locator("[data-action='key.created']"))).to_have_count(0)
    listed = api.items(action="key.created")
    expect(rows).to_have_count(len(listed))
    assert 0 < len(listed) < everything
    shown = _seqs(rows)
    assert shown == [item["seq"] for item in listed]
    check_page(page, "audit-filtered")

    name, text = _download(page, "CSV")
    assert name == "audit-default.csv"
    table = list(csv.DictReader(io.StringIO(text)))
    assert sorted(int(row["seq"]) for row in table) == sorted(shown)
    assert {row["action"] for row in table} == {"key.created"}
    name, text = _download(page, "JSON Lines")
    assert name == "audit-default.jsonl"
    lines = [json.loads(line) for line in text.splitlines()]
    assert sorted(line["seq"] for line in lines) == sorted(shown)
    assert {line["action"] for line in lines} == {"key.created"}
    assert secret not in text and token not in text

    exports = api.items(action="audit.exported")
    assert [item["summary"] for item in exports[:2]] == [
        {"format": "jsonl", "action": "key.created"},
        {"format": "csv", "action": "key.created"},
    ]


def test_older_entries_come_a_page_at_a_time(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/audit?limit=2")
    rows = page.locator("table.audit tbody tr[data-seq]")
    expect(rows).to_have_count(2)
    first = _seqs(rows)
    page.get_by_role("link", name="Older entries").click()
    expect(page).to_have_url(re.compile(r"[?&]cursor="))
    expect(page.locator("table.audit caption")).to_contain_text("older page")
    older = _seqs(rows)
    assert older and max(older) < min(first)
    check_page(page, "audit-older")
    page.set_viewport_size({"width": 375, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    check_page(page, "audit-phone")


def test_days_narrow_the_entries(site: Site, page: Page, seen: Watch) -> None:
    today = datetime.now(UTC).date()
    sign_in(page, site.url, site.email, site.password, next_path="/audit")
    rows = page.locator("table.audit tbody tr[data-seq]")
    page.get_by_label("From").fill(today.isoformat())
    page.get_by_label("To (included)").fill(today.isoformat())
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(f"since={today}&until={today}"))
    expect(rows.first).to_be_visible()
    page.get_by_label("From").fill((today - timedelta(days=3)).isoformat())
    page.get_by_label("To (included)").fill((today - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(0)
    expect(page.locator("table.audit")).to_contain_text("No entries match these filters.")
    check_page(page, "audit-empty")


def test_a_bad_filter_says_the_apis_code(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 422")
    _, token = _admin_key(site, "checker")
    sign_in(page, site.url, site.email, site.password, next_path="/audit")
    action = page.get_by_label("Action")
    action.evaluate("box => box.removeAttribute('maxlength')")
    action.fill("x" * 501)
    page.get_by_role("button", name="Filter").click()
    api = httpx.get(f"{site.url}/v1/audit", params={"action": "x" * 501}, headers=bearer(token))
    assert_error(api, 422, "invalid_request")
    alert = page.locator("#flash [role=alert]")
    expect(alert).to_have_attribute("data-code", "invalid_request")
    expect(alert).to_contain_text("action")
    check_page(page, "audit-refused")

    response = page.goto(f"{site.url}/audit?cursor=not-a-cursor")
    assert response is not None and response.status == 422
    api = httpx.get(f"{site.url}/v1/audit", params={"cursor": "not-a-cursor"}, headers=bearer(token))
    assert_error(api, 422, "invalid_input")
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "invalid_input")


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_a_viewer_or_an_editor_neither_reads_nor_exports_it(
    site: Site, page: Page, seen: Watch, role: RoleName
) -> None:
    seen.allow("status of 403")
    person = new_user(site, f"{role}-audit@example.org", role)
    assert_closed_to(page, site, person, ADMIN_PAGES["Audit log"], f"audit-forbidden-{role}")
    response = page.goto(f"{site.url}/audit/export?format=csv")
    assert response is not None and response.status == 403
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "forbidden")
