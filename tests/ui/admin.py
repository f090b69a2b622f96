"""What the administration pages' tests share: users of other roles, and the check that a role without the
admin scope neither sees an admin page in the navigation nor opens it."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Page, expect

from lore.security.passwords import random_password
from lore.security.principal import operator
from lore.security.scopes import RoleName
from tests.ui.browser import check_page, sign_in
from tests.ui.conftest import Site

ADMIN_PAGES = {
    "API keys": "/keys",
    "Users": "/users",
    "Webhooks": "/webhooks",
    "Usage": "/usage",
    "Audit log": "/audit",
}


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    password: str


def new_user(site: Site, email: str, role: RoleName) -> Person:
    """A user of the site's default tenant, made as the operator would on the machine."""
    password = random_password()
    user = site.live.app.state.identity.accounts.create(operator("default"), email, role, password)
    return Person(user.id, email, password)


def assert_closed_to(page: Page, site: Site, person: Person, path: str, screenshot: str) -> None:
    """`person` (no admin scope) finds no admin page in the navigation, and `path` answers the 403 page."""
    sign_in(page, site.url, person.email, person.password)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Search")).to_be_visible()
    for label in ADMIN_PAGES:
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(0)
    response = page.goto(f"{site.url}{path}")
    assert response is not None and response.status == 403
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "forbidden")
    check_page(page, screenshot)
