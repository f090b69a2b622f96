"""Every malformed or impossible request gets the one error shape, the right status and a stable code;
none reaches a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import JSON_LIMIT, UPLOAD_LIMIT, assert_error, upload

JSON = {"content-type": "application/json"}


def chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    """A body without Content-Length: httpx sends it with chunked transfer encoding."""
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


def multipart(size: int) -> tuple[bytes, str]:
    """A multipart body holding a file of `size` bytes, and its content type."""
    request = httpx.Request("POST", "http://x/", files={"file": ("big.txt", b"a" * size, "text/plain")})
    return request.read(), request.headers["content-type"]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ('{"query": "password",', 400, "invalid_json", None),
        ("", 422, "invalid_request", None),
        ('["password"]', 422, "invalid_request", None),
        ('{"query": 5}', 422, "invalid_request", ["body", "query"]),
        ('{"query": "x", "k": "ten"}', 422, "invalid_request", ["body", "k"]),
        ('{"query": "x", "k": 1.5}', 422, "invalid_request", ["body", "k"]),
        ('{"query": "x", "bogus": 1}', 422, "invalid_request", ["body", "bogus"]),
        ('{"query": "x", "mode": "fuzzy"}', 422, "invalid_request", ["body", "mode"]),
        ('{"k": 3}', 422, "invalid_request", ["body", "query"]),
        ('{"query": "' + "x" * 1001 + '"}', 422, "invalid_request", ["body", "query"]),
        ('{"query": "\\ud800"}', 422, "invalid_request", ["body", "query"]),
        (
            '{"query": "x", "filters": {"tags": "billing"}}',
            422,
            "invalid_request",
            ["body", "filters", "tags"],
        ),
        (
            '{"query": "x", "filters": {"colour": "red"}}',
            422,
            "invalid_request",
            ["body", "filters", "colour"],
        ),
        ('{"query": "x", "filters": {"metadata": {"a": {"b": 1}}}}', 422, "invalid_request", None),
        ('{"query": "x", "filters": {"metadata": {"a": NaN}}}', 422, "invalid_request", None),
        ('{"query": "x", "filters": {"metadata": {"a": 1e999}}}', 422, "invalid_request", None),
        ('{"query": "x", "collection": []}', 422, "invalid_request", None),
        ('{"query": "x", "k": 0}', 422, "invalid_input", None),
        ('{"query": "x", "k": -1}', 422, "invalid_input", None),
        ('{"query": "x", "k": 201}', 422, "invalid_input", None),
        ('{"query": "x", "k": 100000000000000000000000}', 422, "invalid_input", None),
        ('{"query": ""}', 422, "invalid_input", None),
        ('{"query": "   "}', 422, "invalid_input", None),
        ('{"query": "x", "collection": "no spaces"}', 422, "invalid_input", None),
        ('{"query": "x", "collection": ["ok", "../etc"]}', 422, "invalid_input", None),
    ],
)
def test_bad_search_requests(
    client: httpx.Client, body: str, status: int, code: str, field: list[str] | None
) -> None:
    error = assert_error(client.post("/v1/search", content=body, headers=JSON), status, code)
    if field is not None:
        assert field in [entry["loc"] for entry in error["details"]["fields"]]


@pytest.mark.parametrize("path", ["/v1/search", "/v1/documents"])
@pytest.mark.parametrize(
    "body",
    [b"{", b'{"query": "caf\xe9"}', b"\xff\xfe\x00", b'{"query": "x"} trailing'],
    ids=["truncated", "latin-1", "binary", "trailing"],
)
def test_undecodable_json_bodies(client: httpx.Client, path: str, body: bytes) -> None:
    """(Absurdly deep JSON is refused before it is decoded: tests/api/test_hardening.py.)"""
    assert_error(client.post(path, content=body, headers=JSON), 400, "invalid_json")


def test_validation_details_list_every_field(client: httpx.Client) -> None:
    response = client.post("/v1/search", json={"query": 5, "k": "ten", "extra": True})
    error = assert_error(response, 422, "invalid_request")
    fields = error["details"]["fields"]
    assert {tuple(entry["loc"]) for entry in fields} == {("body", "query"), ("body", "k"), ("body", "extra")}
    assert all(set(entry) == {"loc", "message", "type"} for entry in fields)
    assert "and 2 more" in error["message"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{title", 400, "invalid_json"),
        ('{"title": "t"}', 422, "invalid_request"),
        ('{"title": "t", "text": ""}', 422, "invalid_request"),
        ('{"title": "t", "text": "x", "author": "me"}', 422, "invalid_request"),
        ('{"title": "' + "t" * 501 + '", "text": "x"}', 422, "invalid_request"),
        ('{"title": "t", "text": "x", "tags": [' + ",".join(['"t"'] * 51) + "]}", 422, "invalid_request"),
        ('{"title": "t", "text": "x", "tags": ["' + "t" * 65 + '"]}', 422, "invalid_request"),
        ('{"title": "t", "text": "x", "tags": [""]}', 422, "invalid_request"),
        ('{"title": "t", "text": "x", "metadata": {"a": [1]}}', 422, "invalid_request"),
        ('{"title": "t", "text": "x", "metadata": {"a": null}}', 422, "invalid_request"),
        ('{"title": "t", "text": "x", "metadata": "{}"}', 422, "invalid_request"),
        ('{"title": "t", "text": "\\udc00"}', 422, "invalid_request"),
        ('{"title": "t", "text": "x", "collection": "a/b"}', 422, "invalid_input"),
    ],
)
def test_bad_json_documents(client: httpx.Client, body: str, status: int, code: str) -> None:
    assert_error(client.post("/v1/documents", content=body, headers=JSON), status, code)


@pytest.mark.parametrize(
    ("headers", "code"),
    [({"content-type": "text/plain"}, "unsupported_media_type"), ({}, "unsupported_media_type")],
)
def test_documents_need_json_or_multipart(client: httpx.Client, headers: dict[str, str], code: str) -> None:
    assert_error(client.post("/v1/documents", content=b"hello", headers=headers), 415, code)


@pytest.mark.parametrize(
    ("fields", "files", "status", "code"),
    [
        ({"title": "no file"}, None, 422, "invalid_request"),
        ({"collection": "x"}, {"document": ("a.txt", b"hi", "text/plain")}, 422, "invalid_request"),
        ({"colour": "red"}, {"file": ("a.txt", b"hi", "text/plain")}, 422, "invalid_request"),
        ({"metadata": "{not json"}, {"file": ("a.txt", b"hi", "text/plain")}, 400, "invalid_json"),
        ({"metadata": "[1, 2]"}, {"file": ("a.txt", b"hi", "text/plain")}, 422, "invalid_request"),
        ({"metadata": '{"a": {"b": 1}}'}, {"file": ("a.txt", b"hi", "text/plain")}, 422, "invalid_request"),
        ({"tags": ["t" * 65]}, {"file": ("a.txt", b"hi", "text/plain")}, 422, "invalid_request"),
        (
            {"tags": [f"t{i}" for i in range(51)]},
            {"file": ("a.txt", b"hi", "text/plain")},
            422,
            "invalid_request",
        ),
        (
            {"tags": ",".join(f"t{i}" for i in range(51))},
            {"file": ("a.txt", b"hi", "text/plain")},
            422,
            "invalid_request",
        ),
        ({"collection": "bad name"}, {"file": ("a.txt", b"hi", "text/plain")}, 422, "invalid_input"),
    ],
)
def test_bad_uploads(
    client: httpx.Client, fields: dict[str, Any], files: dict[str, Any] | None, status: int, code: str
) -> None:
    response = client.post("/v1/documents", data=fields, files=files or {"_": ("", b"", "text/plain")})
    assert_error(response, status, code)


def test_two_files_are_refused(client: httpx.Client) -> None:
    files = [("file", ("a.txt", b"one", "text/plain")), ("file", ("b.txt", b"two", "text/plain"))]
    assert_error(client.post("/v1/documents", files=files), 400, "invalid_multipart")


def test_multipart_without_boundary(client: httpx.Client) -> None:
    response = client.post(
        "/v1/documents", content=b"--x\r\n", headers={"content-type": "multipart/form-data"}
    )
    assert_error(response, 400, "invalid_multipart")


def test_multipart_garbage(client: httpx.Client) -> None:
    headers = {"content-type": "multipart/form-data; boundary=xyz"}
    response = client.post("/v1/documents", content=b"\x00\xffnot multipart at all", headers=headers)
    assert_error(response, 400, "invalid_multipart")


def test_unsupported_and_corrupt_files(client: httpx.Client) -> None:
    assert_error(upload(client, "photo.jpeg", b"\xff\xd8\xff\xe0"), 415, "unsupported_format")
    error = assert_error(upload(client, "broken.pdf", b"%PDF-1.4\n%%EOF garbage"), 422, "corrupt_document")
    assert error["details"]["filename"] == "broken.pdf"


# -- body limits ---------------------------------------------------------------------------------------------


def test_json_body_over_the_limit_with_content_length(client: httpx.Client) -> None:
    response = client.post("/v1/search", content=b" " * (JSON_LIMIT + 1), headers=JSON)
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"]["limit_bytes"] == JSON_LIMIT


def test_json_body_at_the_limit_is_read(client: httpx.Client) -> None:
    body = b'{"query": "x", "mode": "keyword"}'
    response = client.post("/v1/search", content=body + b" " * (JSON_LIMIT - len(body)), headers=JSON)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/v1/search", "/v1/documents"])
def test_chunked_json_body_over_the_limit(client: httpx.Client, path: str) -> None:
    response = client.post(path, content=chunks(JSON_LIMIT * 3), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


def test_upload_over_the_limit_with_content_length(client: httpx.Client) -> None:
    body, content_type = multipart(UPLOAD_LIMIT * 2)
    response = client.post("/v1/documents", content=body, headers={"content-type": content_type})
    assert response.request.headers["content-length"] == str(len(body))
    assert_error(response, 413, "payload_too_large")


def test_chunked_upload_over_the_limit(client: httpx.Client) -> None:
    body, content_type = multipart(UPLOAD_LIMIT * 2)
    stream = (body[i : i + 16384] for i in range(0, len(body), 16384))
    response = client.post("/v1/documents", content=stream, headers={"content-type": content_type})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


def test_chunked_upload_within_the_limit_works(client: httpx.Client) -> None:
    request = httpx.Request(
        "POST", "http://x/", files={"file": ("small.txt", b"Chunked upload.", "text/plain")}
    )
    body = request.read()
    stream = (body[i : i + 64] for i in range(0, len(body), 64))
    headers = {"content-type": request.headers["content-type"]}
    response = client.post("/v1/documents", content=stream, headers=headers)
    assert response.status_code == 201, response.text


# -- routing, documents, pagination --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/v1/nope", "/v1/documents/a/b", "/v2/search"])
def test_unknown_routes(client: httpx.Client, path: str) -> None:
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/search"),
        ("GET", "/v1/search"),
        ("DELETE", "/v1/documents"),
        ("POST", "/healthz"),
        ("PATCH", "/v1/documents/abc"),
    ],
)
def test_wrong_methods(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_document(client: httpx.Client, method: str) -> None:
    error = assert_error(client.request(method, "/v1/documents/0123456789abcdef"), 404, "not_found")
    assert error["details"] == {"document_id": "0123456789abcdef"}


def test_overlong_document_id(client: httpx.Client) -> None:
    assert_error(client.get("/v1/documents/" + "a" * 201), 422, "invalid_request")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cursor": "not-a-cursor"}, "invalid_input"),
        ({"cursor": "eyJ4IjogMX0"}, "invalid_input"),  # base64 of a JSON object, not a position
        ({"cursor": "%%%"}, "invalid_input"),
        ({"limit": 0}, "invalid_request"),
        ({"limit": 201}, "invalid_request"),
        ({"limit": "ten"}, "invalid_request"),
        ({"collection": "x" * 65}, "invalid_request"),
    ],
)
def test_bad_list_parameters(client: httpx.Client, params: dict[str, Any], code: str) -> None:
    assert_error(client.get("/v1/documents", params=params), 422, code)


def test_still_healthy_after_all_that(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    metrics = client.get("/metrics").text
    assert 'status="500"' not in metrics
