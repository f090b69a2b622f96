"""The account page, in a real browser: a user turns on two-factor sign-in there and then signs in with the
authenticator app's code (a wrong one refused) or with a recovery code (once); changing the password there ends
the old one; refused input says the API's code; the page is anyone's own, and asks a stranger to sign in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import httpx
import pyotp
from playwright.sync_api import Page, expect

from lore.models import DEFAULT_TENANT
from tests.api.conftest import assert_error
from tests.keys import bearer
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site
from tests.ui.roles import PASSWORD, add_user


def _totp(secret: str, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now, or `steps_ahead` 30-second steps from now (a step a sign-in has
    not used yet: each step's code works once)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * steps_ahead))


def _enrolled(site: Site, role: str = "viewer") -> tuple[str, str, list[str]]:
    """A user with two-factor sign-in on, turned on through the calls the API makes: (email, secret, codes)."""
    email = add_user(site, role)
    identity = site.live.app.state.identity
    user = identity.users.by_email(DEFAULT_TENANT, email)
    secret = identity.mfa.enrol(user).secret
    codes = identity.mfa.verify(identity.users.get(DEFAULT_TENANT, user.id), _totp(secret))
    return email, secret, codes


def _password_step(page: Page, site: Site, email: str, password: str, next_path: str = "/account") -> None:
    """The sign-in page's first step, which answers with the second: a code."""
    page.goto(f"{site.url}/login?next={quote(next_path)}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Code")).to_be_visible()


def _code_step(page: Page, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify").click()


def _path(page: Page) -> str:
    return urlsplit(page.url).path


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/login")


def test_a_user_turns_on_two_factor_sign_in_and_signs_in_with_the_apps_code(
    site: Site, page: Page, seen: Watch
) -> None:
    seen.allow("status of 401")
    email = add_user(site, "viewer")
    sign_in(page, site.url, email, PASSWORD)
    page.get_by_role("link", name="Account").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/account")
    expect(page.locator("#account-email")).to_have_text(email)
    expect(page.locator("#account-role")).to_have_text("viewer")
    expect(page.locator("#account-tenant")).to_have_text(DEFAULT_TENANT)
    expect(page.locator("#mfa-state")).to_contain_text("Off")
    check_page(page, "account")

    page.get_by_role("button", name="Set up two-factor sign-in").click()
    shown = page.get_by_label("Secret, for typing into the app")
    expect(shown).to_be_visible()
    grouped = shown.input_value()
    assert all(len(group) == 4 for group in grouped.split(" ")), grouped
    secret = grouped.replace(" ", "")
    uri = page.locator("#mfa-uri")
    assert uri.get_attribute("href") == uri.inner_text()
    assert pyotp.parse_uri(uri.inner_text()).secret == secret
    assert uri.inner_text().startswith("otpauth://totp/")
    check_page(page, "account-mfa-enrol")

    page.get_by_label("Code from your authenticator app").fill(_totp(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    expect(page.get_by_role("region", name="Recovery codes")).to_contain_text("Shown only once")
    expect(page.locator("#flash .flash.ok")).to_contain_text("on")
    recovery = codes.all_inner_texts()
    check_page(page, "account-recovery-codes")
    page.reload()  # shown once: neither the codes nor the secret again
    expect(page.locator("#mfa-state")).to_contain_text("On")
    assert not any(code in page.content() for code in recovery) and secret not in page.content()
    expect(page.locator("#account-sign-in")).to_have_text("a password")

    _sign_out(page)
    _password_step(page, site, email, PASSWORD)
    check_page(page, "login-mfa")
    right = _totp(secret, steps_ahead=1)
    _code_step(page, f"{(int(right) + 1) % 1_000_000:06d}")
    expect(page.locator("#flash [role=alert]")).to_have_attribute("data-code", "unauthenticated")
    assert _path(page) == "/login"
    assert page.context.request.get(f"{site.url}/v1/me").status == 401  # not signed in
    _code_step(page, f"{right[:3]} {right[3:]}")  # as an app shows it
    page.wait_for_url(lambda url: urlsplit(url).path == "/account")
    expect(page.locator("#account-email")).to_have_text(email)


def test_a_recovery_code_signs_in_once(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 401")
    email, _, codes = _enrolled(site)
    _password_step(page, site, email, PASSWORD, next_path="/search")
    _code_step(page, codes[0].upper())  # case and dashes do not matter
    page.wait_for_url(lambda url: urlsplit(url).path == "/search")
    _sign_out(page)

    _password_step(page, site, email, PASSWORD, next_path="/search")
    _code_step(page, codes[0])
    alert = page.locator("#flash [role=alert]")
    expect(alert).to_have_attribute("data-code", "unauthenticated")
    expect(alert).to_contain_text("already used")
    assert _path(page) == "/login"
    _code_step(page, codes[1])
    page.wait_for_url(lambda url: urlsplit(url).path == "/search")


def test_new_recovery_codes_replace_the_old_ones(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 4")
    email, secret, old = _enrolled(site)
    _password_step(page, site, email, PASSWORD)
    _code_step(page, old[0])
    page.wait_for_url(lambda url: urlsplit(url).path == "/account")
    expect(page.locator("#mfa-state")).to_contain_text("On")

    page.get_by_label("Code from your authenticator app").fill(_totp(secret, steps_ahead=-5))  # long past
    page.get_by_role("button", name="Make new recovery codes").click()
    expect(page.locator("#flash [role=alert]")).to_have_attribute("data-code", "invalid_input")
    check_page(page, "account-recovery-refused")

    page.get_by_label("Code from your authenticator app").fill(_totp(secret, steps_ahead=1))
    page.get_by_role("button", name="Make new recovery codes").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    new = page.locator("#recovery-codes li").all_inner_texts()
    assert not set(new) & set(old)
    _sign_out(page)
    _password_step(page, site, email, PASSWORD)
    _code_step(page, old[1])
    expect(page.locator("#flash [role=alert]")).to_have_attribute("data-code", "unauthenticated")
    _code_step(page, new[0])
    page.wait_for_url(lambda url: urlsplit(url).path == "/account")


def test_a_changed_password_signs_in_and_the_old_one_no_longer_does(
    site: Site, page: Page, seen: Watch
) -> None:
    seen.allow("status of 401")
    email = add_user(site, "editor")
    new_password = "a new and longer passphrase 7"
    sign_in(page, site.url, email, PASSWORD, next_path="/account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password again").fill(new_password)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password")).to_contain_text("Password changed")
    check_page(page, "account-password-changed")
    page.goto(f"{site.url}/account")  # this session ended too
    assert _path(page) == "/login"

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#flash [role=alert]")).to_have_attribute("data-code", "unauthenticated")
    assert _path(page) == "/login"
    sign_in(page, site.url, email, new_password, next_path="/account")
    expect(page.locator("#account-email")).to_have_text(email)


def test_refused_password_changes_say_the_apis_code(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 4")
    email = add_user(site, "viewer")
    tokens = httpx.post(f"{site.url}/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    sign_in(page, site.url, email, PASSWORD, next_path="/account")
    alert = page.locator("#flash [role=alert]")

    def change(current: str, new: str, again: str | None = None) -> None:
        page.get_by_label("Current password").fill(current)
        page.get_by_label("New password", exact=True).fill(new)
        page.get_by_label("New password again").fill(new if again is None else again)
        page.get_by_role("button", name="Change password").click()

    change("not my password at all", "a new and longer passphrase 7")
    expect(alert).to_have_attribute("data-code", "forbidden")
    expect(alert).to_contain_text("current password is wrong")
    api = httpx.post(
        f"{site.url}/v1/me/password",
        json={"current_password": "not my password at all", "new_password": "a new and longer passphrase 7"},
        headers=bearer(tokens["access_token"]),
    )
    assert_error(api, 403, "forbidden")
    check_page(page, "account-password-refused")

    change(PASSWORD, "short")
    expect(alert).to_have_attribute("data-code", "invalid_input")
    expect(alert).to_contain_text("at least")
    change(PASSWORD, "a new and longer passphrase 7", "a new and longer passphrase 8")
    expect(alert).to_have_attribute("data-code", "invalid_input")
    expect(alert).to_contain_text("repetition")
    expect(page.locator("#account-email")).to_have_text(email)  # still signed in: nothing changed
    assert httpx.get(f"{site.url}/v1/me", headers=bearer(tokens["access_token"])).status_code == 200


def test_the_page_asks_a_stranger_to_sign_in_and_then_opens_for_any_role(
    site: Site, page: Page, seen: Watch
) -> None:
    page.goto(f"{site.url}/account")
    assert _path(page) == "/login"
    expect(page.get_by_role("link", name="Account")).to_have_count(0)
    page.get_by_label("Email").fill(add_user(site, "owner"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/account")
    expect(page.locator("#account-role")).to_have_text("owner")
    expect(page.get_by_role("link", name="Account")).to_have_attribute("aria-current", "page")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Account")).to_have_count(0)  # in the header, beside Sign out
