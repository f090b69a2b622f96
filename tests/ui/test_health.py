"""The health page, in a real browser, after real traffic: the charts are drawn from the figures the page
fetched (`GET /v1/metrics/history`), the components' table says what `/readyz` says, and only admins open it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from lore.security.bootstrap import PASSWORD_FILE
from lore.security.scopes import ROLE_SCOPES
from tests.api.conftest import small_server
from tests.keys import bearer, mint_key
from tests.served import free_port
from tests.ui.admin import assert_closed_to, new_user
from tests.ui.browser import Watch, check_page, sign_in
from tests.ui.conftest import Site
from tests.waiting import wait_for

HISTORY = "/v1/metrics/history"
CHARTS = ("latency", "throughput", "errors", "cache", "queue")

# Pixels of the canvas in the colour of its first series (the page's accent): the line uPlot drew from the data.
SERIES_PIXELS = """(canvas) => {
  const hex = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();
  const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let found = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 200 && want.every((v, k) => Math.abs(pixels[i + k] - v) < 24)) { found++; }
  }
  return found;
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Site]:
    """A server sampling its figures every second, so a test sees several intervals of traffic quickly."""
    data_dir = tmp_path_factory.mktemp("ui-health")
    with small_server(data_dir, model_cache, metrics_history_seconds=1.0) as live:
        password = (data_dir / PASSWORD_FILE).read_text().strip()
        yield Site(live, live.lore.settings.auth.admin_email, password)


def _busy(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in samples if s["requests_per_second"] > 0 and s["latency_p50_ms"] is not None]


def _traffic(site: Site) -> None:
    """Searches over a few intervals, until the history holds at least two intervals that served them."""
    admin = bearer(mint_key(site.live.lore.store, scopes=ROLE_SCOPES["admin"]))
    with httpx.Client(base_url=site.url, headers=admin, timeout=60) as http:

        def served() -> bool:
            for query in ("password", "reset", "invoice"):
                assert http.post("/v1/search", json={"query": query}).status_code == 200
            return len(_busy(http.get(HISTORY).json()["samples"])) >= 2

        wait_for(served, "two intervals of search traffic in the history", poll=0.3)


def test_the_charts_draw_the_history_the_page_fetched(site: Site, page: Page, seen: Watch) -> None:
    _traffic(site)
    with page.expect_response(lambda response: urlsplit(response.url).path == HISTORY) as fetched:
        sign_in(page, site.url, site.email, site.password, next_path="/health")
    assert fetched.value.status == 200
    history = fetched.value.json()
    assert history["interval_seconds"] == 1.0
    samples = history["samples"]
    assert len(_busy(samples)) >= 2

    for chart in CHARTS:
        summary = page.locator(f'[data-chart="{chart}"] [data-summary]')
        expect(summary).to_contain_text("Latest (")
        expect(summary).to_contain_text("samples of 1 s")
        canvas = page.locator(f'[data-chart="{chart}"] canvas')
        expect(canvas).to_have_count(1)
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
    for chart in ("latency", "throughput"):  # figures the searches made: their lines are on the canvas
        canvas = page.locator(f'[data-chart="{chart}"] canvas')
        assert canvas.evaluate(SERIES_PIXELS) > 20, f"no line drawn on the {chart} chart"
    check_page(page, "health")


def test_the_components_table_says_what_readyz_says(site: Site, page: Page, seen: Watch) -> None:
    ready = httpx.get(f"{site.url}/readyz")
    assert ready.status_code == 200
    sign_in(page, site.url, site.email, site.password, next_path="/health")
    expect(page.locator("#readiness")).to_contain_text("Ready")
    rows = page.locator("#components tbody tr")
    names = {rows.nth(i).get_attribute("data-component") for i in range(rows.count())}
    assert names == set(ready.json()) and {"queue", "vector_index"} <= names
    queue = page.locator('#components tr[data-component="queue"]')
    expect(queue.locator("td").first).to_have_text(ready.json()["queue"]["status"])
    with page.expect_response(lambda response: urlsplit(response.url).path == "/health") as refreshed:
        pass  # the page refreshes the table as each interval ends
    assert refreshed.value.status == 200 and refreshed.value.request.headers.get("hx-request") == "true"
    expect(rows).to_have_count(len(names))


def test_a_non_admin_neither_sees_nor_opens_the_health_page(site: Site, page: Page, seen: Watch) -> None:
    seen.allow("status of 403")
    editor = new_user(site, "editor-health@example.org", "editor")
    assert_closed_to(page, site, editor, "/health", "health-forbidden")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Health")).to_have_count(0)
    history = page.context.request.get(f"{site.url}{HISTORY}")
    assert history.status == 403 and history.json()["error"]["code"] == "forbidden"


def test_a_failing_component_is_shown_with_the_reason_readyz_gives(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, page: Page, seen: Watch
) -> None:
    """Redis configured on a port nothing listens on: the page says the server is not ready, and why."""
    seen.allow("status of 503")
    data_dir = tmp_path_factory.mktemp("ui-health-redis")
    with small_server(data_dir, model_cache, redis_url=f"redis://127.0.0.1:{free_port()}/0") as live:
        ready = httpx.get(f"{live.url}/readyz")
        assert ready.status_code == 503
        failing = ready.json()["error"]["details"]["redis"]
        password = (data_dir / PASSWORD_FILE).read_text().strip()
        sign_in(page, live.url, live.lore.settings.auth.admin_email, password, next_path="/health")
        alert = page.locator("#components [role=alert]")
        expect(alert).to_have_attribute("data-code", "not_ready")
        redis = page.locator('#components tr[data-component="redis"]')
        expect(redis.locator("td").first).to_have_text("failing")
        expect(redis.locator("td.details")).to_contain_text(failing["reason"])
        check_page(page, "health-not-ready")
