"""Documents through the sync client: added as text and as files, found by search, listed page by page, and
the API's errors raised as exceptions that carry its code."""

from __future__ import annotations

import pytest
from lore_client import AuthenticationError, InvalidRequest, Lore, NotFound, PermissionDenied

from tests.served import ServedLore

ARTICLES = [
    ("Reset your password", "Open Settings, choose Security, then Reset password to get a reset link."),
    ("Refunds", "Open Billing and choose Request refund; refunds arrive within five days."),
    ("Invoices", "Invoices are emailed on the first day of each month as PDF files."),
    ("Two-factor sign-in", "Scan the QR code with an authenticator app to turn on two-factor sign-in."),
    ("Delete your account", "Open Settings, choose Account, then Delete account and confirm by email."),
]


def add_articles(lore: Lore, collection: str) -> list[str]:
    return [lore.documents.add(title, text, collection=collection)["id"] for title, text in ARTICLES]


def test_added_documents_make_a_collection_that_search_finds(lore: Lore, collection: str) -> None:
    add_articles(lore, collection)
    assert lore.collections.get(collection)["document_count"] == len(ARTICLES)
    assert collection in {c["name"] for c in lore.collections.list()}
    found = lore.search("how do I get my money back", collection=collection, k=3)
    assert found["hits"][0]["title"] == "Refunds"
    keyword = lore.search("invoices", collection=collection, mode="keyword")
    assert [hit["title"] for hit in keyword["hits"]] == ["Invoices"]


def test_a_list_is_iterated_across_its_pages(lore: Lore, collection: str) -> None:
    ids = add_articles(lore, collection)
    pages = list(lore.documents.list(collection=collection, limit=2).by_page())
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    assert pages[-1]["next_cursor"] is None
    listed = [document["id"] for document in lore.documents.list(collection=collection, limit=2)]
    assert listed == ids[::-1]  # newest first


def test_an_uploaded_file_is_parsed_and_read_back(lore: Lore, collection: str, tmp_path: object) -> None:
    markdown = b"# Shipping\n\nParcels leave the warehouse within two working days.\n"
    added = lore.documents.upload(markdown, filename="shipping.md", collection=collection, tags=["help"])
    assert (added["title"], added["tags"]) == ("Shipping", ["help"])
    document = lore.documents.get(added["id"])
    assert "two working days" in document["text"]
    again = lore.documents.upload(markdown, filename="shipping.md", collection=collection, tags=["help"])
    assert again["unchanged"] is True


def test_a_missing_document_raises_not_found_with_the_api_code(lore: Lore, collection: str) -> None:
    document_id = lore.documents.add("Gone soon", "This one is deleted.", collection=collection)["id"]
    lore.documents.delete(document_id)
    with pytest.raises(NotFound) as raised:
        lore.documents.get(document_id)
    assert (raised.value.status, raised.value.code) == (404, "not_found")
    assert raised.value.request_id
    assert raised.value.message


def test_invalid_values_raise_invalid_request(lore: Lore) -> None:
    with pytest.raises(InvalidRequest) as raised:
        lore.search("anything", k=0)
    assert (raised.value.status, raised.value.code) == (422, "invalid_input")
    with pytest.raises(InvalidRequest) as raised:
        lore.documents.list(limit=0).first()
    assert (raised.value.status, raised.value.code) == (422, "invalid_request")
    assert raised.value.details


def test_a_read_only_key_is_refused_writes(lore: Lore, served: ServedLore, collection: str) -> None:
    reader = lore.keys.create("reader", ["search", "documents:read"])
    with Lore(served.url, api_key=reader["key"]) as read_only:
        assert read_only.search("refund")["query"] == "refund"
        with pytest.raises(PermissionDenied) as raised:
            read_only.documents.add("Not allowed", "A read-only key cannot write.", collection=collection)
    assert (raised.value.status, raised.value.code) == (403, "forbidden")


def test_a_wrong_key_raises_authentication_error(served: ServedLore) -> None:
    with (
        Lore(served.url, api_key="lore_sk_not-a-key") as stranger,
        pytest.raises(AuthenticationError) as raised,
    ):
        stranger.documents.list().first()
    assert (raised.value.status, raised.value.code) == (401, "unauthenticated")
