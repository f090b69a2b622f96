"""Sign-ins are limited per client address, whichever accounts they try: lockout bounds the guesses at one
account, this bounds a spray across many (and the password hashing each one costs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lore.api import create_app
from lore.config import Settings
from tests.api.conftest import LiveServer, assert_error


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("sign-in-limit"),
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        rate_limit_sign_in="3/minute",
    )
    with LiveServer(create_app(settings)) as live:
        yield live


def test_a_spray_across_accounts_from_one_address_is_refused_with_retry_after(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for n in range(3):
            tried = http.post(
                "/v1/auth/login", json={"email": f"user{n}@example.org", "password": "guess-1234"}
            )
            assert tried.status_code == 401, tried.text
            assert tried.headers["ratelimit-remaining"] == str(2 - n)
        refused = http.post("/v1/auth/login", json={"email": "user9@example.org", "password": "guess-1234"})
        error = assert_error(refused, 429, "rate_limited")
        assert error["details"]["limit"] == "sign_in"
        assert int(refused.headers["retry-after"]) >= 1
        assert http.get("/healthz").status_code == 200  # only sign-ins are counted
