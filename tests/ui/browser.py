"""What every browser test checks and keeps: no request leaves loopback, no console errors, every control
labelled, and a screenshot of each page seen (tests/ui/screenshots/, git-ignored)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from playwright.sync_api import ConsoleMessage, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
# As the machines' closed network wants: no background connections, no sandbox (CI runs as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# Every visible control without an accessible name: its tag and id or name (in open shadow roots too: an
# embedded widget's).
UNLABELLED_CONTROLS = """() => {
  const roots = [document];
  for (let i = 0; i < roots.length; i++) {
    for (const el of roots[i].querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
  }
  const all = (selector) => roots.flatMap((root) => [...root.querySelectorAll(selector)]);
  const named = (el) => {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title')) return true;
    if (el.id && el.getRootNode().querySelector(`label[for="${CSS.escape(el.id)}"]`)) return true;
    return el.closest('label') !== null;
  };
  const visible = (el) => el.type !== 'hidden' && el.getClientRects().length > 0;
  const controls = all('input, select, textarea').filter(visible).filter(el => !named(el));
  const buttons = all('button, a[href]').filter(visible)
    .filter(el => !(el.textContent.trim() || el.getAttribute('aria-label') || el.getAttribute('title')));
  return [...controls, ...buttons].map(el => `${el.tagName.toLowerCase()}#${el.id || el.name || '?'}`);
}"""


@dataclass
class Watch:
    """What a page did that a test must not let pass: console errors, uncaught exceptions, requests off
    loopback. `allow` names console errors a test provokes on purpose (a refused form is a 4xx)."""

    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not any(p.search(message.text) for p in self.allowed):
            self.errors.append(message.text)

    def on_route(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
            return
        self.blocked.append(route.request.url)
        route.abort()

    def check(self) -> None:
        assert not self.blocked, f"the page asked for something off this machine: {self.blocked}"
        assert not self.errors, f"console errors: {self.errors}"


def watch(page: Page) -> Watch:
    seen = Watch()
    page.context.route("**/*", seen.on_route)
    page.on("console", seen.on_console)
    page.on("pageerror", lambda error: seen.errors.append(f"uncaught: {error}"))
    return seen


def check_page(page: Page, name: str) -> None:
    """The page as it stands: a main landmark, a language, every control labelled; then its screenshot."""
    assert page.locator("main").count() == 1, "a page has one main landmark"
    assert page.locator("html[lang]").count() == 1, "a page names its language"
    unlabelled = page.evaluate(UNLABELLED_CONTROLS)
    assert not unlabelled, f"controls without a label on {page.url}: {unlabelled}"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base_url: str, email: str, password: str, *, next_path: str = "/search") -> None:
    page.goto(f"{base_url}/login?next={quote(next_path)}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == urlsplit(next_path).path)
