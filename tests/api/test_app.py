"""The application's life: the uvicorn factory, the lifespan, the index saver, and failures of the unexpected
kind (a bug, a broken store)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lore.api import create_app
from lore.api.permissions import PUBLIC, ROUTE_SCOPES
from lore.config import Settings
from lore.service import Lore
from lore.service.index_sync import IndexSaver
from tests.api.conftest import LiveServer, assert_error
from tests.keys import bearer, mint_key, operator_key
from tests.served import free_port
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def lore(api_settings: Settings) -> Iterator[Lore]:
    with Lore.open(api_settings) as service:
        yield service


def manifest_seq(settings: Settings) -> int:
    return json.loads((settings.storage.index_dir / "manifest.json").read_text())["applied_seq"]


def saved_seq(settings: Settings) -> int:
    """The saved index's change position; -1 before the first save."""
    return manifest_seq(settings) if (settings.storage.index_dir / "manifest.json").exists() else -1


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    def up() -> bool:
        assert process.poll() is None, "uvicorn exited before it came up"
        with contextlib.suppress(httpx.TransportError):
            return httpx.get(f"{url}/healthz").status_code == 200
        return False

    wait_for(up, "uvicorn to come up", poll=0.1)


def test_uvicorn_factory_reads_settings_from_the_environment(tmp_path: Path, model_cache: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    env = os.environ | {
        "LORE_DATA_DIR": str(data_dir),
        "LORE_MODEL_CACHE_DIR": str(model_cache),
        "LORE_EMBED_THREADS": "1",
        "LORE_PARSE_WORKERS": "1",
        "LORE_MAX_REQUEST_BYTES": "1000",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "lore.api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    url = f"http://127.0.0.1:{port}"
    auth = bearer(operator_key(Settings(_env_file=None, data_dir=data_dir)))
    with subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE) as process:
        try:
            wait_until_up(url, process)
            created = httpx.post(
                f"{url}/v1/documents", json={"title": "Env", "text": "From the environment."}, headers=auth
            )
            assert created.status_code == 201, created.text
            too_big = httpx.post(f"{url}/v1/search", json={"query": "x" * 1000}, headers=auth)
            assert assert_error(too_big, 413, "payload_too_large")["details"]["limit_bytes"] == 1000
            assert "keyword_index" in httpx.get(f"{url}/readyz").json()  # the serving default: in memory
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    # Shutdown closed the Lore it opened, which saved the index up to the last change.
    assert manifest_seq(Settings(_env_file=None, data_dir=data_dir)) >= 1


def test_lore_serve_hands_its_options_to_every_worker(tmp_path: Path, model_cache: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("LORE_")} | {
        "LORE_MODEL_CACHE_DIR": str(model_cache),
        "LORE_EMBED_THREADS": "1",
        "LORE_PARSE_WORKERS": "1",
    }
    command = [sys.executable, "-m", "lore", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    auth = bearer(operator_key(Settings(_env_file=None, data_dir=data_dir)))
    with subprocess.Popen(
        [*command, "--workers", "2"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    ) as process:
        try:
            wait_until_up(url, process)
            for _ in range(
                4
            ):  # the two workers take turns: each serves the data dir and the serving defaults
                created = httpx.post(
                    f"{url}/v1/documents",
                    json={"title": "Option", "text": "From --data-dir."},
                    headers=auth,
                )
                assert created.status_code == 201, created.text
                assert "keyword_index" in httpx.get(f"{url}/readyz").json()
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
            sys.stderr.write(stderr.decode())  # the server's log, which pytest shows if the test fails
    assert process.returncode == 0, stderr.decode()
    assert not (tmp_path / "lore-data").exists()  # no worker fell back to the default data dir
    with Lore.open(Settings(_env_file=None, data_dir=data_dir, model_cache_dir=model_cache)) as lore:
        assert len(lore.list_documents(limit=10).items) == 1  # one source: each post replaced the last


def test_a_lore_passed_in_is_served_and_left_open(lore: Lore) -> None:
    first, second = create_app(lore=lore), create_app(lore=lore)
    assert first.state.metrics.registry is not second.state.metrics.registry
    with (
        LiveServer(first) as live,
        httpx.Client(base_url=live.url, headers=bearer(mint_key(lore.store))) as client,
    ):
        created = client.post("/v1/documents", json={"title": "Shared", "text": "Served from a passed Lore."})
        assert created.status_code == 201
    assert lore.get_document(created.json()["id"]).title == "Shared"  # still open after the server stopped


def test_an_unexpected_error_is_a_logged_500_without_details(
    lore: Lore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(lore=lore)
    monkeypatch.setitem(ROUTE_SCOPES, "GET /boom", PUBLIC)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with LiveServer(app) as live, caplog.at_level(logging.ERROR, logger="lore.api"):
        response = httpx.get(f"{live.url}/boom")
        metrics = httpx.get(f"{live.url}/metrics", headers=bearer(mint_key(lore.store))).text
    error = assert_error(response, 500, "internal_error")
    assert "secret" not in response.text and error["details"] == {}
    assert any(record.exc_info and "secret internals" in str(record.exc_info[1]) for record in caplog.records)
    assert 'route="/boom",status="500"' in metrics


def test_index_saver_saves_only_when_the_index_moved(lore: Lore, api_settings: Settings) -> None:
    saver = IndexSaver(lore.index_sync, interval=3600)
    saver.save_if_changed()
    assert not saver.save_if_changed()
    lore.add_text(title="Saved", text="The saver persists this.")
    assert lore.index.applied_seq > manifest_seq(api_settings)
    assert saver.save_if_changed()
    assert manifest_seq(api_settings) == lore.index.applied_seq


def test_index_saver_thread_ticks(lore: Lore, api_settings: Settings) -> None:
    saver = IndexSaver(lore.index_sync, interval=0.05)
    lore.add_text(title="Ticked", text="Saved by the background thread.")
    saver.start()
    try:
        wait_for(lambda: saved_seq(api_settings) >= lore.index.applied_seq, "the saver thread to save")
    finally:
        saver.stop()
    assert manifest_seq(api_settings) == lore.index.applied_seq


def test_readyz_is_503_when_the_store_fails(tmp_path: Path, model_cache: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, model_cache_dir=model_cache)
    broken = Lore.open(settings)
    try:
        with LiveServer(create_app(lore=broken)) as live:
            assert httpx.get(f"{live.url}/readyz").status_code == 200
            broken.store.close()
            for suffix in ("-wal", "-shm"):
                Path(f"{settings.storage.data_dir / 'lore.db'}{suffix}").unlink(missing_ok=True)
            (settings.storage.data_dir / "lore.db").write_bytes(b"this is not a database" * 100)
            error = assert_error(httpx.get(f"{live.url}/readyz"), 503, "not_ready")
            assert error["details"]["store"]["status"] == "failing" and error["details"]["store"]["reason"]
            assert httpx.get(f"{live.url}/healthz").status_code == 200
    finally:
        broken.store.close()
