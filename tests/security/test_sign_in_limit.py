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


def limited_server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> LiveServer:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("sign-in-limit"),
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        rate_limit_sign_in="3/minute",
    )
    return LiveServer(create_app(settings))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    with limited_server(tmp_path_factory, model_cache) as live:
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


def test_the_web_uis_sign_in_form_counts_against_the_same_allowance(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> None:
    """A spray through the form is refused like one through the API; showing the form is not a sign-in."""
    with (
        limited_server(tmp_path_factory, model_cache) as live,
        httpx.Client(base_url=live.url, timeout=60) as http,
    ):
        for _ in range(4):
            assert http.get("/login").status_code == 200
        for n in range(3):
            form = {"email": f"user{n}@example.org", "password": "guess-1234"}
            assert http.post("/login", data=form).status_code == 401
        refused = http.post("/login", data={"email": "user9@example.org", "password": "guess-1234"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "rate_limited" in refused.text
        assert_error(
            http.post("/v1/auth/login", json={"email": "u@example.org", "password": "x" * 12}),
            429,
            "rate_limited",
        )
