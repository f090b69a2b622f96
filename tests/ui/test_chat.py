"""The chat page in a real browser: a question's answer streamed in with its citations, a citation opened at
its passage, follow-ups, feedback on answers and on search hits read back from the store, a viewer chatting,
and another's conversation not found. Each question is answered by the extractive provider (no model)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from lore.answers.prompt import ABSTENTION
from lore.backends.store.event_records import EventFilters
from lore.models import DEFAULT_TENANT, Event, Message
from lore.security.principal import operator
from lore.security.sessions import CSRF_COOKIE, CSRF_HEADER
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site

QUESTION = "What does the error no extractable text (scanned?) mean for a PDF?"
FOLLOW_UP = "And how do I add a text layer to it?"
UNRELATED = "What is the airspeed velocity of an unladen swallow?"
VIEWER_PASSWORD = "viewer-password-long-enough"


@pytest.fixture(scope="module")
def viewer(site: Site) -> str:
    """A viewer of the site's tenant: its email (its password is VIEWER_PASSWORD)."""
    identity = site.live.app.state.identity
    user = identity.accounts.create(operator(DEFAULT_TENANT), "viewer@example.org", "viewer", VIEWER_PASSWORD)
    return str(user.email)


def conversation_id(page: Page) -> str:
    return urlsplit(page.url).path.rsplit("/", 1)[-1]


def stored_messages(site: Site, conversation: str) -> list[Message]:
    records = site.live.lore.store.conversations
    return list(reversed(records.messages(DEFAULT_TENANT, conversation, 50).items))


def events_of(site: Site, kind: str) -> list[Event]:
    site.live.lore.events.flush()  # the server's own events are written in batches
    page = site.live.lore.store.events.page(
        DEFAULT_TENANT, 100, None, EventFilters(frozenset({kind}), None, None, None, None)
    )
    return list(page.items)


def new_conversation(page: Page, site: Site) -> str:
    page.goto(f"{site.url}/chat")
    page.get_by_role("button", name="New conversation").click()
    page.wait_for_url(re.compile(r"/chat/[0-9a-f]{32}$"))
    return conversation_id(page)


def ask(page: Page, question: str) -> None:
    """Ask in the open conversation and wait for the answer to be whole (its stream's last event)."""
    answers = page.locator(".turn.answer:not(.pending)")
    before = answers.count()
    page.locator("textarea[name=content]").fill(question)
    page.get_by_role("button", name="Ask").click()
    expect(answers).to_have_count(before + 1, timeout=30_000)
    expect(page.locator(".turn.pending")).to_have_count(0)


def test_an_answer_streams_in_with_citations_that_open_the_cited_passage(
    site: Site, page: Page, seen: Watch
) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/chat")
    check_page(page, "chat-empty")
    conversation = new_conversation(page, site)
    check_page(page, "chat-new-conversation")
    streamed: list[str] = []
    page.on("response", lambda r: streamed.append(r.url) if "/answers/" in r.url else None)

    ask(page, QUESTION)

    answer = page.locator(".turn.answer").last
    expect(answer.locator(".turn-text")).to_contain_text("scan without a text layer")
    citations = answer.locator(".citations a")
    expect(citations.first).to_be_visible()
    expect(answer.locator(".turn-text a.marker").first).to_have_text(re.compile(r"\[\d+\]"))
    expect(page.locator("textarea[name=content]")).to_have_value("")
    expect(page.get_by_role("link", name=re.compile("What does the error"))).to_have_attribute(
        "aria-current", "page"
    )
    check_page(page, "chat-answer")
    question, stored = stored_messages(site, conversation)
    assert (question.role, question.content) == ("user", QUESTION)
    assert (
        stored.role == "assistant" and stored.usage is not None and stored.usage["provider"] == "extractive"
    )
    assert len(streamed) == 1  # one stream, answered once
    cited = stored.citations[0]
    expect(citations.first).to_have_attribute(
        "href", f"/documents/{cited['document_id']}?chunk={cited['chunk_id']}#chunk-{cited['chunk_id']}"
    )
    answered = [e for e in events_of(site, "answer") if e.conversation_id == conversation]
    assert [e.message_id for e in answered] == [stored.id]  # the API's answer event, for this turn

    citations.first.click()

    expect(page).to_have_url(re.compile(rf"/documents/{cited['document_id']}\?chunk={cited['chunk_id']}"))
    passage = page.locator(f"#chunk-{cited['chunk_id']}")
    expect(passage).to_be_visible()
    expect(passage).to_be_focused()
    check_page(page, "chat-cited-passage")


def test_a_follow_up_is_read_in_the_light_of_the_conversation_and_kept_on_reload(
    site: Site, page: Page, seen: Watch
) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/chat")
    conversation = new_conversation(page, site)
    ask(page, QUESTION)

    ask(page, FOLLOW_UP)

    expect(page.locator(".turn.answer").last.locator(".turn-text")).to_contain_text("OCR")
    messages = stored_messages(site, conversation)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert "scanned" in messages[3].metadata["retrieval_query"].lower()
    page.reload()
    expect(page.locator(".turn")).to_have_count(4)
    expect(page.locator(".conversations a[aria-current=page] + .meta")).to_contain_text("2 questions")
    check_page(page, "chat-follow-up")


def test_feedback_on_an_answer_is_recorded(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/chat")
    conversation = new_conversation(page, site)
    ask(page, QUESTION)
    answer = page.locator(".turn.answer").last

    answer.get_by_role("button", name="Not helpful").click()

    expect(answer.locator(".feedback-done")).to_have_text(re.compile("marked this answer not helpful"))
    expect(answer.locator("form.feedback")).to_have_count(0)
    check_page(page, "chat-feedback")
    stored = stored_messages(site, conversation)[-1]
    recorded = [e for e in events_of(site, "not_helpful") if e.conversation_id == conversation]
    assert [(e.message_id, e.user_id) for e in recorded] == [(stored.id, recorded[0].user_id)]
    assert recorded[0].user_id is not None  # the signed-in user's own feedback


def test_an_answer_that_abstains_says_so(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/chat")
    conversation = new_conversation(page, site)

    ask(page, UNRELATED)

    answer = page.locator(".turn.answer").last
    expect(answer.locator(".abstention-note")).to_contain_text("No answer found")
    expect(answer.locator(".turn-text")).to_have_text(ABSTENTION)
    expect(answer.locator(".citations")).to_have_count(0)
    assert stored_messages(site, conversation)[-1].metadata["abstained"] is True
    check_page(page, "chat-abstained")


def test_an_empty_question_shows_the_apis_code(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 422")
    sign_in(page, site.url, site.email, site.password, next_path="/chat")
    conversation = new_conversation(page, site)
    page.locator("textarea[name=content]").fill("   ")
    page.get_by_role("button", name="Ask").click()
    alert = page.locator("#flash [role=alert]")
    expect(alert).to_have_attribute("data-code", "invalid_request")
    expect(page.locator(".turn")).to_have_count(0)
    assert stored_messages(site, conversation) == []
    check_page(page, "chat-invalid-question")


def test_a_conversation_is_renamed_and_deleted(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/chat")
    conversation = new_conversation(page, site)
    page.get_by_text("Rename or delete").click()
    page.get_by_label("Title").fill("Scanned manuals")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("h1")).to_have_text("Scanned manuals")
    expect(page.get_by_role("link", name="Scanned manuals")).to_have_attribute("aria-current", "page")
    check_page(page, "chat-renamed")

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_text("Rename or delete").click()
    page.get_by_role("button", name="Delete conversation").click()
    page.wait_for_url(f"{site.url}/chat")
    expect(page.get_by_role("link", name="Scanned manuals")).to_have_count(0)
    listed = site.live.lore.store.conversations.list_conversations(DEFAULT_TENANT, 200)
    assert conversation not in {c.id for c in listed.items}


def test_a_viewer_chats_and_anothers_conversation_is_not_found(
    site: Site, viewer: str, page: Page, seen: Watch
) -> None:
    seen.allow("status of 404")
    records = site.live.lore.store.conversations
    owners = records.create(DEFAULT_TENANT, "The owner's", owner=None)
    sign_in(page, site.url, viewer, VIEWER_PASSWORD, next_path="/search")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Chat").click()
    expect(page.get_by_role("link", name="The owner's")).to_have_count(0)
    conversation = new_conversation(page, site)
    ask(page, QUESTION)
    expect(page.locator(".turn.answer .citations a").first).to_be_visible()
    assert stored_messages(site, conversation)[-1].role == "assistant"

    response = page.goto(f"{site.url}/chat/{owners.id}")

    assert response is not None and response.status == 404
    expect(page.locator("[role=alert]")).to_have_attribute("data-code", "not_found")
    check_page(page, "chat-not-found")


def test_search_feedback_is_recorded_with_the_search_and_rank(site: Site, page: Page, seen: Watch) -> None:
    sign_in(page, site.url, site.email, site.password, next_path="/search?q=scanned+pdf")
    second = page.locator(".hit").nth(1)
    document_id = second.get_attribute("data-document-id")

    second.get_by_role("button", name=re.compile("^Helpful")).click()

    expect(second.locator(".feedback-done")).to_have_text(re.compile("marked this result helpful"))
    expect(second.locator("form.feedback")).to_have_count(0)
    check_page(page, "search-feedback")
    recorded = [e for e in events_of(site, "helpful") if e.document_id == document_id and e.search_id]
    assert len(recorded) == 1 and recorded[0].data == {"rank": 2}
    searched = [e for e in events_of(site, "search") if e.search_id == recorded[0].search_id]
    assert len(searched) == 1  # the feedback names the search the page made


@pytest.fixture
def session(site: Site) -> Iterator[httpx.Client]:
    """The owner's web session, as a browser holds it: its cookies and the CSRF header."""
    with httpx.Client(base_url=site.url, timeout=60) as client:
        opened = client.post(
            "/v1/auth/session",
            json={"tenant": DEFAULT_TENANT, "email": site.email, "password": site.password},
        )
        assert opened.status_code == 200, opened.text
        client.headers[CSRF_HEADER] = client.cookies[CSRF_COOKIE]
        yield client


def test_a_question_is_answered_once_however_often_its_stream_is_opened(
    site: Site, session: httpx.Client
) -> None:
    conversation = site.live.lore.store.conversations.create(DEFAULT_TENANT, owner=None).id
    asked = session.post(
        f"/chat/{conversation}/questions", data={"content": QUESTION}, headers={"HX-Request": "true"}
    )
    assert asked.status_code == 200, asked.text
    stream = re.search(r'sse-connect="([^"]+)"', asked.text)
    assert stream is not None

    first = session.get(stream.group(1))
    again = session.get(stream.group(1))

    assert first.headers["content-type"].startswith("text/event-stream")
    assert re.findall(r"^event: (\w+)$", first.text, re.M)[-1] == "answer"
    assert "event: token" in first.text
    assert re.findall(r"^event: (\w+)$", again.text, re.M) == ["failed"]
    assert "already given or interrupted" in again.text
    assert [m.role for m in stored_messages(site, conversation)] == ["user", "assistant"]
