"""The API keys page, in a real browser: a key created there works against the API until it is revoked there;
rotating shows the new secret once; refused input says the API's code; only admins see the page."""

from __future__ import annotations

import httpx
from playwright.sync_api import Locator, Page, expect

from lore.security.keys import KeySpec
from lore.security.scopes import ROLE_SCOPES
from tests.api.conftest import assert_error
from tests.keys import bearer, mint_key
from tests.ui.admin import ADMIN_PAGES, assert_closed_to, new_user
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site


def _searches(site: Site, token: str) -> int:
    response = httpx.post(f"{site.url}/v1/search", json={"query": "password"}, headers=bearer(token))
    return response.status_code


def _row(page: Page, name: str) -> Locator:
    return page.locator("#key-list tr", has_text=name)


def test_a_key_created_here_works_until_it_is_revoked_here(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/keys")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys")).to_be_visible()
    check_page(page, "keys")
    page.get_by_label("Name").fill("reporting job")
    page.get_by_label("documents:read").check()
    page.get_by_role("button", name="Create key").click()
    secret_box = page.get_by_label("Secret")
    expect(secret_box).to_be_visible()
    secret = secret_box.input_value()
    assert secret.startswith("lore_sk_")
    expect(page.locator("#flash .flash.ok")).to_contain_text("reporting job")
    expect(_row(page, "reporting job")).to_contain_text("documents:read, search")
    expect(page.get_by_label("Name")).to_have_value("")  # the form is ready for the next key
    check_page(page, "keys-created")
    assert _searches(site, secret) == 200

    page.reload()  # shown once: never again
    assert secret not in page.content()
    row = _row(page, "reporting job")
    expect(row).to_contain_text("active")
    row.get_by_text("Revoke", exact=True).click()
    confirm = row.get_by_role("button", name="Revoke “reporting job”")
    expect(confirm).to_be_visible()
    check_page(page, "keys-revoke-confirm")
    assert _searches(site, secret) == 200  # opening the confirmation changed nothing
    confirm.click()
    expect(_row(page, "reporting job")).to_contain_text("revoked")
    expect(page.locator("#flash .flash.ok")).to_contain_text("revoked")
    assert _searches(site, secret) == 401


def test_rotating_shows_the_new_secret_once_and_ends_the_old_one(site: Site, page: Page, seen: Watch) -> None:
    spec = KeySpec(name="nightly sync", scopes=ROLE_SCOPES["viewer"])
    _, old = site.live.app.state.keys.create("default", spec, created_by="operator")
    sign_in(page, site.url, site.email, site.password, next_path="/keys")
    row = _row(page, "nightly sync").filter(has_text="active")
    row.get_by_text("Rotate", exact=True).click()
    row.get_by_label("Old key works for (hours)").fill("0")
    row.get_by_role("button", name="Rotate “nightly sync”").click()
    secret_box = page.get_by_label("Secret")
    expect(secret_box).to_be_visible()
    new = secret_box.input_value()
    assert new.startswith("lore_sk_") and new != old
    expect(page.locator("#flash .flash.ok")).to_contain_text("rotated")
    check_page(page, "keys-rotated")
    assert _searches(site, new) == 200
    assert _searches(site, old) == 401
    page.reload()
    assert new not in page.content()


def test_the_copy_button_copies_the_secret(site: Site, page: Page, seen: Watch) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    sign_in(page, site.url, site.email, site.password, next_path="/keys")
    page.get_by_label("Name").fill("copied")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("Secret").input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == secret


def test_without_a_clipboard_the_secret_is_selected(site: Site, page: Page, seen: Watch) -> None:
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined})")
    sign_in(page, site.url, site.email, site.password, next_path="/keys")
    page.get_by_label("Name").fill("typed by hand")
    page.get_by_role("button", name="Create key").click()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("[data-copy-status]")).to_contain_text("Ctrl+C")
    secret_box = page.get_by_label("Secret")
    expect(secret_box).to_be_focused()
    selected = page.evaluate(
        "(el => el.value.slice(el.selectionStart, el.selectionEnd))(document.activeElement)"
    )
    assert selected == secret_box.input_value()


def test_refused_input_says_the_apis_code(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 422")
    admin = bearer(mint_key(site.live.lore.store, scopes=ROLE_SCOPES["admin"]))
    sign_in(page, site.url, site.email, site.password, next_path="/keys")
    alert = page.locator("#flash [role=alert]")

    page.get_by_label("Name").fill("   ")
    page.get_by_role("button", name="Create key").click()
    api = httpx.post(f"{site.url}/v1/keys", json={"name": "   ", "scopes": ["search"]}, headers=admin)
    assert_error(api, 422, "invalid_input")
    expect(alert).to_have_attribute("data-code", "invalid_input")
    expect(alert).to_contain_text("name")
    expect(page.get_by_label("Name")).to_have_value("   ")  # kept, to be corrected
    check_page(page, "keys-refused")

    page.get_by_label("Name").fill("tampered")
    page.get_by_label("search", exact=True).evaluate("box => { box.value = 'everything' }")
    page.get_by_role("button", name="Create key").click()
    api = httpx.post(
        f"{site.url}/v1/keys", json={"name": "tampered", "scopes": ["everything"]}, headers=admin
    )
    assert_error(api, 422, "invalid_request")
    expect(alert).to_have_attribute("data-code", "invalid_request")
    expect(alert).to_contain_text("scopes")
    assert "tampered" not in page.locator("#key-list").inner_text()


def test_an_editor_neither_sees_nor_opens_the_keys_page(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 403")
    editor = new_user(site, "editor-keys@example.org", "editor")
    assert_closed_to(page, site, editor, ADMIN_PAGES["API keys"], "keys-forbidden")
