"""POST/GET/DELETE /v1/documents over HTTP, against a live server."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.api.conftest import UPLOAD_LIMIT, assert_error, upload

DOCUMENT_FIELDS = {
    "id",
    "collection",
    "title",
    "source",
    "tags",
    "metadata",
    "chunk_count",
    "content_hash",
    "created_at",
    "updated_at",
}
MARKDOWN = """# Printer setup guide

## Connecting to Wi-Fi

Hold the wireless button on the printer for five seconds, until the light blinks blue.
"""
HTML = """<!doctype html><html><head><title>Refund policy</title></head><body>
<nav><a href="/">Home</a></nav>
<main><h1>Refund policy</h1><p>Refunds are issued within fourteen days of the return.</p></main>
</body></html>"""
TEXT = "Office hours\n\nThe support desk is open from nine to five on weekdays.\n"


@pytest.mark.parametrize(
    ("name", "content", "content_type", "title", "phrase"),
    [
        ("printer.md", MARKDOWN, "text/markdown", "Printer setup guide", "wireless button"),
        ("refunds.html", HTML, "text/html", "Refund policy", "fourteen days"),
        ("hours.txt", TEXT, "text/plain", "Office hours", "nine to five"),
    ],
)
def test_upload_each_format(
    client: httpx.Client, name: str, content: str, content_type: str, title: str, phrase: str
) -> None:
    response = upload(client, name, content, content_type)
    assert response.status_code == 201, response.text
    document = response.json()
    assert set(document) == DOCUMENT_FIELDS
    assert document["title"] == title
    assert document["collection"] == "default"
    assert document["source"] == f"upload:{name}"
    assert document["chunk_count"] >= 1
    assert len(document["content_hash"]) >= 16
    datetime.fromisoformat(document["created_at"])
    stored = client.get(f"/v1/documents/{document['id']}").json()
    assert phrase in stored["text"]


def test_upload_with_form_fields(client: httpx.Client) -> None:
    fields = {
        "collection": "manuals",
        "tags": ["printers", "setup, wifi"],
        "metadata": '{"product": "x100", "revision": 2, "public": true}',
        "source": "manuals/x100.md",
    }
    response = upload(client, "x100.md", MARKDOWN, "text/markdown", **fields)
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["collection"] == "manuals"
    assert sorted(document["tags"]) == ["printers", "setup", "wifi"]
    assert document["metadata"].items() >= {"product": "x100", "revision": 2, "public": True}.items()
    assert document["source"] == "manuals/x100.md"


def test_upload_without_extension_uses_the_content_type(client: httpx.Client) -> None:
    response = upload(client, "README", MARKDOWN, "text/markdown")
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "Printer setup guide"


def test_add_json_text_and_get_it_back(client: httpx.Client) -> None:
    body = {
        "title": "Holiday closures",
        "text": "The office closes on public holidays.\n\nUrgent tickets are still answered.",
        "source": "kb/holidays",
        "collection": "policies",
        "tags": ["calendar"],
        "metadata": {"team": "support", "priority": 1.5},
    }
    created = client.post("/v1/documents", json=body)
    assert created.status_code == 201, created.text
    document = created.json()
    assert set(document) == DOCUMENT_FIELDS
    assert (document["title"], document["source"], document["collection"]) == (
        "Holiday closures",
        "kb/holidays",
        "policies",
    )
    fetched = client.get(f"/v1/documents/{document['id']}")
    assert fetched.status_code == 200
    detail = fetched.json()
    assert set(detail) == DOCUMENT_FIELDS | {"text"}
    assert "Urgent tickets are still answered." in detail["text"]
    assert detail["tags"] == ["calendar"]
    assert detail["metadata"].items() >= {"team": "support", "priority": 1.5}.items()


def test_same_source_replaces_the_document(client: httpx.Client) -> None:
    body = {"title": "Returns", "text": "Returns are free.", "source": "kb/returns", "collection": "replace"}
    first = client.post("/v1/documents", json=body).json()
    second = client.post("/v1/documents", json=body | {"text": "Returns cost five euros."}).json()
    page = client.get("/v1/documents", params={"collection": "replace"}).json()
    assert [item["id"] for item in page["items"]] == [second["id"]]
    assert first["content_hash"] != second["content_hash"]


def test_delete_then_not_found(client: httpx.Client) -> None:
    created = client.post("/v1/documents", json={"title": "Temporary", "text": "Soon gone."}).json()
    deleted = client.delete(f"/v1/documents/{created['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(client.get(f"/v1/documents/{created['id']}"), 404, "not_found")
    assert_error(client.delete(f"/v1/documents/{created['id']}"), 404, "not_found")


def test_cursor_walk_returns_every_document_once_newest_first(client: httpx.Client) -> None:
    created = [
        client.post(
            "/v1/documents", json={"title": f"Page {i}", "text": f"Body {i}.", "collection": "paging"}
        ).json()["id"]
        for i in range(7)
    ]
    seen: list[dict[str, str]] = []
    cursor = None
    for _ in range(10):
        params = {"collection": "paging", "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/documents", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= 3
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [item["id"] for item in seen] == created[::-1]
    stamps = [item["created_at"] for item in seen]
    assert stamps == sorted(stamps, reverse=True)
    assert all(set(item) == DOCUMENT_FIELDS for item in seen)


def test_list_defaults_and_collection_filter(client: httpx.Client) -> None:
    everything = client.get("/v1/documents").json()
    assert 1 <= len(everything["items"]) <= 50
    policies = client.get("/v1/documents", params={"collection": "policies"}).json()
    assert policies["items"] and {item["collection"] for item in policies["items"]} == {"policies"}
    assert client.get("/v1/documents", params={"collection": "nothing-here"}).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_upload_over_the_file_limit_is_refused_while_reading(client: httpx.Client) -> None:
    """Just over the file limit but within the multipart allowance: the handler's capped read refuses it."""
    error = assert_error(
        upload(client, "big.txt", b"a" * (UPLOAD_LIMIT + 1), "text/plain"), 413, "payload_too_large"
    )
    assert error["details"]["limit_bytes"] == UPLOAD_LIMIT


def test_upload_of_exactly_the_limit_is_accepted(client: httpx.Client) -> None:
    """Padded with a script the parser drops, so the limit is tested without embedding 256 KiB of text."""
    head, tail = b"<html><body><p>Exactly at the limit.</p><script>", b"</script></body></html>"
    data = head + b"x" * (UPLOAD_LIMIT - len(head) - len(tail)) + tail
    assert len(data) == UPLOAD_LIMIT
    assert upload(client, "limit.html", data, "text/html").status_code == 201


@pytest.mark.parametrize(
    ("name", "content", "status", "code"),
    [
        ("diagram.png", b"\x89PNG\r\n\x1a\n\x00\x00", 415, "unsupported_format"),
        ("archive", b"\x00\x01\x02binary", 415, "unsupported_format"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", 422, "corrupt_document"),
        ("binary.txt", b"\x00\x01\x02\x03" * 100, 422, "corrupt_document"),
        (
            "cells.md",
            b"|" + b"a|" * 200 + b"\n|" + b"-|" * 200 + b"\n" + b"|x|\n" * 200,
            422,
            "document_too_complex",
        ),
        ("deep.html", b"<div>" * 40_000, 422, "document_too_complex"),
        (
            "parts.md",
            b"".join(b"# Part %d\n\nText.\n\n" % n for n in range(6_000)),
            413,
            "document_too_large",
        ),
    ],
)
def test_unusable_files(client: httpx.Client, name: str, content: bytes, status: int, code: str) -> None:
    assert_error(upload(client, name, content), status, code)
