"""`lore serve --ssl-certfile/--ssl-keyfile` serves HTTPS, with a certificate the test makes for 127.0.0.1, and
says so with HSTS; a plain-HTTP client gets nothing from the TLS port."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lore.config import Settings
from tests.api.conftest import assert_error
from tests.keys import bearer, operator_key
from tests.served import free_port
from tests.waiting import wait_for


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A P-256 key and a certificate for 127.0.0.1 valid for a day, which is its own issuer."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lore test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


@pytest.fixture(scope="module")
def tls_server(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> Iterator[tuple[str, ssl.SSLContext, str]]:
    """A real `lore serve` subprocess over TLS: its base URL, a context that trusts its certificate, and the
    operator's key."""
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = self_signed(folder)
    port = free_port()
    token = operator_key(Settings(_env_file=None, data_dir=folder / "data", model_cache_dir=model_cache))
    env = {name: value for name, value in os.environ.items() if not name.startswith("LORE_")} | {
        "LORE_MODEL_CACHE_DIR": str(model_cache),
        "LORE_EMBED_THREADS": "1",
        "LORE_PARSE_WORKERS": "1",
    }
    command = [sys.executable, "-m", "lore", "serve", "--data-dir", str(folder / "data"), "--port", str(port)]
    command += ["--ssl-certfile", str(cert_file), "--ssl-keyfile", str(key_file)]
    trusted = ssl.create_default_context(cafile=str(cert_file))
    url = f"https://127.0.0.1:{port}"
    with subprocess.Popen(command, env=env, cwd=folder, stderr=subprocess.PIPE) as process:

        def up() -> bool:
            assert process.poll() is None, "lore serve exited before it came up"
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(f"{url}/healthz", verify=trusted).status_code == 200
            return False

        try:
            wait_for(up, "lore serve to come up over TLS", poll=0.1)
            yield url, trusted, token
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
            sys.stderr.write(stderr.decode())
    assert f"Lore on {url}".encode() in stderr


def test_lore_serve_speaks_https_with_hsts(tls_server: tuple[str, ssl.SSLContext, str]) -> None:
    url, trusted, token = tls_server
    with httpx.Client(base_url=url, verify=trusted, timeout=60, headers=bearer(token)) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.http_version == "HTTP/1.1"
        assert health.headers["strict-transport-security"] == "max-age=31536000"
        assert health.headers["x-content-type-options"] == "nosniff"
        assert "server" not in health.headers
        created = client.post("/v1/documents", json={"title": "Over TLS", "text": "Encrypted in transit."})
        assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
        assert "strict-transport-security" in created.headers
        own = client.post("/v1/conversations", headers={"Origin": url})  # the server's own https origin
        assert own.status_code == 201
        refused = client.post("/v1/conversations", headers={"Origin": "https://evil.example"})
        assert_error(refused, 403, "cross_origin")
        assert "strict-transport-security" in refused.headers
        rebound = client.get("/healthz", headers={"Host": "rebind.evil.example"})  # the default hosts
        assert_error(rebound, 400, "invalid_host")


def test_the_certificate_is_checked_and_plain_http_gets_nothing(
    tls_server: tuple[str, ssl.SSLContext, str],
) -> None:
    url, _, _ = tls_server
    with pytest.raises(httpx.ConnectError):  # an unknown issuer: not trusted by default
        httpx.get(f"{url}/healthz")
    with pytest.raises(httpx.TransportError):
        httpx.get(url.replace("https://", "http://") + "/healthz", timeout=10)
