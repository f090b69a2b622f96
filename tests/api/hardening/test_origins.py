"""Browser origins: the prober's cross-origin writes are refused whatever their content type, the server's own
pages and allowed origins keep working, and CORS answers allowed origins only."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers

from lore.api.hardening.origins import foreign_origin, own_origin
from lore.config import Settings
from lore.models import DEFAULT_COLLECTION
from lore.security.scopes import Scope
from tests.api.conftest import LiveServer, assert_error
from tests.api.hardening.conftest import APP_ORIGIN, EVIL_ORIGIN
from tests.keys import bearer, mint_key

FORM = {"content-type": "application/x-www-form-urlencoded"}
TEXT = {"content-type": "text/plain"}


@dataclass(frozen=True)
class Write:
    """A state-changing request as a page elsewhere could send it."""

    method: str
    path: str
    options: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
        return client.request(self.method, self.path, headers={**self.headers, **headers}, **self.options)


# The prober's cases first: each needs no CORS preflight, so a browser sends it from any page.
WRITES = [
    Write("POST", "/v1/documents", {"files": {"file": ("x.txt", b"attacker text", "text/plain")}}),
    Write("POST", "/v1/admin/backups", {"content": b"a=1"}, FORM),
    Write("POST", "/v1/admin/backups", {}, FORM),
    Write("POST", "/v1/conversations", {}, TEXT),
    Write("POST", "/v1/conversations", {"content": b'{"title": "x"}'}, TEXT),
    Write("POST", "/v1/search", {"content": b'{"query": "x"}'}, TEXT),
    Write("POST", "/v1/ingest", {"json": {"documents": [{"title": "t", "text": "attacker"}]}}),
    Write("POST", "/v1/documents", {"json": {"title": "t", "text": "attacker"}}),
    Write("DELETE", "/v1/documents/some-id"),
    Write("PATCH", "/v1/conversations/some-id", {"json": {"title": "x"}}),
    Write("PUT", "/v1/documents/some-id", {"json": {}}),
]
WRITE_IDS = [f"{write.method} {write.path} {write.headers.get('content-type', '')}" for write in WRITES]


def stored(client: httpx.Client, settings: Settings) -> list[int]:
    """Documents, backups and conversations: what a refused write leaves as it was."""
    pages = ("/v1/documents", "/v1/admin/backups")
    listed = [len(client.get(path, params={"limit": 200}).json()["items"]) for path in pages]
    with closing(sqlite3.connect(settings.storage.data_dir / "lore.db")) as db:
        return [*listed, db.execute("SELECT count(*) FROM conversations").fetchone()[0]]


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL_ORIGIN},
        {"Origin": EVIL_ORIGIN, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},  # no Origin, but the browser says where it comes from
        {"Origin": "null"},  # a sandboxed frame or a file: page
        {"Origin": "https://app.example.evil"},
        {"Origin": "http://app.example"},  # the allowed host over another scheme is another origin
        {"Origin": "https://sub.corp.example", "Sec-Fetch-Site": "same-site"},
    ],
    ids=["origin", "origin+fetch-site", "fetch-site", "null", "suffix", "scheme", "same-site"],
)
def test_a_page_elsewhere_changes_nothing(
    client: httpx.Client, hardened_settings: Settings, write: Write, headers: dict[str, str]
) -> None:
    before = stored(client, hardened_settings)
    error = assert_error(write.send(client, headers), 403, "cross_origin")
    assert "LORE_CORS_ORIGINS" in error["message"]
    assert "access-control-allow-origin" not in write.send(client, headers).headers
    assert stored(client, hardened_settings) == before


def test_clients_that_are_no_browsers_still_write(client: httpx.Client) -> None:
    """curl and SDKs send no Origin: nothing about them is cross-origin."""
    assert client.post("/v1/conversations").status_code == 201
    assert client.post("/v1/documents", json={"title": "Plain", "text": "From a script."}).status_code == 201


def test_the_servers_own_pages_write(server: LiveServer, client: httpx.Client) -> None:
    """/docs "Try it out" posts from the server's own origin; behind a TLS proxy the browser still says
    `Sec-Fetch-Site: same-origin` although the scheme it saw is not the one the server sees."""
    own = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    assert client.post("/v1/conversations", headers=own).status_code == 201
    assert client.post("/v1/conversations", headers={"Origin": server.url}).status_code == 201
    proxied = {
        "Origin": "https://lore.example.com",
        "Host": "lore.example.com",
        "Sec-Fetch-Site": "same-origin",
    }
    assert client.post("/v1/conversations", headers=proxied).status_code == 201
    typed = {"Sec-Fetch-Site": "none"}  # the user typed or bookmarked it
    assert client.post("/v1/conversations", headers=typed).status_code == 201


def test_an_allowed_origin_writes_and_reads_with_cors(client: httpx.Client) -> None:
    created = client.post("/v1/conversations", json={"title": "From the app"}, headers={"Origin": APP_ORIGIN})
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "Origin" in created.headers["vary"]
    assert "Location" in created.headers["access-control-expose-headers"]
    assert "access-control-allow-credentials" not in created.headers
    read = client.get("/v1/documents", headers={"Origin": APP_ORIGIN})
    assert read.status_code == 200 and read.headers["access-control-allow-origin"] == APP_ORIGIN


def test_a_page_elsewhere_may_read_but_gets_no_cors_headers(client: httpx.Client) -> None:
    """Without them the browser keeps the answer from the page; the request itself changed nothing."""
    response = client.get("/v1/documents", headers={"Origin": EVIL_ORIGIN, "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200
    assert not any(name.startswith("access-control-") for name in response.headers)


def preflight(
    client: httpx.Client,
    origin: str,
    method: str = "POST",
    asks_for: str = "authorization, content-type",
    path: str = "/v1/search",
) -> httpx.Response:
    """What a browser sends first, without credentials, to ask whether a page may send such a request."""
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": asks_for,
        "Sec-Fetch-Site": "cross-site",
    }
    return client.options(path, headers=headers)


def test_a_preflight_from_an_allowed_origin_is_answered(client: httpx.Client) -> None:
    answer = preflight(client, APP_ORIGIN, "DELETE")
    assert answer.status_code == 204 and answer.content == b""
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "DELETE" in answer.headers["access-control-allow-methods"]
    allowed = {name.strip().lower() for name in answer.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert int(answer.headers["access-control-max-age"]) > 0
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_preflight_from_elsewhere_is_refused_unless_a_token_will_decide(anonymous: httpx.Client) -> None:
    answer = preflight(anonymous, EVIL_ORIGIN, asks_for="content-type")
    assert_error(answer, 403, "cross_origin")
    assert "access-control-allow-origin" not in answer.headers
    # A request that will carry a bearer token is judged by it (only publishable keys pass from elsewhere).
    assert preflight(anonymous, EVIL_ORIGIN).status_code == 204


def test_an_origin_setting_is_normalised_as_browsers_send_origins() -> None:
    settings = Settings(_env_file=None, cors_origins="HTTPS://App.Example:443/, http://localhost:3000")
    assert settings.http.cors_origins == ["https://app.example", "http://localhost:3000"]
    for wrong in ("*", "app.example", "https://app.example/path", "ftp://app.example"):
        with pytest.raises(ValueError, match="cors_origins"):
            Settings(_env_file=None, cors_origins=wrong)


@pytest.mark.parametrize(
    ("scheme", "host", "origin"),
    [
        ("http", "127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http", "localhost:80", "http://localhost"),
        ("https", "lore.example.com:443", "https://lore.example.com"),
        ("https", "Lore.Example.com", "https://lore.example.com"),
        ("http", "[::1]:8000", "http://[::1]:8000"),
        ("http", "[::1]", "http://[::1]"),
    ],
)
def test_the_own_origin_of_a_request(scheme: str, host: str, origin: str) -> None:
    assert own_origin(scheme, host) == origin


def test_which_requests_come_from_elsewhere() -> None:
    def seen(**headers: str) -> str | None:
        raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
        scope = {"type": "http", "scheme": "http", "headers": [(b"host", b"127.0.0.1:8000"), *raw]}
        return foreign_origin(scope, Headers(scope=scope))

    assert seen() is None
    assert seen(origin="http://127.0.0.1:8000") is None
    assert seen(origin="HTTPS://Evil.Example") == "https://evil.example"
    assert seen(origin="https://evil.example", sec_fetch_site="same-origin") is None
    assert seen(sec_fetch_site="cross-site") == "null"
    assert seen(sec_fetch_site="same-origin") is None


@pytest.fixture(scope="module")
def help_key(server: LiveServer) -> str:
    """A publishable key for the help centre at https://help.example, as an admin would embed in its pages."""
    scopes = frozenset({Scope.SEARCH, Scope.ASK})
    spec = {"kind": "publishable", "collections": frozenset({DEFAULT_COLLECTION})}
    return mint_key(server.lore.store, scopes=scopes, allowed_origins=("https://help.example",), **spec)


def test_a_publishable_key_works_from_its_own_origins_only(anonymous: httpx.Client, help_key: str) -> None:
    help_page = {"Origin": "https://help.example", "Sec-Fetch-Site": "cross-site", **bearer(help_key)}
    assert preflight(anonymous, "https://help.example").status_code == 204
    searched = anonymous.post("/v1/search", json={"query": "help"}, headers=help_page)
    assert (
        searched.status_code == 200
        and searched.headers["access-control-allow-origin"] == "https://help.example"
    )
    asked = anonymous.post("/v1/conversations", json={}, headers=help_page)
    assert asked.status_code == 201 and asked.headers["access-control-allow-origin"] == "https://help.example"
    elsewhere = {**help_page, "Origin": EVIL_ORIGIN}
    for refused in (
        anonymous.post("/v1/conversations", headers=elsewhere),
        anonymous.get("/v1/models", headers=elsewhere),
    ):
        assert "origin" in assert_error(refused, 403, "forbidden")["message"]  # the key's own refusal
        assert "access-control-allow-origin" not in refused.headers
    forged = {**help_page, "Authorization": f"Bearer {help_key[:-4]}AAAA"}
    assert_error(anonymous.post("/v1/conversations", headers=forged), 401, "unauthenticated")


def test_a_secret_key_in_a_page_elsewhere_changes_nothing(
    client: httpx.Client, hardened_settings: Settings
) -> None:
    """Secret keys are for servers: a page of an origin LORE_CORS_ORIGINS does not list cannot write with one."""
    before = stored(client, hardened_settings)
    page = {"Origin": "https://help.example", "Sec-Fetch-Site": "cross-site"}
    assert_error(client.post("/v1/conversations", headers=page), 403, "cross_origin")
    assert_error(client.post("/v1/search", json={"query": "x"}, headers=page), 403, "cross_origin")
    assert stored(client, hardened_settings) == before


WIDGET_HEADERS = "authorization, content-type, x-lore-end-user"  # what the help widget sends (docs/widget.md)


@pytest.mark.parametrize(
    ("method", "path", "methods"),
    [
        ("POST", "/v1/search", "POST"),
        ("POST", "/v1/conversations", "POST, GET"),
        ("POST", "/v1/conversations/c1/messages", "GET, POST"),
        ("POST", "/v1/conversations/c1/messages/7/feedback", "POST"),
        ("POST", "/v1/events", "POST"),
    ],
)
def test_a_preflight_from_elsewhere_is_answered_for_what_a_publishable_key_may_call(
    anonymous: httpx.Client, method: str, path: str, methods: str
) -> None:
    answer = preflight(anonymous, "https://help.example", method, WIDGET_HEADERS, path)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "https://help.example"
    assert answer.headers["access-control-allow-methods"] == methods
    allowed = {name.strip().lower() for name in answer.headers["access-control-allow-headers"].split(",")}
    assert set(WIDGET_HEADERS.split(", ")) <= allowed
    assert "access-control-allow-credentials" not in answer.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/documents"),  # a route no publishable key may call
        ("GET", "/v1/keys"),
        ("DELETE", "/v1/admin/backups/b1"),
        ("PUT", "/v1/conversations/c1"),  # a path a publishable key may call, not with this method
        ("POST", "/search"),  # the web UI's pages take sessions, not keys
        ("GET", "/v1/search/elsewhere"),  # no such route
    ],
)
def test_a_preflight_from_elsewhere_is_refused_for_what_no_publishable_key_may_call(
    anonymous: httpx.Client, method: str, path: str
) -> None:
    answer = preflight(anonymous, "https://help.example", method, WIDGET_HEADERS, path)
    assert_error(answer, 403, "cross_origin")
    assert "access-control-allow-origin" not in answer.headers


def test_an_allowed_origin_may_still_ask_for_any_route(anonymous: httpx.Client) -> None:
    answer = preflight(anonymous, APP_ORIGIN, "POST", WIDGET_HEADERS, "/v1/documents")
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-methods"] == "GET, POST, PUT, PATCH, DELETE"


def test_a_publishable_key_gets_no_cors_where_it_may_not_call(anonymous: httpx.Client, help_key: str) -> None:
    """Its own origin or not, a page cannot read or write with it beyond search, ask and events."""
    page = {"Origin": "https://help.example", "Sec-Fetch-Site": "cross-site", **bearer(help_key)}
    written = anonymous.post("/v1/documents", json={"title": "t", "text": "x"}, headers=page)
    assert_error(written, 403, "cross_origin")
    read = anonymous.get("/v1/documents", headers=page)
    assert not any(name.startswith("access-control-") for name in read.headers)


def test_an_answer_streams_to_the_keys_page_with_its_end_user(
    anonymous: httpx.Client, client: httpx.Client, help_key: str
) -> None:
    """The help widget's question: a conversation of the page's visitor, its answer an event stream the page
    may read."""
    page = {
        "Origin": "https://help.example",
        "Sec-Fetch-Site": "cross-site",
        "X-Lore-End-User": "visitor-1",
        **bearer(help_key),
    }
    created = anonymous.post("/v1/conversations", json={}, headers=page)
    assert created.status_code == 201 and created.json()["end_user"] == "visitor-1"
    path = f"/v1/conversations/{created.json()['id']}/messages"
    with anonymous.stream("POST", path, json={"content": "help?", "stream": True}, headers=page) as answer:
        assert answer.status_code == 201
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["access-control-allow-origin"] == "https://help.example"
        assert "event: message" in answer.read().decode()


@pytest.mark.parametrize(("path", "kind"), [("/widget.js", "text/javascript"), ("/widget.css", "text/css")])
def test_the_widget_files_may_be_loaded_by_pages_elsewhere(
    anonymous: httpx.Client, path: str, kind: str
) -> None:
    """A `<script>` or `<link>` of another origin loads them (no CORS needed); every other answer stays
    same-origin only."""
    loaded = anonymous.get(path, headers={"Origin": EVIL_ORIGIN, "Sec-Fetch-Site": "cross-site"})
    assert loaded.status_code == 200 and loaded.headers["content-type"].startswith(kind)
    assert loaded.headers["cross-origin-resource-policy"] == "cross-origin"
    assert loaded.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in loaded.headers["cache-control"]
    assert anonymous.get("/static/lore.css").headers["cross-origin-resource-policy"] == "same-origin"
