"""`lore serve` builds what `uvicorn lore.api.app:create_app --factory` builds: the same Settings, read once from
the environment and never written back, with the command's options carried to every worker process."""

from __future__ import annotations

import os
import pickle
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import uvicorn
import uvicorn.supervisors
from typer.testing import CliRunner

from lore.api.app import create_app
from lore.cli.main import app as cli
from lore.config import Settings


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_cache: Path) -> Path:
    """Only the variables set here, in a working directory without a `.env`; the data dir they name."""
    for name in [name for name in os.environ if name.startswith("LORE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LORE_MODEL_CACHE_DIR", str(model_cache))
    return tmp_path / "data"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[uvicorn.Config]:
    """What `lore serve` hands uvicorn, for one worker or several, kept instead of served."""
    configs: list[uvicorn.Config] = []

    def one_worker(server: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        configs.append(server.config)
        server.started = True

    class Workers:
        def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
            configs.append(config)
            for sock in sockets:
                sock.close()

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn.Server, "run", one_worker)
    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Workers)
    return configs


def served_settings(config: uvicorn.Config) -> Settings:
    """The settings a worker process serves with: its config arrives pickled, then builds the app."""
    worker_config = pickle.loads(pickle.dumps(config))
    app = worker_config.app()
    return app.state.settings


def test_lore_serve_and_the_uvicorn_factory_build_the_same_settings(
    environment: Path, captured: list[uvicorn.Config]
) -> None:
    factory = create_app().state.settings  # `uvicorn lore.api.app:create_app --factory`
    before = dict(os.environ)

    result = CliRunner().invoke(cli, ["serve"])

    assert result.exit_code == 0, result.output
    (config,) = captured
    assert served_settings(config) == factory
    assert (factory.storage.data_dir, factory.index.keyword_index) == (environment, "memory")
    assert dict(os.environ) == before


def test_the_options_of_lore_serve_reach_every_worker_without_the_environment(
    environment: Path, captured: list[uvicorn.Config], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LORE_DATA_DIR")
    monkeypatch.setenv("LORE_KEYWORD_INDEX", "store")  # set: the serving default does not override it
    before = dict(os.environ)
    other = tmp_path / "other"

    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(other), "--port", "0", "--workers", "2"])

    assert result.exit_code == 0, result.output
    (config,) = captured
    assert config.workers == 2
    settings = served_settings(config)
    assert settings == Settings.for_server(data_dir=other, port=0)
    assert (settings.storage.data_dir, settings.serving.port, settings.index.keyword_index) == (
        other,
        0,
        "store",
    )
    assert dict(os.environ) == before
    assert (other / "lore.db").exists()  # migrated before the workers start


def test_lore_serve_hands_tls_to_uvicorn_and_names_no_server(
    environment: Path, captured: list[uvicorn.Config], tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("certificate")
    key.write_text("key")

    result = CliRunner().invoke(cli, ["serve", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)])

    assert result.exit_code == 0, result.output
    (config,) = captured
    assert (config.ssl_certfile, config.ssl_keyfile, config.server_header) == (cert, key, False)
    assert served_settings(config).http.ssl_certfile == cert
    assert "Lore on https://127.0.0.1:8000" in result.output


def test_lore_serve_refuses_a_missing_tls_file_or_half_a_pair(
    environment: Path, captured: list[uvicorn.Config], tmp_path: Path
) -> None:
    missing = CliRunner().invoke(
        cli, ["serve", "--ssl-certfile", str(tmp_path / "no.pem"), "--ssl-keyfile", str(tmp_path / "no.key")]
    )
    assert missing.exit_code == 2 and "TLS file not found" in missing.output
    half = CliRunner().invoke(cli, ["serve", "--ssl-certfile", str(tmp_path / "no.pem")])
    assert half.exit_code != 0 and "ssl_certfile and ssl_keyfile go together" in str(half.exception)
    assert captured == []


def test_lore_serve_on_every_interface_says_how_to_allow_hosts(
    environment: Path, captured: list[uvicorn.Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    warned = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert warned.exit_code == 0 and "LORE_ALLOWED_HOSTS" in warned.output
    monkeypatch.setenv("LORE_ALLOWED_HOSTS", "lore.example.com")
    configured = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert configured.exit_code == 0 and "LORE_ALLOWED_HOSTS" not in configured.output
    assert served_settings(captured[-1]).http.allowed_hosts == ["lore.example.com"]


def test_lore_serve_prints_its_address_once_the_port_is_bound(
    environment: Path, captured: list[uvicorn.Config]
) -> None:
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])

    assert result.exit_code == 0, result.output
    (config,) = captured
    assert config.timeout_graceful_shutdown == Settings().serving.graceful_shutdown_seconds
    printed = re.search(r"Lore on http://127\.0\.0\.1:(\d+)", result.output)
    assert printed and int(printed.group(1)) > 0  # the port the socket got, not the 0 asked for


def test_lore_serve_on_a_busy_port_fails_without_printing_an_address(environment: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "lore", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 2
    assert "Lore on" not in result.stdout + result.stderr
    assert f"error [conflict]: cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "--port or LORE_PORT" in result.stderr and "Traceback" not in result.stderr


def test_lore_serve_demo_shows_its_progress_then_its_address(
    environment: Path, captured: list[uvicorn.Config]
) -> None:
    result = CliRunner().invoke(cli, ["serve", "--demo", "--port", "0"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    progress = [n for n, line in enumerate(lines) if line.startswith("loading the demo:")]
    assert lines[progress[0]].startswith("loading the demo:   0%")
    assert re.match(r"loading the demo: 100% (\d+)/\1 articles", lines[progress[-1]])
    address = next(n for n, line in enumerate(lines) if line.startswith("Lore on http://127.0.0.1:"))
    assert progress[-1] < address  # the address comes once the server is about to answer
    assert "demo API key in" in result.output
    assert (environment / "demo-key").exists() and (environment / "cli-key").exists()
    assert not (environment / "server.json").exists()  # written for the server's life, removed after it
