"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser) against a real server on
loopback. `make test` installs Chromium when the machine lacks it (`make browser`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from lore.demo import demo_dir
from lore.security.bootstrap import PASSWORD_FILE
from tests.api.conftest import LiveServer, small_server
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, Watch, watch


@dataclass
class Site:
    """A live server with the demo articles, and its owner's sign-in."""

    live: LiveServer
    email: str
    password: str

    @property
    def url(self) -> str:
        return self.live.url


@pytest.fixture(scope="session")
def base_url() -> None:
    """Pages are named by absolute URL (each server has its own port); this also replaces pytest-base-url's
    fixture, which pytest deprecates."""
    return


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("ui-data")
    with small_server(data_dir, model_cache) as live:
        live.lore.ingest_paths([demo_dir()], collection="demo", sync=True)
        password = (data_dir / PASSWORD_FILE).read_text().strip()
        yield Site(live, live.lore.settings.auth.admin_email, password)


@pytest.fixture
def seen(page: Page) -> Iterator[Watch]:
    """The page's console errors and off-machine requests, checked when the test ends."""
    watched = watch(page)
    yield watched
    watched.check()
