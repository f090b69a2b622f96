"""Allowed hosts: DNS rebinding gets nowhere, because the Host header a browser sends names the attacker's domain."""

from __future__ import annotations

import socket

import httpx
import pytest

from lore.api.hardening.hosts import HostPolicy, host_name
from lore.config import Settings
from tests.api.conftest import assert_error


def policy(**values: object) -> HostPolicy:
    return HostPolicy.of(Settings(_env_file=None, **values))


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost:8000", "localhost"),
        ("LOCALHOST", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]:8000", "[::1]"),
        ("[::1]", "[::1]"),
        ("lore.example.com.", "lore.example.com"),
        (None, None),
        ("", None),
        ("::1", None),
        ("[::1", None),
        ("[::1]x", None),
        ("evil.example/path", None),
        ("user@localhost", None),
        ("a b", None),
    ],
)
def test_the_host_of_a_host_header(header: str | None, host: str | None) -> None:
    assert host_name(header) == host


def test_by_default_only_loopback_names_and_the_bound_address_are_answered() -> None:
    default = policy()
    assert all(default.allows(name) for name in ("localhost", "127.0.0.1", "[::1]"))
    assert not default.allows("evil.example") and not default.allows("lore.example.com")
    assert policy(host="10.1.2.3").allows("10.1.2.3")
    assert policy(host="::1").allows("[::1]") and policy(host="fd00::5").allows("[fd00::5]")
    for wildcard in ("0.0.0.0", "::"):
        assert policy(host=wildcard).names == default.names  # a wildcard names no host clients could use


def test_configured_hosts_subdomains_and_any() -> None:
    configured = policy(host="0.0.0.0", allowed_hosts="Lore.Example.com, *.corp.example")
    assert configured.allows("lore.example.com") and configured.allows("localhost")
    assert configured.allows("search.corp.example") and configured.allows("a.b.corp.example")
    assert not configured.allows("corp.example") and not configured.allows("evilcorp.example")
    assert policy(allowed_hosts="*").allows("anything.example")


@pytest.mark.parametrize(
    "value", ["https://lore.example.com", "lore.example.com:443", "lore/x", "::1", "a..b"]
)
def test_a_host_setting_that_is_no_host_name_is_refused_at_start_up(value: str) -> None:
    with pytest.raises(ValueError, match="allowed_hosts"):
        Settings(_env_file=None, allowed_hosts=value)


@pytest.mark.parametrize(
    "host", ["rebind.evil.example", "rebind.evil.example:8000", "127.0.0.1.nip.example", "example.com"]
)
def test_a_rebinding_page_reads_nothing(client: httpx.Client, host: str) -> None:
    """The page's domain resolves to the server, so it connects to it; its Host header still names the domain."""
    for path in ("/v1/documents", "/v1/admin/backups", "/openapi.json", "/docs", "/healthz"):
        error = assert_error(client.get(path, headers={"Host": host}), 400, "invalid_host")
        assert error["details"] == {"host": host}
        assert "LORE_ALLOWED_HOSTS" in error["message"]


def test_a_rebinding_page_cannot_download_a_backup(client: httpx.Client) -> None:
    name = client.post("/v1/admin/backups").json()["name"]
    assert client.get(f"/v1/admin/backups/{name}").status_code == 200  # as 127.0.0.1: the real client
    refused = client.get(f"/v1/admin/backups/{name}", headers={"Host": "rebind.evil.example:8000"})
    assert_error(refused, 400, "invalid_host")
    assert b"ustar" not in refused.content
    created = client.post("/v1/admin/backups", headers={"Host": "rebind.evil.example"})
    assert_error(created, 400, "invalid_host")


@pytest.mark.parametrize(
    "host", ["lore.example.com", "LORE.EXAMPLE.COM:443", "api.corp.example", "localhost:1"]
)
def test_configured_and_loopback_hosts_are_served(client: httpx.Client, host: str) -> None:
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_a_request_without_a_host_is_refused(client: httpx.Client) -> None:
    """HTTP/1.0 allows leaving Host out; nothing then says which site the client meant."""
    with socket.create_connection(("127.0.0.1", client.base_url.port or 80)) as raw:
        raw.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and b'"invalid_host"' in answer
