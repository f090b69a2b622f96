"""Request bodies: JSON bounded in depth and items before it is parsed, multipart uploads as before, and no
other content type read by any route."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from lore.api.hardening.json_bodies import JsonShape, json_shape, surely_within
from tests.api.conftest import assert_error
from tests.api.hardening.conftest import MAX_JSON_DEPTH, MAX_JSON_ITEMS

JSON = {"content-type": "application/json"}


def nested(depth: int) -> str:
    """A search whose body nests `depth` arrays and objects in all: itself, its filters, and arrays as the
    value of their metadata."""
    arrays = depth - 2
    return '{"query": "x", "filters": {"metadata": ' + "[" * arrays + "1" + "]" * arrays + "}}"


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("", JsonShape(0, 0)),
        ("1", JsonShape(0, 0)),
        ("[]", JsonShape(1, 1)),
        ('{"a": [1, 2, {"b": [3]}], "c": "d"}', JsonShape(4, 3 + 4)),
        ('["[[[[", "]]]]", "{{{", "\\"[[["]', JsonShape(1, 3 + 1)),  # brackets and escaped quotes in strings
        ('[["\\\\"], "\\\\\\"[,"]', JsonShape(2, 1 + 2)),  # an escaped backslash ends no string
        ("[" * 40 + "]" * 40, JsonShape(40, 40)),
        ("[[[]]] [[[[[]]]]]", JsonShape(5, 8)),
    ],
)
def test_the_shape_of_json_text(text: str, shape: JsonShape) -> None:
    assert json_shape(text.encode()) == shape


def test_counting_raw_bytes_bounds_the_shape_from_above() -> None:
    assert surely_within(b'{"query": "a, b", "k": [1]}', max_depth=2, max_items=5)
    assert not surely_within(b'{"query": "[[["}', max_depth=2, max_items=100)  # then the exact shape decides
    assert json_shape(b'{"query": "[[["}') == JsonShape(1, 1)
    assert surely_within(b"[1,2,3]", max_depth=1, max_items=3)
    assert not surely_within(b"[1,2,3]", max_depth=1, max_items=2)


def test_the_shape_is_read_at_c_speed() -> None:
    """Two megabytes of the worst kinds (every byte a bracket, a comma or a string's quote) are read in a few
    hundredths of a second each: about what `json.loads` takes for the same bytes."""
    worst = [
        b"[" * 1_000_000 + b"]" * 1_000_000,
        b"[" + b"0," * 999_999 + b"0]",
        b"[" + b'"a",' * 499_999 + b'"a"]',
    ]
    start = time.perf_counter()
    shapes = [json_shape(body) for body in worst]
    assert shapes == [JsonShape(1_000_000, 1_000_000), JsonShape(1, 1_000_000), JsonShape(1, 500_000)]
    assert time.perf_counter() - start < 1.0  # measured: 0.08 s for the three on this machine


def test_nesting_up_to_the_bound_passes_and_deeper_is_refused(client: httpx.Client) -> None:
    assert json_shape(nested(MAX_JSON_DEPTH).encode()).depth == MAX_JSON_DEPTH
    within = client.post("/v1/search", content=nested(MAX_JSON_DEPTH), headers=JSON)
    assert_error(within, 422, "invalid_request")  # read, and refused by the model: metadata holds scalars
    deeper = client.post("/v1/search", content=nested(MAX_JSON_DEPTH + 1), headers=JSON)
    error = assert_error(deeper, 400, "json_too_deep")
    assert error["details"] == {"max_depth": MAX_JSON_DEPTH}


@pytest.mark.parametrize("path", ["/v1/search", "/v1/documents", "/v1/conversations", "/v1/chat/completions"])
def test_every_json_route_is_bounded(client: httpx.Client, path: str) -> None:
    assert_error(client.post(path, content=b"[" * 20_000, headers=JSON), 400, "json_too_deep")
    too_many = json.dumps({"query": "x", "filters": {"document_ids": ["d"] * MAX_JSON_ITEMS}})
    error = assert_error(client.post(path, content=too_many, headers=JSON), 400, "json_too_many_items")
    assert error["details"] == {"max_items": MAX_JSON_ITEMS}


def test_brackets_inside_strings_do_not_count(client: httpx.Client) -> None:
    query = '[{"' * 30 + '\\"]]' * 30
    response = client.post("/v1/search", content=json.dumps({"query": query}), headers=JSON)
    assert response.status_code == 200, response.text


def chunks(body: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_json_body_is_read_whole_and_bounded(client: httpx.Client) -> None:
    body = json.dumps({"title": "Chunked", "text": "Sent in small pieces."}).encode()
    created = client.post("/v1/documents", content=chunks(body), headers=JSON)
    assert created.status_code == 201 and created.json()["title"] == "Chunked"
    assert_error(client.post("/v1/search", content=chunks(b"[" * 500), headers=JSON), 400, "json_too_deep")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/search", "text/plain"),
        ("/v1/search", None),
        ("/v1/conversations", "text/plain"),
        ("/v1/admin/backups", "application/x-www-form-urlencoded"),
        ("/v1/ingest", "multipart/mixed; boundary=x"),
        ("/v1/chat/completions", "application/xml"),
    ],
)
def test_a_body_that_is_not_json_is_refused_unread(
    client: httpx.Client, path: str, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    error = assert_error(
        client.post(path, content=b'{"query": "x"}', headers=headers), 415, "unsupported_media_type"
    )
    assert error["details"]["content_type"] == (content_type or "").split(";")[0]


def test_bodiless_writes_and_json_variants_still_work(client: httpx.Client) -> None:
    assert client.post("/v1/conversations").status_code == 201
    assert client.post("/v1/conversations", headers={"content-type": "text/plain"}).status_code == 201
    typed = {"content-type": "application/vnd.lore+json; charset=utf-8"}
    assert client.post("/v1/search", content=b'{"query": "x"}', headers=typed).status_code == 200
    upload = client.post("/v1/documents", files={"file": ("u.txt", b"An uploaded file.", "text/plain")})
    assert upload.status_code == 201
