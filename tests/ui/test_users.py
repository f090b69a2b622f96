"""The users, groups and roles page, in a real browser: a role changed there is the role the user holds at its
next request; a user added there signs in with the password Lore chose, shown once; groups gain and lose members
as the API sees them; MFA resets; refused input and the owner-only rule say the API's code; only admins see it."""

from __future__ import annotations

import httpx
from playwright.sync_api import Locator, Page, expect

from lore.models import utcnow
from lore.security import mfa
from lore.security.identity import Identity
from lore.security.scopes import ROLE_SCOPES
from tests.api.conftest import assert_error
from tests.keys import bearer, mint_key
from tests.ui.admin import ADMIN_PAGES, Person, assert_closed_to, new_user
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site


def _identity(site: Site) -> Identity:
    identity: Identity = site.live.app.state.identity
    return identity


def _admin_key(site: Site) -> dict[str, str]:
    return bearer(mint_key(site.live.lore.store, scopes=ROLE_SCOPES["admin"]))


def _user_row(page: Page, email: str) -> Locator:
    return page.locator("#user-list tr", has_text=email)


def _group_row(page: Page, name: str) -> Locator:
    return page.locator("#group-list tr", has_text=name)


def _nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def _add_form(page: Page) -> Locator:
    return page.get_by_role("region", name="Add a user")


def test_an_admin_changes_a_users_role_and_the_user_holds_it(site: Site, page: Page, seen: Watch) -> None:
    admin = new_user(site, "admin-roles@example.org", "admin")
    viewer = new_user(site, "promoted@example.org", "viewer")
    sign_in(page, site.url, admin.email, admin.password, next_path="/users")
    expect(_nav(page).get_by_role("link", name="Users")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("table", name="Each role's scopes")).to_contain_text("documents:write")
    check_page(page, "users")

    row = _user_row(page, viewer.email)
    row.get_by_label(f"Role of {viewer.email}").select_option("editor")
    row.get_by_role("button", name="Save role").click()
    expect(page.locator("#flash .flash.ok")).to_contain_text(f"{viewer.email} is now editor")
    expect(_user_row(page, viewer.email).get_by_label(f"Role of {viewer.email}")).to_have_value("editor")
    check_page(page, "users-role-changed")
    api = httpx.get(f"{site.url}/v1/users/{viewer.id}", headers=_admin_key(site))
    assert api.json()["role"] == "editor"

    page.context.clear_cookies()
    sign_in(page, site.url, viewer.email, viewer.password)
    expect(_nav(page).get_by_role("link", name="Jobs")).to_be_visible()  # documents:write: an editor's page
    expect(_nav(page).get_by_role("link", name="Users")).to_have_count(0)


def test_a_user_added_here_signs_in_with_the_password_shown_once(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/users")
    form = _add_form(page)
    form.get_by_label("Email").fill("new-hire@example.org")
    form.get_by_label("Role").select_option("editor")
    form.get_by_label("Let Lore choose a password (shown once)").check()
    form.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("region", name="Password of new-hire@example.org")).to_be_focused()
    secret_box = page.get_by_label("Chosen password")
    password = secret_box.input_value()
    assert len(password) >= 24
    expect(page.locator("#flash .flash.ok")).to_contain_text("new-hire@example.org added as editor")
    expect(
        _user_row(page, "new-hire@example.org").get_by_label("Role of new-hire@example.org")
    ).to_have_value("editor")
    expect(form.get_by_label("Email")).to_have_value("")  # ready for the next user
    check_page(page, "users-added")

    page.reload()  # shown once: never again
    assert password not in page.content()
    page.context.clear_cookies()
    sign_in(page, site.url, "new-hire@example.org", password)
    expect(page.locator(".who")).to_contain_text("editor")


def test_a_group_gains_and_loses_a_member_and_is_deleted(site: Site, page: Page, seen: Watch) -> None:
    member = new_user(site, "grouped@example.org", "viewer")
    groups = site.live.lore.store.groups
    sign_in(page, site.url, site.email, site.password, next_path="/users")
    page.get_by_label("New group").fill("support-team")
    page.get_by_role("button", name="Create group").click()
    expect(page.locator("#flash .flash.ok")).to_contain_text("“support-team” created")
    row = _group_row(page, "support-team")
    expect(row).to_contain_text("none yet")
    expect(page.get_by_label("New group")).to_have_value("")

    row.get_by_label("User to add to support-team").select_option(label=member.email)
    row.get_by_role("button", name="Add to support-team").click()
    expect(row.locator(".members")).to_contain_text(member.email)
    check_page(page, "users-group-member")
    assert groups.get("default", "support-team").members == (member.id,)

    row.get_by_role("button", name=f"Remove {member.email} from support-team").click()
    expect(page.locator("#flash .flash.ok")).to_contain_text(f"{member.email} removed")
    expect(row).to_contain_text("none yet")
    assert groups.get("default", "support-team").members == ()

    row.get_by_text("Delete", exact=True).click()
    confirm = row.get_by_role("button", name="Delete group “support-team”")
    expect(confirm).to_be_visible()
    check_page(page, "users-group-delete-confirm")
    confirm.click()
    expect(page.locator("#flash .flash.ok")).to_contain_text("deleted")
    expect(_group_row(page, "support-team")).to_have_count(0)
    assert "support-team" not in [group.name for group in groups.list_groups("default")]


def _with_mfa(site: Site, person: Person) -> None:
    identity = _identity(site)
    enrolment = identity.mfa.enrol(identity.accounts.get("default", person.id))
    pending = identity.accounts.get("default", person.id)
    identity.mfa.verify(pending, mfa.current_code(enrolment.secret, utcnow()))


def test_resetting_a_users_mfa_turns_it_off(site: Site, page: Page, seen: Watch) -> None:
    person = new_user(site, "lost-phone@example.org", "editor")
    _with_mfa(site, person)
    sign_in(page, site.url, site.email, site.password, next_path="/users")
    row = _user_row(page, person.email)
    expect(row.locator("td[data-label=MFA]")).to_have_text("on")
    row.get_by_text("Reset MFA", exact=True).click()
    confirm = row.get_by_role("button", name=f"Reset MFA of {person.email}")
    expect(confirm).to_be_visible()
    check_page(page, "users-mfa-confirm")
    assert _identity(site).accounts.get("default", person.id).mfa_enabled  # opening it changed nothing
    confirm.click()
    expect(page.locator("#flash .flash.ok")).to_contain_text(f"MFA of {person.email} is off")
    expect(_user_row(page, person.email).locator("td[data-label=MFA]")).to_have_text("off")
    assert not _identity(site).accounts.get("default", person.id).mfa_enabled


def test_disabling_a_user_ends_its_sign_in_until_it_is_enabled(site: Site, page: Page, seen: Watch) -> None:
    person = new_user(site, "on-leave@example.org", "viewer")
    sign_in(page, site.url, site.email, site.password, next_path="/users")
    row = _user_row(page, person.email)
    row.get_by_text("Disable", exact=True).click()
    row.get_by_role("button", name=f"Disable {person.email}").click()
    expect(_user_row(page, person.email).locator(".state")).to_have_text("disabled")
    assert _identity(site).accounts.get("default", person.id).disabled_at is not None
    _user_row(page, person.email).get_by_role("button", name=f"Enable {person.email}").click()
    expect(_user_row(page, person.email).locator(".state")).to_have_text("active")
    assert _identity(site).accounts.get("default", person.id).disabled_at is None


def test_refused_input_says_the_apis_code(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 422")
    sign_in(page, site.url, site.email, site.password, next_path="/users")
    form = _add_form(page)
    alert = page.locator("#flash [role=alert]")

    form.get_by_label("Email").fill("not-an-email")
    form.get_by_role("button", name="Add user").click()
    api = httpx.post(f"{site.url}/v1/users", json={"email": "not-an-email"}, headers=_admin_key(site))
    assert_error(api, 422, "invalid_input")
    expect(alert).to_have_attribute("data-code", "invalid_input")
    expect(alert).to_contain_text("not an email address")
    expect(form.get_by_label("Email")).to_have_value("not-an-email")  # kept, to be corrected
    check_page(page, "users-refused")

    form.get_by_label("Email").fill("tampered@example.org")
    form.get_by_label("Role").evaluate(
        "select => { select.options[select.selectedIndex].value = 'superuser' }"
    )
    form.get_by_role("button", name="Add user").click()
    api = httpx.post(
        f"{site.url}/v1/users",
        json={"email": "tampered@example.org", "role": "superuser"},
        headers=_admin_key(site),
    )
    assert_error(api, 422, "invalid_request")
    expect(alert).to_have_attribute("data-code", "invalid_request")
    expect(alert).to_contain_text("role")
    expect(_user_row(page, "tampered@example.org")).to_have_count(0)


def test_only_an_owner_makes_an_owner(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 403")
    admin = new_user(site, "admin-not-owner@example.org", "admin")
    viewer = new_user(site, "would-be-owner@example.org", "viewer")
    sign_in(page, site.url, admin.email, admin.password, next_path="/users")
    row = _user_row(page, viewer.email)
    row.get_by_label(f"Role of {viewer.email}").select_option("owner")
    row.get_by_role("button", name="Save role").click()
    api = httpx.patch(f"{site.url}/v1/users/{viewer.id}", json={"role": "owner"}, headers=_admin_key(site))
    assert_error(api, 403, "forbidden")
    alert = page.locator("#flash [role=alert]")
    expect(alert).to_have_attribute("data-code", "forbidden")
    expect(alert).to_contain_text("only an owner manages admins and owners")
    check_page(page, "users-owner-only")
    assert _identity(site).accounts.get("default", viewer.id).role == "viewer"


def test_the_last_owner_keeps_its_role(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 409")
    sign_in(page, site.url, site.email, site.password, next_path="/users")
    row = _user_row(page, site.email)
    row.get_by_label(f"Role of {site.email}").select_option("admin")
    row.get_by_role("button", name="Save role").click()
    alert = page.locator("#flash [role=alert]")
    expect(alert).to_have_attribute("data-code", "conflict")
    expect(alert).to_contain_text("at least one enabled owner")
    owner = _identity(site).accounts.by_email("default", site.email)
    assert owner.role == "owner"


def test_the_page_works_at_phone_width(site: Site, page: Page, seen: Watch) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, site.url, site.email, site.password, next_path="/users")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    save = _user_row(page, site.email).get_by_role("button", name="Save role")
    save.scroll_into_view_if_needed()
    expect(save).to_be_in_viewport(ratio=1)  # whole, without scrolling sideways
    check_page(page, "users-phone")


def test_an_editor_and_a_viewer_neither_see_nor_open_the_users_page(
    site: Site, page: Page, seen: Watch
) -> None:
    seen.allow("status of 403")
    editor = new_user(site, "editor-users@example.org", "editor")
    assert_closed_to(page, site, editor, ADMIN_PAGES["Users"], "users-forbidden-editor")
    page.context.clear_cookies()
    viewer = new_user(site, "viewer-users@example.org", "viewer")
    assert_closed_to(page, site, viewer, ADMIN_PAGES["Users"], "users-forbidden-viewer")
