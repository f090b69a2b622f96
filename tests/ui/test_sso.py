"""Single sign-on in a real browser, through the local OpenID Connect provider of the security tests (on
loopback, like everything the browser may reach): the sign-in page's button signs the user on as the identity the
provider vouches for and lands on the page they asked for; a refused or forged callback is an error page with
the API's status and code, and signs nobody in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from lore.models import DEFAULT_TENANT
from lore.security.principal import operator
from tests.api.conftest import assert_error, small_server
from tests.security.oidc_provider import LocalProvider, Person, serving
from tests.ui.browser import Watch, check_page
from tests.ui.conftest import Site

CALLBACK = f"/v1/auth/oidc/{DEFAULT_TENANT}/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    with serving() as made:
        yield made


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, provider: LocalProvider
) -> Iterator[Site]:
    """A server whose default tenant signs on through the local provider (the `LORE_OIDC_*` settings)."""
    settings = {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": provider.client_id,
        "oidc_client_secret": provider.client_secret,
    }
    with small_server(tmp_path_factory.mktemp("ui-sso"), model_cache, **settings) as live:
        yield Site(live, live.lore.settings.auth.admin_email, "")


@pytest.fixture
def sso(provider: LocalProvider) -> LocalProvider:
    provider.faults.clear()
    provider.person = Person("subject-ada", "ada@example.org")
    return provider


def _sign_on(page: Page, site: Site, next_path: str) -> None:
    page.goto(f"{site.url}/login?next={quote(next_path)}")
    page.get_by_role("link", name="Sign in with single sign-on").click()


def test_the_sso_button_signs_on_as_the_providers_identity(
    site: Site, sso: LocalProvider, page: Page, seen: Watch
) -> None:
    editor = site.live.app.state.identity.accounts.create(
        operator(DEFAULT_TENANT), sso.person.email, "editor", None
    )
    page.goto(f"{site.url}/account")
    assert urlsplit(page.url).path == "/login"
    check_page(page, "login-sso")
    before = sso.token_requests
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/account")
    assert sso.token_requests == before + 1  # the code was traded at the provider, by the server
    expect(page.locator("#account-email")).to_have_text(editor.email)
    expect(page.locator("#account-role")).to_have_text("editor")
    expect(page.locator("#account-sign-in")).to_have_text("single sign-on")
    expect(page.locator("#password")).to_contain_text("no password to change")
    assert "lore_oidc" not in {cookie["name"] for cookie in page.context.cookies()}
    me = page.context.request.get(f"{site.url}/v1/me")
    assert me.status == 200 and me.json()["id"] == editor.id and me.json()["single_sign_on"]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/login")
    sso.person = Person("subject-grace", "grace@example.org")  # unknown here: made at first sign-on
    _sign_on(page, site, "/search")
    page.wait_for_url(lambda url: urlsplit(url).path == "/search")
    me = page.context.request.get(f"{site.url}/v1/me").json()
    assert me["email"] == "grace@example.org" and me["role"] == "viewer"


@pytest.mark.parametrize(
    ("fault", "status", "code", "reason"),
    [
        ("wrong_nonce", 401, "unauthenticated", "nonce_mismatch"),
        ("foreign_key", 401, "unauthenticated", "invalid_signature"),
        ("unverified_email", 403, "forbidden", "email_not_verified"),
    ],
)
def test_a_sign_on_the_server_refuses_is_an_error_page(
    site: Site, sso: LocalProvider, page: Page, seen: Watch, fault: str, status: int, code: str, reason: str
) -> None:
    seen.allow(f"status of {status}")
    sso.faults.add(fault)
    sso.person = Person(f"subject-{fault}", f"{fault}@example.org")
    with page.expect_response(lambda response: urlsplit(response.url).path == CALLBACK) as answered:
        _sign_on(page, site, "/search")
    assert answered.value.status == status
    assert answered.value.headers["content-type"].startswith("text/html")
    expect(page.get_by_role("alert")).to_have_attribute("data-code", code)
    assert page.context.request.get(f"{site.url}/v1/me").status == 401
    check_page(page, f"sso-refused-{fault}")
    refused = list(site.live.lore.store.audit.chain(DEFAULT_TENANT))[-1]
    assert refused.action == "auth.login_failed" and refused.summary["reason"] == reason
    assert site.live.app.state.identity.users.by_email(DEFAULT_TENANT, sso.person.email) is None


def test_a_refused_or_forged_callback_says_the_apis_code(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 4")
    cases = [
        ({"error": "access_denied", "state": "x"}, 401, "unauthenticated"),  # the provider said no
        ({"code": "a-code", "state": "forged"}, 401, "unauthenticated"),  # no sign-on of this browser
        ({}, 422, "invalid_input"),
    ]
    for params, status, code in cases:
        url = f"{site.url}{CALLBACK}?{urlencode(params)}"
        shown = page.goto(url)
        assert shown is not None and shown.status == status
        expect(page.get_by_role("alert")).to_have_attribute("data-code", code)
        assert_error(httpx.get(url), status, code)  # an API client still gets the error's JSON
    check_page(page, "sso-callback-refused")
    assert page.context.request.get(f"{site.url}/v1/me").status == 401
