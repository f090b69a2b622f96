"""The jobs page in a real browser: a job that really failed, retried and then succeeding live; a job queued
while the page is open arriving with its progress; and who may see it."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page, expect

from lore.jobs import JobQueue
from lore.jobs.kinds.ingest import author_params
from lore.models import Job
from lore.security.access import author_of
from lore.security.principal import Principal, operator
from lore.security.scopes import ROLE_SCOPES, RoleName
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site

EDITOR_EMAIL = "editor@example.com"
VIEWER_EMAIL = "viewer@example.com"
PASSWORD = "a long enough password"


def queue(site: Site) -> JobQueue:
    jobs: JobQueue = site.live.app.state.jobs
    return jobs


def user(site: Site, email: str, role: RoleName) -> Principal:
    """The tenant's user of `role` (once per server), as it would be signed in."""
    accounts = site.live.app.state.identity.accounts
    try:
        found = accounts.by_email("default", email)
    except Exception:
        found = accounts.create(operator("default"), email, role, PASSWORD)
    return Principal(tenant_id="default", kind="user", id=found.id, scopes=ROLE_SCOPES[role], role=role)


def ingest(site: Site, submitter: Principal, documents: list[dict[str, Any]]) -> Job:
    """A batch queued as `POST /v1/ingest` queues it for `submitter`."""
    params = {"documents": documents, "author": author_params(author_of(submitter))}
    return queue(site).submit("ingest", params, tenant_id="default")


def finished(site: Site, job: Job) -> Job:
    deadline = time.monotonic() + 60
    while (current := queue(site).get(job.id, tenant_id="default")).state not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, f"job {job.id} still {current.state}"
        time.sleep(0.1)
    return current


def test_a_failed_job_is_retried_and_its_row_follows_it_live(site: Site, page: Page, seen: Watch) -> None:
    # An editor's batch writes over a source the operator owns: refused (403 source_taken), so the job fails.
    blocking = site.live.lore.add_text(title="House rules", text="Quiet after ten.", source="rules:house")
    editor = user(site, EDITOR_EMAIL, "editor")
    job = ingest(
        site, editor, [{"title": "House rules", "text": "Music until midnight.", "source": "rules:house"}]
    )
    assert finished(site, job).state == "failed"

    sign_in(page, site.url, site.email, site.password, next_path="/jobs")
    row = page.locator(f"#job-{job.id}")
    expect(row).to_have_attribute("data-state", "failed")
    expect(row.locator(".job-error")).to_have_attribute("data-code", "source_taken")
    check_page(page, "jobs-failed")

    site.live.lore.delete_document(blocking.id)  # the operator gives the source up; now the batch can run
    row.get_by_role("button", name=f"Retry ingest {job.id}").click()
    expect(page.locator("#flash [role=status]")).to_have_text(f"Queued ingest {job.id} again.")
    expect(row).to_have_attribute("data-state", "succeeded", timeout=30_000)  # sent by the stream
    expect(row).to_contain_text("1 of 1")
    expect(row.get_by_role("button", name=f"Retry ingest {job.id}")).to_have_count(0)
    check_page(page, "jobs-retried")
    documents = site.live.lore.list_documents(collections=["default"]).items
    assert [d.owner for d in documents if d.source == "rules:house"] == [f"user:{editor.id}"]


def test_a_job_queued_while_the_page_is_open_arrives_with_its_progress(
    site: Site, page: Page, seen: Watch
) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/jobs")
    expect(page.locator("h1")).to_have_text("Jobs")
    page.wait_for_timeout(1500)  # the stream has connected and read the jobs the page shows
    batch = [
        {"title": f"Tip {n}", "text": f"Tip number {n} about descaling.", "source": f"tips:{n}"}
        for n in range(3)
    ]
    job = ingest(site, user(site, EDITOR_EMAIL, "editor"), batch)
    row = page.locator(f"#job-{job.id}")
    expect(row).to_be_visible(timeout=15_000)
    expect(page.locator("#job-rows tr.job").first).to_have_id(f"job-{job.id}")  # on top, once
    expect(row).to_have_attribute("data-state", "succeeded", timeout=30_000)
    expect(row).to_contain_text("3 of 3")
    expect(page.locator(f"#job-{job.id}")).to_have_count(1)
    check_page(page, "jobs-live")

    page.get_by_label("State").select_option("succeeded")
    expect(page).to_have_url(f"{site.url}/jobs?state=succeeded")
    expect(page.locator("#job-rows tr.job[data-state=failed]")).to_have_count(0)
    expect(row).to_be_visible()


def test_a_viewer_has_no_jobs_page(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 403")
    user(site, VIEWER_EMAIL, "viewer")
    sign_in(page, site.url, VIEWER_EMAIL, PASSWORD)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs")).to_have_count(0)
    response = page.goto(f"{site.url}/jobs")
    assert response is not None and response.status == 403
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "forbidden")
    check_page(page, "jobs-forbidden")
    stream = page.request.get(f"{site.url}/jobs/stream?since=2026-01-01T00:00:00Z")
    assert stream.status == 403


def test_an_unknown_state_shows_the_api_code(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 422")
    sign_in(page, site.url, site.email, site.password, next_path="/jobs")
    response = page.goto(f"{site.url}/jobs?state=sleeping")
    assert response is not None and response.status == 422
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "invalid_request")
    expect(page.locator("[role=alert]")).to_contain_text("state")
