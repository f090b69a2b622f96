"""Security headers on every answer (successes, errors of every kind, streams, files and the docs pages), and no
`server` header announcing what serves Lore."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator

import httpx
import pytest

from lore.api.hardening.headers import API_POLICY, script_hashes
from lore.api.permissions import PUBLIC, ROUTE_SCOPES
from tests.api.conftest import LiveServer, assert_error
from tests.api.hardening.conftest import EVIL_ORIGIN

EVERYWHERE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}


def assert_secured(response: httpx.Response, *, stored: bool = True) -> None:
    for name, value in EVERYWHERE.items():
        assert response.headers.get(name) == value, (name, response.status_code, response.headers)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers
    assert "strict-transport-security" not in response.headers  # plain HTTP: a TLS test checks it
    if not stored:
        assert response.headers["cache-control"] == "no-store"


def test_successes_carry_the_headers(anonymous: httpx.Client, client: httpx.Client) -> None:
    health = anonymous.get("/healthz")
    assert_secured(health)
    assert health.headers["content-security-policy"] == API_POLICY.decode()
    assert "cache-control" not in health.headers  # no data, no credentials: caching is harmless
    search = client.post("/v1/search", json={"query": "anything"})
    assert search.status_code == 200
    assert_secured(search, stored=False)
    assert search.headers["content-security-policy"] == API_POLICY.decode()
    assert_secured(anonymous.get("/openapi.json"))


def test_a_request_with_credentials_is_never_stored(anonymous: httpx.Client) -> None:
    response = anonymous.get("/healthz", headers={"Authorization": "Bearer anything"})
    assert_secured(response, stored=False)


def test_a_backup_download_is_never_stored(client: httpx.Client) -> None:
    name = client.post("/v1/admin/backups").json()["name"]
    download = client.get(f"/v1/admin/backups/{name}")
    assert download.status_code == 200 and download.headers["content-type"] == "application/x-tar"
    assert_secured(download, stored=False)
    assert download.headers["content-security-policy"] == API_POLICY.decode()


def test_a_stream_is_never_stored_and_still_unbuffered(client: httpx.Client) -> None:
    body = {"model": "lore", "messages": [{"role": "user", "content": "What is Lore?"}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=body) as streamed:
        assert streamed.status_code == 200
        assert streamed.headers["content-type"].startswith("text/event-stream")
        assert b"[DONE]" in streamed.read()
    assert_secured(streamed, stored=False)
    assert streamed.headers["x-accel-buffering"] == "no"


@pytest.fixture(scope="module")
def boom(server: LiveServer) -> Iterator[str]:
    """A public route that fails the way a bug does, added to the running app."""
    path = "/test-hardening-boom"

    @server.app.get(path, include_in_schema=False)
    def fail() -> None:
        raise RuntimeError("a bug")

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(ROUTE_SCOPES, f"GET {path}", PUBLIC)
        yield path


def test_errors_of_every_kind_carry_the_headers(client: httpx.Client, boom: str) -> None:
    errors = [
        (client.get("/v1/nowhere"), 404, "not_found"),
        (client.put("/healthz"), 405, "method_not_allowed"),
        (client.post("/v1/search", json={"query": 1}), 422, "invalid_request"),
        (client.post("/v1/search", content=b"x" * (64 * 1024 + 1), headers=JSON), 413, "payload_too_large"),
        (
            client.post("/v1/search", content=b"{}", headers={"content-type": "text/plain"}),
            415,
            "unsupported_media_type",
        ),
        (client.get("/healthz", headers={"Host": "evil.example"}), 400, "invalid_host"),
        (client.post("/v1/conversations", headers={"Origin": EVIL_ORIGIN}), 403, "cross_origin"),
        (client.post("/v1/search", content=b"[" * 100, headers=JSON), 400, "json_too_deep"),
        (client.get(boom), 500, "internal_error"),
    ]
    for response, status, code in errors:
        assert_error(response, status, code)
        assert_secured(response)
        assert response.headers["content-security-policy"] == API_POLICY.decode()


JSON = {"content-type": "application/json"}


def directives(policy: str) -> dict[str, list[str]]:
    parts = (directive.split() for directive in policy.split(";") if directive.strip())
    return {name: sources for name, *sources in parts}


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_docs_pages_get_a_policy_that_lets_exactly_their_own_scripts_run(
    client: httpx.Client, path: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert_secured(page)
    policy = directives(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    inline = re.findall(r"<script(?![^>]*src=)[^>]*>(.*?)</script>", page.text, re.DOTALL)
    assert inline or path == "/redoc"  # Swagger UI starts from an inline script; ReDoc from its bundle
    for script in inline:  # each inline script runs: the browser finds its hash in the policy
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert len(policy["script-src"]) == 1 + len(inline)  # 'self', and nothing but these scripts
    for asset in re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text):
        assert asset.startswith("/") and not asset.startswith("//")  # 'self' covers it
        assert client.get(asset).status_code == 200
    assert policy["connect-src"] == ["'self'"]  # the spec, /openapi.json, is fetched from here


def test_docs_still_render_their_swagger_ui(client: httpx.Client) -> None:
    page = client.get("/docs").text
    assert "SwaggerUIBundle" in page and "/openapi.json" in page
    assert "openapi" in client.get("/openapi.json").json()


def test_script_hashes_name_every_inline_script_and_nothing_else() -> None:
    page = b'<script src="/a.js"> </script><script>one()</script><p>x</p><SCRIPT type="module">\ntwo()\n</SCRIPT>'
    expected = [base64.b64encode(hashlib.sha256(s).digest()).decode() for s in (b"one()", b"\ntwo()\n")]
    assert script_hashes(page) == "".join(f" 'sha256-{digest}'" for digest in expected)
    assert script_hashes(b"<p>no scripts</p>") == ""
