"""`GET /v1/analytics/gaps` and `POST /v1/analytics/gaps/promote` on a live server: admins read the topics,
a good answer becomes a restricted draft that only its owner and admins find, and bad input is refused with
the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.models import DEFAULT_TENANT
from lore.security.scopes import PUBLISHABLE_SCOPES, ROLE_SCOPES
from tests.api.conftest import LiveServer, assert_error, small_server
from tests.intelligence.gap_events import SINCE, UNTIL, answer, days_before
from tests.keys import bearer, mint_key

WINDOW = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
PASSWORD = "To reset your password, choose Forgot password on the sign-in page and follow the emailed link."
INVOICES = ["How do I download my invoice as a PDF?", "Can I export invoices to PDF?"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    with small_server(tmp_path_factory.mktemp("gaps"), model_cache) as live:
        lore = live.lore
        lore.add_text(title="Resetting your password", text=PASSWORD)
        lore.add_text(title="Shipping times", text="Orders ship within two business days.")
        lore.store.events.append(
            [answer(q, 1 + i, at=days_before(2 + i), abstained=True) for i, q in enumerate(INVOICES)]
        )
        yield live


@pytest.fixture(scope="module")
def clients(server: LiveServer) -> Iterator[dict[str, httpx.Client]]:
    db = server.lore.store
    keys = {role: mint_key(db, scopes=ROLE_SCOPES[role]) for role in ("admin", "editor", "viewer")}
    keys["publishable"] = mint_key(
        db, scopes=PUBLISHABLE_SCOPES, kind="publishable", collections=frozenset({"default", "drafts"})
    )
    keys["default only"] = mint_key(db, scopes=ROLE_SCOPES["editor"], collections=frozenset({"default"}))
    made = {
        name: httpx.Client(base_url=server.url, timeout=60, headers=bearer(key)) for name, key in keys.items()
    }
    yield made
    for client in made.values():
        client.close()


def ask(client: httpx.Client, question: str) -> dict[str, Any]:
    """A real conversation and a real (extractive) answer; the stored answer message."""
    conversation = client.post("/v1/conversations")
    assert conversation.status_code == 201, conversation.text
    reply = client.post(f"/v1/conversations/{conversation.json()['id']}/messages", json={"content": question})
    assert reply.status_code == 201, reply.text
    return reply.json()


def found_ids(client: httpx.Client, query: str) -> set[str]:
    response = client.post("/v1/search", json={"query": query, "k": 20})
    assert response.status_code == 200, response.text
    return {hit["document_id"] for hit in response.json()["hits"]}


def test_admins_read_the_topics_of_poorly_served_questions(clients: dict[str, httpx.Client]) -> None:
    response = clients["admin"].get("/v1/analytics/gaps", params=WINDOW)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenant_id"] == DEFAULT_TENANT and body["questions"] == 2
    [topic] = body["topics"]
    assert topic["count"] == 2 and set(topic["examples"]) == set(INVOICES)
    assert topic["reasons"] == {"abstained": 2, "low_confidence": 0, "not_helpful": 0, "no_click": 0}
    assert [week["count"] for week in topic["trend"]["weeks"]] == [0, 0, 0, 2]
    assert {article["title"] for article in topic["articles"]} <= {
        "Resetting your password",
        "Shipping times",
    }
    assert (
        clients["admin"].get("/v1/analytics/gaps", params={**WINDOW, "min_count": 3}).json()["topics"] == []
    )


@pytest.mark.parametrize("caller", ["editor", "viewer", "publishable"])
def test_only_admins_read_gaps(clients: dict[str, httpx.Client], caller: str) -> None:
    assert_error(clients[caller].get("/v1/analytics/gaps"), 403, "forbidden")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"since": UNTIL.isoformat(), "until": SINCE.isoformat()}, "invalid_input"),
        ({"since": "2020-01-01T00:00:00Z", "until": "2021-06-01T00:00:00Z"}, "invalid_input"),
        ({"since": "last tuesday"}, "invalid_request"),
        ({"until": "0001-01-01T00:00:00Z"}, "invalid_input"),
        ({"min_count": 0}, "invalid_request"),
        ({"limit": 101}, "invalid_request"),
    ],
)
def test_bad_windows_and_bounds_are_refused(
    clients: dict[str, httpx.Client], params: dict[str, Any], code: str
) -> None:
    assert_error(clients["admin"].get("/v1/analytics/gaps", params=params), 422, code)


def test_a_promoted_answer_is_a_restricted_draft_only_its_owner_and_admins_find(
    clients: dict[str, httpx.Client],
) -> None:
    editor = clients["editor"]
    reply = ask(editor, "How do I reset my password?")
    assert not reply["metadata"]["abstained"]
    body = {"conversation_id": reply["conversation_id"], "message_id": reply["id"]}

    promoted = editor.post("/v1/analytics/gaps/promote", json=body)

    assert promoted.status_code == 201, promoted.text
    draft = promoted.json()
    assert draft["collection"] == "drafts" and draft["tags"] == ["draft"] and draft["restricted"] is True
    assert draft["title"] == "How do I reset my password?" and draft["owner"].startswith("key:")
    text = editor.get(f"/v1/documents/{draft['id']}").json()["text"]
    assert "How do I reset my password?" in text and "Resetting your password" in text.split("Sources")[1]
    query = "reset your password forgot password sign-in page emailed link"
    assert draft["id"] in found_ids(clients["admin"], query)
    assert draft["id"] in found_ids(editor, query)  # its owner
    assert draft["id"] not in found_ids(clients["viewer"], query)
    assert draft["id"] not in found_ids(clients["publishable"], query)
    assert_error(clients["viewer"].get(f"/v1/documents/{draft['id']}"), 404, "not_found")
    again = editor.post("/v1/analytics/gaps/promote", json={**body, "title": "Reset a password"})
    assert again.status_code == 201 and again.json()["id"] == draft["id"]  # replaced, not duplicated
    assert again.json()["title"] == "Reset a password"


def test_only_an_answer_the_caller_sees_can_be_promoted(clients: dict[str, httpx.Client]) -> None:
    editor, path = clients["editor"], "/v1/analytics/gaps/promote"
    theirs = ask(clients["viewer"], "How fast do orders ship?")
    mine = ask(editor, "How fast do orders ship?")
    cases = [
        ({"conversation_id": theirs["conversation_id"], "message_id": theirs["id"]}, 404, "not_found"),
        ({"conversation_id": mine["conversation_id"], "message_id": mine["id"] + 1000}, 404, "not_found"),
        ({"conversation_id": "no-such-conversation", "message_id": 1}, 404, "not_found"),
        (
            {"conversation_id": mine["conversation_id"], "message_id": mine["metadata"]["reply_to"]},
            422,
            "invalid_input",
        ),
        (
            {"conversation_id": mine["conversation_id"], "message_id": mine["id"], "extra": 1},
            422,
            "invalid_request",
        ),
        ({"conversation_id": mine["conversation_id"], "message_id": 0}, 422, "invalid_request"),
    ]
    for body, status, code in cases:
        assert_error(editor.post(path, json=body), status, code)
    admin = clients["admin"].post(
        path, json={"conversation_id": theirs["conversation_id"], "message_id": theirs["id"]}
    )
    assert admin.status_code == 201, admin.text  # admins see every conversation


def test_promoting_needs_documents_write_in_the_drafts_collection(clients: dict[str, httpx.Client]) -> None:
    reply = ask(clients["default only"], "How do I reset my password?")
    body = {"conversation_id": reply["conversation_id"], "message_id": reply["id"]}

    assert_error(clients["default only"].post("/v1/analytics/gaps/promote", json=body), 403, "forbidden")
    placed = clients["default only"].post(
        "/v1/analytics/gaps/promote", json={**body, "collection": "default"}
    )
    assert placed.status_code == 201 and placed.json()["collection"] == "default"
    viewer_reply = ask(clients["viewer"], "How do I reset my password?")
    viewer_body = {"conversation_id": viewer_reply["conversation_id"], "message_id": viewer_reply["id"]}
    assert_error(clients["viewer"].post("/v1/analytics/gaps/promote", json=viewer_body), 403, "forbidden")
