"""The embeddable help widget in a real browser, on a help-centre page of another origin (`localhost`, while
Lore is on `127.0.0.1`): suggestions as the visitor types, chosen with the keyboard; a question answered as a
stream with its sources; feedback and clicks stored as the visitor's events; an origin the key does not allow
refused by CORS and told so; the host page's styles and the widget's kept apart."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Locator, Page, Request, Response, expect

from lore.backends.store.event_records import EventFilters
from lore.models import DEFAULT_TENANT, Event
from lore.security.scopes import PUBLISHABLE_SCOPES
from tests.api.conftest import LiveServer
from tests.keys import mint_key
from tests.ui.browser import Watch, check_page
from tests.ui.conftest import Site

QUESTION = "What does the error no extractable text (scanned?) mean for a PDF?"
# The host page's own rules, as broad as a careless theme's: none of them may reach the widget.
HOST_STYLE = "button { font-size: 40px; background: rgb(255, 0, 0); } input { display: none; }"


class HelpCentre:
    """Pages of another origin than Lore's, each embedding the widget with the key it names."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        app = FastAPI()
        app.get("/{name}")(self.serve)
        self.live = LiveServer(app)
        self.url = self.live.url.replace("127.0.0.1", "localhost")  # another site, still loopback

    def serve(self, name: str) -> HTMLResponse:
        return HTMLResponse(self.pages[name])

    def add(self, name: str, lore_url: str, key: str) -> str:
        self.pages[name] = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example help centre</title><style>{HOST_STYLE}</style></head>
<body><main><h1>Example help centre</h1><p>Questions about Lore? Use the Help button.</p>
<button type="button" class="launcher">The page's own button</button></main>
<script src="{lore_url}/widget.js" data-key="{key}" data-collection="demo" async></script>
</body></html>"""
        return f"{self.url}/{name}"


@pytest.fixture(scope="module")
def help_centre() -> Iterator[HelpCentre]:
    centre = HelpCentre()
    with centre.live:
        yield centre


def publishable(site: Site, *origins: str) -> str:
    return mint_key(
        site.live.lore.store,
        scopes=PUBLISHABLE_SCOPES,
        kind="publishable",
        collections=frozenset({"demo"}),
        allowed_origins=origins,
    )


@pytest.fixture(scope="module")
def help_url(site: Site, help_centre: HelpCentre) -> str:
    return help_centre.add("help", site.url, publishable(site, help_centre.url))


def events_of(site: Site, kind: str) -> list[Event]:
    page = site.live.lore.store.events.page(
        DEFAULT_TENANT, 100, None, EventFilters(frozenset({kind}), None, None, None, None)
    )
    return list(page.items)


def open_widget(page: Page, url: str) -> Locator:
    page.goto(url)
    launcher = page.get_by_role("button", name="Help", exact=True)
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    dialog = page.get_by_role("dialog", name="Help")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("combobox", name="Search the help centre")).to_be_focused()
    return dialog


def is_search_post(request: Request) -> bool:
    return request.url.endswith("/v1/search") and request.method == "POST"


def is_events_post(response: Response) -> bool:
    return response.url.endswith("/v1/events") and response.request.method == "POST"


def test_typing_suggests_articles_and_the_keyboard_opens_one(
    site: Site, help_url: str, page: Page, seen: Watch
) -> None:
    dialog = open_widget(page, help_url)
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.post_data or "") if is_search_post(r) else None)
    search = dialog.get_by_role("combobox")
    search.press_sequentially("scanned pdf", delay=30)
    options = dialog.get_by_role("option")
    expect(options.first).to_be_visible()
    assert [json.loads(body)["query"] for body in searches] == ["scanned pdf"]  # once the typing paused
    expect(search).to_have_attribute("aria-expanded", "true")
    check_page(page, "widget-suggestions")

    search.press("ArrowDown")
    search.press("ArrowDown")
    expect(search).to_have_attribute("aria-activedescendant", "suggestion-1")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    chosen = options.nth(1).locator(".title").inner_text()
    with page.expect_response(is_events_post) as sent:
        search.press("Enter")
    assert sent.value.ok

    expect(dialog.get_by_role("article")).to_contain_text(chosen)
    expect(search).to_have_attribute("aria-expanded", "false")
    visitor = page.evaluate("localStorage.getItem('lore-widget-user')")
    click = next(e for e in events_of(site, "click") if e.user_id == visitor)
    assert click.rank == 2 and click.search_id and click.query == "scanned pdf" and click.collection == "demo"
    assert [e.document_id for e in events_of(site, "view") if e.user_id == visitor] == [click.document_id]

    search.press("Escape")  # the list is shut: Escape now closes the panel, and focus goes back
    launcher = page.get_by_role("button", name="Help", exact=True)
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_have_css("outline-style", "solid")  # focus is visible, on the host page's background


def test_a_question_streams_a_cited_answer_and_feedback_is_recorded(
    site: Site, help_url: str, page: Page, seen: Watch
) -> None:
    dialog = open_widget(page, help_url)
    streams: list[str] = []
    page.on(
        "response",
        lambda r: streams.append(r.headers.get("content-type", "")) if r.url.endswith("/messages") else None,
    )
    dialog.get_by_label("Ask a question").fill(QUESTION)
    dialog.get_by_role("button", name="Ask").click()

    answer = dialog.get_by_role("region", name="Answer")
    expect(dialog.get_by_role("status")).to_have_text("The answer is complete.", timeout=30_000)
    expect(answer).to_contain_text("scan without a text layer")
    sources = answer.get_by_role("list").get_by_role("button")
    expect(sources.first).to_have_text(re.compile(r"^\[\d+\] "))
    assert streams == ["text/event-stream; charset=utf-8"]
    check_page(page, "widget-answer")

    with page.expect_response(re.compile(r"/feedback$")) as sent:
        answer.get_by_role("button", name="Helpful", exact=True).click()
    assert sent.value.status == 201
    expect(answer).to_contain_text("Thank you for your feedback.")
    visitor = page.evaluate("localStorage.getItem('lore-widget-user')")
    helpful = [e for e in events_of(site, "helpful") if e.user_id == visitor]
    assert len(helpful) == 1 and helpful[0].conversation_id and helpful[0].message_id
    owned = site.live.lore.store.conversations.get(DEFAULT_TENANT, helpful[0].conversation_id, None)
    assert owned.end_user == visitor  # the visitor's own conversation, not every visitor's

    with page.expect_response(is_events_post):
        sources.first.click()  # a source opens its passage in the panel, and counts as a click on it
    expect(dialog.get_by_role("article")).to_be_visible()


def test_the_widget_fits_a_phone_follows_the_system_theme_and_keeps_apart_from_the_host_page(
    site: Site, help_url: str, page: Page, seen: Watch
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    dialog = open_widget(page, help_url)
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    launcher = page.get_by_role("button", name="Help", exact=True)
    assert launcher.evaluate("el => getComputedStyle(el).fontSize") == "16px"
    own = page.get_by_role("button", name="The page's own button")
    assert own.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(255, 0, 0)"
    expect(dialog.get_by_role("combobox")).to_be_visible()  # the host hides its inputs, not the widget's
    check_page(page, "widget-phone")
    background = "el => getComputedStyle(el).backgroundColor"
    assert dialog.evaluate(background) == "rgb(255, 255, 255)"
    page.emulate_media(color_scheme="dark")  # the system's theme, whatever the host page's
    expect(dialog).to_have_css("background-color", "rgb(18, 20, 23)")
    check_page(page, "widget-phone-dark")


def test_a_page_the_key_does_not_allow_is_refused_and_told_so(
    site: Site, help_centre: HelpCentre, page: Page, seen: Watch
) -> None:
    url = help_centre.add("elsewhere", site.url, publishable(site, "https://help.example"))
    seen.allow(r"has been blocked by CORS policy")
    seen.allow(r"Failed to load resource: net::ERR_FAILED")
    dialog = open_widget(page, url)
    before = len(events_of(site, "search"))
    dialog.get_by_role("combobox").fill("scanned pdf")

    expect(dialog.get_by_role("status")).to_contain_text("Help is not available on this page")
    expect(dialog.get_by_role("option")).to_have_count(0)
    site.live.lore.events.flush()
    assert len(events_of(site, "search")) == before  # refused before it reached the search
    check_page(page, "widget-refused")
