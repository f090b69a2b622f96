"""`lore serve --workers 2`: /metrics adds up the figures of both workers, whichever of them answers it."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from lore.config import Settings
from lore.registry import create_store
from lore.security.scopes import Scope
from tests.keys import bearer, mint_key
from tests.operations.metrics.conftest import samples_of
from tests.served import ServedLore, serve_env

REQUESTS = 40
SCRAPES = 6


def key_for(data_dir: Path, scope: Scope) -> dict[str, str]:
    """A key of one scope, minted into the store before the server starts."""
    db = create_store(Settings(_env_file=None, data_dir=data_dir))
    try:
        db.migrate()
        return bearer(mint_key(db, scopes=frozenset({scope})))
    finally:
        db.close()


def test_the_request_counter_adds_up_every_worker(tmp_path: Path, model_cache: Path) -> None:
    env = serve_env(tmp_path / "data", model_cache, metrics_history_seconds="0.5")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    scraper, searcher = key_for(tmp_path / "data", Scope.METRICS), key_for(tmp_path / "data", Scope.SEARCH)
    with ServedLore(env, cwd=tmp_path, workers=2) as served:
        for _ in range(REQUESTS):  # a new connection each: either worker may accept it
            response = httpx.get(f"{served.url}/v1/collections", headers=served.headers, timeout=60)
            assert response.status_code == 200, response.text
        scrapes = [httpx.get(f"{served.url}/metrics", headers=scraper, timeout=60) for _ in range(SCRAPES)]
        refused = httpx.get(f"{served.url}/metrics", headers=searcher, timeout=60)
    assert refused.status_code == 403
    for scrape in scrapes:
        assert scrape.status_code == 200, scrape.text
        samples = samples_of(scrape.text)
        listed = (("method", "GET"), ("route", "/v1/collections"), ("status", "200"))
        assert samples[("lore_http_requests_total", listed)] == REQUESTS
        assert samples[("lore_http_request_seconds_count", listed)] == REQUESTS
        assert [name for name, _ in samples if name == "lore_build_info"] == ["lore_build_info"]
        assert not [name for name, _ in samples if name.startswith("process_")]  # the workers' files, summed
    assert "Traceback" not in served.log
    assert not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
