"""The documents pages in a real browser: upload and watch it index, filter, delete, permissions, and what a
viewer may not do."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from lore.models import Document
from lore.security.principal import operator
from lore.security.sessions import CSRF_COOKIE, CSRF_HEADER
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site

VIEWER_EMAIL = "viewer@example.com"
VIEWER_PASSWORD = "a viewer's long password"


def add(site: Site, title: str, text: str, collection: str = "demo") -> Document:
    """A document written as the operator would (the page under test is not the one writing it)."""
    return site.live.lore.add_text(title=title, text=text, source=None, collection=collection)


def viewer(site: Site) -> None:
    """The tenant's viewer (once per server)."""
    identity = site.live.app.state.identity
    try:
        identity.accounts.by_email("default", VIEWER_EMAIL)
    except Exception:
        identity.accounts.create(operator("default"), VIEWER_EMAIL, "viewer", VIEWER_PASSWORD)


def row(page: Page, title: str) -> Locator:
    return page.locator("table.documents tbody tr", has_text=title)


def test_upload_a_document_and_watch_it_index(site: Site, page: Page, seen: Watch, tmp_path: Path) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/documents")
    check_page(page, "documents")
    file = tmp_path / "marmalade-returns.md"
    file.write_text(
        "# Marmalade returns\n\nA jar of quince marmalade may be returned within zorbly thirty days.\n"
    )
    # What the progress said, in order, while the upload ran: its label and whether it showed.
    page.evaluate(
        """() => {
          window.progressSeen = [];
          const box = document.querySelector('[data-upload-progress]');
          new MutationObserver(() => window.progressSeen.push(box.hidden ? 'hidden' : box.textContent.trim()))
            .observe(box, {attributes: true, childList: true, subtree: true, characterData: true});
        }"""
    )
    page.get_by_label("File").set_input_files(str(file))
    page.locator("#upload-collection").fill("kitchen")
    page.get_by_label("Tags").fill("returns, jam")
    page.get_by_role("button", name="Upload").click()
    status = page.locator("#upload-status [role=status]")
    expect(status).to_contain_text("Indexed Marmalade returns")
    expect(status).to_contain_text("in kitchen, searchable now")
    seen_steps = page.evaluate("window.progressSeen")
    assert any(step.startswith("Uploading") for step in seen_steps), seen_steps
    assert "Parsing and indexing…" in seen_steps, seen_steps
    assert seen_steps[-1] == "hidden", seen_steps
    added = row(page, "Marmalade returns")
    expect(added).to_be_visible()  # the list reloaded itself
    expect(added).to_contain_text("kitchen")
    expect(added).to_contain_text("returns, jam")
    check_page(page, "documents-uploaded")

    page.goto(f"{site.url}/search?q=zorbly&mode=keyword")
    expect(page.locator(".hit-title")).to_have_text("Marmalade returns")


def test_the_list_filters_by_collection_and_loads_more(site: Site, page: Page, seen: Watch) -> None:
    add(site, "Filter tray cleaning", "Clean the filter tray weekly.", collection="appliances")
    sign_in(page, site.url, site.email, site.password, next_path="/documents")
    page.locator("#filter-collection").select_option("appliances")
    expect(page).to_have_url(f"{site.url}/documents?collection=appliances")
    expect(page.locator("table.documents tbody tr")).to_have_count(1)
    expect(row(page, "Filter tray cleaning")).to_be_visible()
    check_page(page, "documents-filtered")
    page.locator("#filter-collection").select_option("demo")
    expect(row(page, "Filter tray cleaning")).to_have_count(0)
    demo = page.locator("table.documents tbody tr[data-document-id]")
    expect(demo.first).to_be_visible()

    page.goto(f"{site.url}/documents?collection=demo&limit=5")
    expect(demo).to_have_count(5)
    page.get_by_role("button", name="Load more").click()
    expect(demo).to_have_count(10)
    ids = demo.evaluate_all("rows => rows.map(r => r.dataset.documentId)")
    assert len(set(ids)) == 10, "each page continues where the last ended"


def test_deleting_asks_once_more_and_the_document_is_gone(site: Site, page: Page, seen: Watch) -> None:
    document = add(site, "Obsolete kettle manual", "The kettle whistles in plinthic tones.")
    sign_in(page, site.url, site.email, site.password, next_path="/documents")
    target = row(page, "Obsolete kettle manual")
    target.get_by_role("button", name="Delete Obsolete kettle manual").click()
    confirm = target.get_by_role("button", name="Confirm delete Obsolete kettle manual")
    expect(confirm).to_be_focused()
    check_page(page, "documents-confirm-delete")
    page.keyboard.press("Escape")  # changed my mind: nothing deleted, focus back on Delete
    expect(confirm).to_be_hidden()
    expect(target.get_by_role("button", name="Delete Obsolete kettle manual")).to_be_focused()
    page.keyboard.press("Enter")
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#flash [role=status]")).to_have_text("Deleted Obsolete kettle manual.")
    expect(target).to_have_count(0)
    page.reload()
    expect(page.locator(f"#document-{document.id}")).to_have_count(0)
    page.goto(f"{site.url}/search?q=plinthic&mode=keyword")
    expect(page.locator(".meta").first).to_contain_text("0 results")


def test_restricting_a_document_hides_it_from_a_viewer(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 404")
    viewer(site)
    document = add(site, "Salary bands", "Pay scales for the quarter.")
    site.live.lore.store.groups.create("default", "finance")
    sign_in(page, site.url, site.email, site.password, next_path=f"/documents/{document.id}")
    access = page.locator("#access")
    expect(access.get_by_label("Restricted: only the readers below")).not_to_be_checked()
    access.get_by_label("Restricted: only the readers below").check()
    access.get_by_label("Groups").fill("finance, finance")
    access.get_by_role("button", name="Save permissions").click()
    expect(access.locator("[role=status]")).to_have_text("Saved: restricted.")
    expect(access.get_by_label("Groups")).to_have_value("finance")
    check_page(page, "document-permissions")
    page.reload()
    expect(page.get_by_label("Restricted: only the readers below")).to_be_checked()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{site.url}/login")
    sign_in(page, site.url, VIEWER_EMAIL, VIEWER_PASSWORD)
    response = page.goto(f"{site.url}/documents/{document.id}")
    assert response is not None and response.status == 404
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "not_found")
    page.goto(f"{site.url}/documents")
    expect(page.locator(f"#document-{document.id}")).to_have_count(0)


def test_a_viewer_sees_no_changes_and_a_write_is_refused(site: Site, page: Page, seen: Watch) -> None:
    viewer(site)
    document = add(site, "Visiting hours", "The showroom opens at nine.")
    sign_in(page, site.url, VIEWER_EMAIL, VIEWER_PASSWORD, next_path="/documents")
    expect(row(page, "Visiting hours")).to_be_visible()
    expect(page.get_by_role("heading", name="Upload a document")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete Visiting hours")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs")).to_have_count(0)
    check_page(page, "documents-viewer")
    page.goto(f"{site.url}/documents/{document.id}")
    expect(page.get_by_role("button", name="Save permissions")).to_have_count(0)
    expect(page.get_by_role("button", name="Re-ingest")).to_have_count(0)
    expect(page.locator("#access")).to_contain_text("Everyone in the tenant.")

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == CSRF_COOKIE)
    refused = page.request.delete(
        f"{site.url}/documents/{document.id}", headers={CSRF_HEADER: csrf, "HX-Request": "true"}
    )
    assert refused.status == 403
    assert 'data-code="forbidden"' in refused.text()
    page.reload()
    expect(page.locator("h1")).to_have_text("Visiting hours")


def test_an_unsupported_file_shows_the_api_code(site: Site, page: Page, seen: Watch, tmp_path: Path) -> None:
    seen.allow("status of 415")
    sign_in(page, site.url, site.email, site.password, next_path="/documents")
    file = tmp_path / "schedule.xyz"
    file.write_bytes(b"\x00\x01 not a document")
    page.get_by_label("File").set_input_files(str(file))
    page.get_by_role("button", name="Upload").click()
    alert = page.locator("#flash [role=alert]")
    expect(alert).to_have_attribute("data-code", "unsupported_format")
    expect(alert).to_contain_text("unsupported file type")
    expect(page.locator("[data-upload-progress]")).to_be_hidden()
    check_page(page, "documents-upload-refused")


def test_re_ingest_replaces_the_document_with_a_new_version(
    site: Site, page: Page, seen: Watch, tmp_path: Path
) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/documents")
    first = tmp_path / "opening-hours.md"
    first.write_text("# Opening hours\n\nThe shop opens at eight.\n")
    page.get_by_label("File").set_input_files(str(first))
    page.get_by_label("Tags").fill("hours")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-status [role=status]")).to_contain_text("Indexed Opening hours")
    page.locator("#upload-status a").click()
    expect(page.locator("h1")).to_have_text("Opening hours")
    url = page.url

    second = tmp_path / "opening-hours-v2.md"
    second.write_text("# Opening hours\n\nThe shop opens at quarter past gnomish nine.\n")
    page.get_by_label("New version of the file").set_input_files(str(second))
    page.get_by_role("button", name="Re-ingest").click()
    expect(page.locator("#upload-status [role=status]")).to_contain_text("Indexed Opening hours")
    check_page(page, "document-reingested")
    page.reload()
    assert page.url == url, "the same document, a new version"
    expect(page.locator(".document-text")).to_contain_text("gnomish nine")
    expect(page.get_by_text("Tags: hours")).to_be_visible()
