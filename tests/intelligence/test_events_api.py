"""Events through the real HTTP server: batches stored once, refused with their codes, attributed to a
publishable key's end user, kept to what the caller may read and to its tenant; feedback on answers; searches
and answers recorded with ids that clicks and feedback name, and the analytics they feed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.api import create_app
from lore.config import Settings
from lore.models import Access, utcnow
from lore.security.scopes import PUBLISHABLE_SCOPES, Scope
from tests.api.conftest import LiveServer, assert_error
from tests.intelligence.conftest import OTHER, TENANT
from tests.keys import bearer, mint_key
from tests.waiting import wait_for

PASSWORD = "To reset your password, open Settings, choose Security and press Reset password."
REFUNDS = "Refunds reach your card within five business days of the return."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("events-api"),
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        event_flush_seconds=0.05,
    )
    with LiveServer(create_app(settings)) as live:
        live.lore.store.tenants.create(OTHER)
        yield live


@pytest.fixture(scope="module")
def docs(server: LiveServer) -> dict[str, str]:
    lore = server.lore
    added = {
        "password": lore.add_text(title="Passwords", text=PASSWORD, source="password.md", collection="help"),
        "refunds": lore.add_text(title="Refunds", text=REFUNDS, source="refunds.md", collection="help"),
        "secret": lore.add_text(
            title="Fast lane", text="Executives are refunded at once.", source="s.md", access=Access(True)
        ),
        "acme": lore.add_text(title="Acme", text="Acme's own page.", source="a.md", tenant_id=OTHER),
    }
    return {name: document.id for name, document in added.items()}


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def keys(server: LiveServer) -> dict[str, dict[str, str]]:
    store = server.lore.store
    publishable = mint_key(
        store, scopes=PUBLISHABLE_SCOPES, kind="publishable", collections=frozenset({"help"})
    )
    return {
        "admin": bearer(mint_key(store)),
        "backend": bearer(mint_key(store, scopes=frozenset({Scope.SEARCH, Scope.ASK, Scope.EVENTS}))),
        "visitor": {**bearer(publishable), "X-Lore-End-User": "visitor-1"},
        "other_visitor": {**bearer(publishable), "X-Lore-End-User": "visitor-2"},
        "acme": bearer(mint_key(store, tenant=OTHER)),
        "metrics": bearer(mint_key(store, scopes=frozenset({Scope.METRICS}))),
    }


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def new_id() -> str:
    return uuid.uuid4().hex


def post(http: httpx.Client, headers: dict[str, str], *events: dict[str, Any]) -> httpx.Response:
    return http.post("/v1/events", json={"events": list(events)}, headers=headers)


def exported(http: httpx.Client, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every matching event, as the NDJSON export streams them (oldest first)."""
    response = http.get("/v1/events/export", params={"format": "ndjson", **params}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def stored(http: httpx.Client, keys: dict[str, dict[str, str]], **where: Any) -> list[dict[str, Any]]:
    """The default tenant's events whose fields equal `where`."""
    found = exported(http, keys["admin"])
    return [e for e in found if all(e.get(name) == value for name, value in where.items())]


def test_a_batch_is_stored_once_and_sent_again_counts_as_duplicates(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    ids = [new_id() for _ in range(3)]
    batch = [
        {"event_id": ids[0], "kind": "view", "document_id": docs["password"]},
        {"event_id": ids[1], "kind": "rating", "document_id": docs["refunds"], "value": 5},
        {
            "event_id": ids[2],
            "kind": "resolved",
            "document_id": docs["refunds"],
            "data": {"ticket_id": "T-1"},
        },
    ]
    assert ok(post(http, keys["backend"], *batch)) == {"accepted": 3, "duplicates": 0}
    assert ok(post(http, keys["backend"], *batch)) == {"accepted": 0, "duplicates": 3}
    again = {"event_id": new_id(), "kind": "view", "document_id": docs["password"]}
    assert ok(post(http, keys["backend"], batch[0], again, again)) == {"accepted": 1, "duplicates": 2}
    (rating,) = stored(http, keys, event_id=ids[1])
    assert (rating["value"], rating["collection"], rating["actor"].startswith("key:")) == (5, "help", True)


def test_invalid_events_refuse_the_batch_with_a_code_and_the_events_index(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    good = {"event_id": new_id(), "kind": "view", "document_id": docs["password"]}
    cases = [
        ({"kind": "rating", "document_id": docs["refunds"], "value": 9}, "invalid_event"),
        ({"kind": "search", "query": "x"}, "unknown_event_kind"),
        ({"kind": "view"}, "event_field_missing"),
        ({"kind": "view", "document_id": docs["password"], "rank": 1}, "event_field_not_allowed"),
        (
            {
                "kind": "view",
                "document_id": docs["password"],
                "at": (utcnow() - timedelta(days=2000)).isoformat(),
            },
            "event_time_out_of_range",
        ),
    ]
    for fields, code in cases:
        error = assert_error(post(http, keys["backend"], good, {"event_id": new_id(), **fields}), 422, code)
        assert error["details"]["index"] == 1
    assert stored(http, keys, event_id=good["event_id"]) == []  # all or none
    assert_error(post(http, keys["backend"], {"kind": "view", "document_id": "d"}), 422, "invalid_request")
    assert_error(
        http.post("/v1/events", json={"events": []}, headers=keys["backend"]), 422, "invalid_request"
    )
    too_many = [{**good, "event_id": str(i)} for i in range(501)]
    assert_error(post(http, keys["backend"], *too_many), 422, "invalid_request")


def test_an_event_naming_a_document_the_caller_may_not_read_is_not_found(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    def view(document_id: str) -> dict[str, Any]:
        return {"event_id": new_id(), "kind": "view", "document_id": document_id}

    hidden = assert_error(post(http, keys["backend"], view(docs["secret"])), 404, "not_found")
    missing = assert_error(post(http, keys["backend"], view("no-such-document")), 404, "not_found")
    assert hidden["message"].replace(docs["secret"], "X") == missing["message"].replace(
        "no-such-document", "X"
    )
    assert ok(post(http, keys["admin"], view(docs["secret"])))["accepted"] == 1  # admins read everything
    assert_error(post(http, keys["backend"], view(docs["acme"])), 404, "not_found")  # another tenant's
    outside = {"event_id": new_id(), "kind": "helpful", "search_id": "s1", "collection": "legal"}
    assert_error(post(http, keys["visitor"], outside), 403, "forbidden")  # the key's collections only


def test_tenants_never_see_each_others_events(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    mine = {"event_id": new_id(), "kind": "view", "document_id": docs["password"]}
    ok(post(http, keys["admin"], mine))
    theirs = {"event_id": mine["event_id"], "kind": "view", "document_id": docs["acme"]}
    assert ok(post(http, keys["acme"], theirs)) == {"accepted": 1, "duplicates": 0}  # ids are per tenant
    acme = exported(http, keys["acme"])
    assert [(e["event_id"], e["document_id"]) for e in acme] == [(mine["event_id"], docs["acme"])]
    page = ok(http.get("/v1/events/export", headers=keys["acme"]))
    assert [e["document_id"] for e in page["items"]] == [docs["acme"]]
    assert ok(http.get("/v1/analytics/search", headers=keys["acme"]))["searches"] == 0


def test_a_publishable_keys_events_are_its_end_users_whatever_the_page_claims(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    claimed = {"event_id": new_id(), "kind": "view", "document_id": docs["password"], "user_id": "ceo"}
    ok(post(http, keys["visitor"], claimed))
    (event,) = stored(http, keys, event_id=claimed["event_id"])
    assert event["user_id"] == "visitor-1"
    backend = {**claimed, "event_id": new_id(), "user_id": "customer-7"}  # a trusted backend names its user
    ok(post(http, keys["backend"], backend))
    assert [e["user_id"] for e in stored(http, keys, event_id=backend["event_id"])] == ["customer-7"]
    assert_error(http.get("/v1/events/export", headers=keys["visitor"]), 403, "forbidden")


def ask(http: httpx.Client, headers: dict[str, str], question: str) -> tuple[str, dict[str, Any]]:
    """A new conversation of the caller's, and the answer to `question` in it."""
    conversation = ok(http.post("/v1/conversations", headers=headers), 201)["id"]
    answer = ok(
        http.post(f"/v1/conversations/{conversation}/messages", json={"content": question}, headers=headers),
        201,
    )
    return conversation, answer


def test_feedback_on_an_answer_is_an_event_of_whoever_may_see_the_conversation(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    conversation, answer = ask(http, keys["visitor"], "How do I reset my password?")
    path = f"/v1/conversations/{conversation}/messages/{answer['id']}/feedback"
    given = ok(http.post(path, json={"helpful": False, "reason": "too vague"}, headers=keys["visitor"]), 201)
    assert (given["kind"], given["duplicate"]) == ("not_helpful", False)
    again = {"helpful": True, "event_id": given["event_id"]}
    assert ok(http.post(path, json=again, headers=keys["visitor"]), 201)["duplicate"] is True
    (event,) = stored(http, keys, event_id=given["event_id"])
    assert (event["kind"], event["user_id"], event["reason"]) == ("not_helpful", "visitor-1", "too vague")
    assert (event["conversation_id"], event["message_id"]) == (conversation, answer["id"])

    assert_error(http.post(path, json={"helpful": True}, headers=keys["other_visitor"]), 404, "not_found")
    question = f"/v1/conversations/{conversation}/messages/{answer['metadata']['reply_to']}/feedback"
    assert_error(http.post(question, json={"helpful": True}, headers=keys["visitor"]), 422, "invalid_event")
    gone = f"/v1/conversations/{conversation}/messages/{answer['id'] + 1000}/feedback"
    assert_error(http.post(gone, json={"helpful": True}, headers=keys["visitor"]), 404, "not_found")
    by_batch = {
        "event_id": new_id(),
        "kind": "helpful",
        "conversation_id": conversation,
        "message_id": answer["id"],
    }
    assert_error(post(http, keys["other_visitor"], by_batch), 404, "not_found")
    assert ok(post(http, keys["admin"], by_batch))["accepted"] == 1  # admins see every conversation


def test_answers_are_recorded_with_their_confidence_and_the_ids_feedback_names(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    conversation, answer = ask(http, keys["visitor"], "How long do refunds take?")
    search_id = answer["metadata"]["search_id"]
    (recorded,) = wait_for(lambda: stored(http, keys, kind="answer", search_id=search_id), "the answer event")
    assert (recorded["conversation_id"], recorded["message_id"]) == (conversation, answer["id"])
    assert (recorded["user_id"], recorded["query"]) == ("visitor-1", "How long do refunds take?")
    assert recorded["data"]["abstained"] is answer["metadata"]["abstained"] is False
    assert recorded["data"]["provider"] == "extractive"
    assert recorded["data"]["document_ids"] == [docs["refunds"]]
    assert 0 < recorded["value"] <= 1

    body = {"model": "lore", "messages": [{"role": "user", "content": "How long do refunds take?"}]}
    completion = ok(http.post("/v1/chat/completions", json=body, headers=keys["backend"]))
    chat_search = completion["lore"]["search_id"]
    (chat,) = wait_for(lambda: stored(http, keys, kind="answer", search_id=chat_search), "the chat answer")
    assert (chat["conversation_id"], chat["message_id"], chat["user_id"]) == (None, None, None)
    feedback = {"event_id": new_id(), "kind": "helpful", "search_id": chat_search}
    assert ok(post(http, keys["backend"], feedback))["accepted"] == 1


def test_a_search_id_leads_from_a_search_to_its_click_and_the_click_through_by_rank(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    query = {"query": "  Reset my PASSWORD  please ", "collection": "help", "k": 2}
    found = ok(http.post("/v1/search", json=query, headers=keys["visitor"]))
    assert [hit["rank"] for hit in found["hits"]] == [1, 2]
    search_id = found["search_id"]
    (event,) = wait_for(lambda: stored(http, keys, kind="search", search_id=search_id), "the search event")
    assert (event["query"], event["collection"], event["user_id"]) == (
        "Reset my PASSWORD please",
        "help",
        "visitor-1",
    )
    assert event["data"]["hits"] == 2 and event["data"]["mode"] == "hybrid"
    assert event["data"]["document_ids"] == [hit["document_id"] for hit in found["hits"]]
    assert event["data"]["chunk_ids"] == [hit["chunk_id"] for hit in found["hits"]]
    assert event["value"] == found["hits"][0]["score"]

    second = found["hits"][1]
    click = {
        "event_id": new_id(),
        "kind": "click",
        "search_id": search_id,
        "query": query["query"],
        "document_id": second["document_id"],
        "chunk_id": second["chunk_id"],
        "rank": 2,
    }
    ok(post(http, keys["visitor"], click))
    ok(http.post("/v1/search", json={"query": "reset my password please", "k": 2}, headers=keys["backend"]))
    nothing = ok(http.post("/v1/search", json={"query": "zqxwv", "mode": "keyword"}, headers=keys["backend"]))
    assert nothing["hits"] == []
    wait_for(lambda: stored(http, keys, kind="search", query="zqxwv"), "the empty search's event")

    report = ok(http.get("/v1/analytics/search", params={"min_searches": 1}, headers=keys["admin"]))
    top = {q["query"]: q for q in report["top_queries"]}
    assert (top["reset my password please"]["searches"], top["reset my password please"]["clicked"]) == (2, 1)
    assert [q["query"] for q in report["zero_result_queries"]] == ["zqxwv"]
    assert "reset my password please" not in {q["query"] for q in report["no_click_queries"]}
    rank2 = report["ctr_by_rank"][1]
    assert (rank2["rank"], rank2["clicks"]) == (2, 1) and rank2["ctr"] == 1 / rank2["impressions"]
    assert report["ctr_by_rank"][0]["clicks"] == 0
    assert_error(http.get("/v1/analytics/search", headers=keys["backend"]), 403, "forbidden")


def test_the_export_pages_filters_and_is_audited(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    ids = [new_id() for _ in range(3)]
    ok(
        post(
            http,
            keys["admin"],
            *({"event_id": i, "kind": "view", "document_id": docs["refunds"]} for i in ids),
        )
    )
    params = {"kind": "view", "document_id": docs["refunds"], "limit": 2}
    first = ok(http.get("/v1/events/export", params=params, headers=keys["admin"]))
    rest = ok(
        http.get(
            "/v1/events/export", params={**params, "cursor": first["next_cursor"]}, headers=keys["admin"]
        )
    )
    paged = [e["event_id"] for e in first["items"] + rest["items"]]
    assert len(first["items"]) == 2 and paged[:3] == list(reversed(ids))  # newest first
    streamed = [
        e["event_id"] for e in exported(http, keys["admin"], kind="view", document_id=docs["refunds"])
    ]
    assert streamed[-3:] == ids  # oldest first
    later = (utcnow() + timedelta(hours=1)).isoformat()
    assert exported(http, keys["admin"], since=later) == []
    assert_error(
        http.get("/v1/events/export", params={"kind": "nope"}, headers=keys["admin"]), 422, "invalid_request"
    )
    audit = ok(http.get("/v1/audit", params={"action": "events.exported"}, headers=keys["admin"]))
    assert audit["items"] and audit["items"][0]["summary"]["format"] == "ndjson"


def test_erasing_an_end_user_erases_their_events(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    headers = {**keys["visitor"], "X-Lore-End-User": "leaving"}
    ok(http.post("/v1/search", json={"query": "refunds"}, headers=headers))
    ok(post(http, headers, {"event_id": new_id(), "kind": "view", "document_id": docs["refunds"]}))
    data = ok(http.get("/v1/end-users/leaving/export", headers=keys["admin"]))
    assert sorted(e["kind"] for e in data["events"]) == ["search", "view"]
    assert ok(http.delete("/v1/end-users/leaving", headers=keys["admin"]))["events"] == 2
    assert ok(http.get("/v1/end-users/leaving/export", headers=keys["admin"]))["events"] == []
    assert stored(http, keys, user_id="leaving") == []


def test_erasure_takes_the_end_users_events_still_waiting_to_be_written(
    tmp_path: Path, model_cache: Path
) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        event_flush_seconds=60,
    )
    with LiveServer(create_app(settings)) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        store = live.lore.store
        page = mint_key(
            store, scopes=PUBLISHABLE_SCOPES, kind="publishable", collections=frozenset({"default"})
        )
        ok(
            http.post(
                "/v1/search", json={"query": "refunds"}, headers={**bearer(page), "X-Lore-End-User": "u"}
            )
        )
        assert list(store.events.stream(TENANT)) == []  # recorded, not yet written
        assert ok(http.delete("/v1/end-users/u", headers=bearer(mint_key(store))))["events"] == 1
        live.lore.events.flush()
        assert list(store.events.stream(TENANT)) == []


def test_events_are_counted_by_kind_and_outcome(
    http: httpx.Client, keys: dict[str, dict[str, str]], docs: dict[str, str]
) -> None:
    ok(post(http, keys["backend"], {"event_id": new_id(), "kind": "view", "document_id": docs["password"]}))
    assert_error(
        post(http, keys["backend"], {"event_id": new_id(), "kind": "view"}), 422, "event_field_missing"
    )
    ok(http.post("/v1/search", json={"query": "refunds"}, headers=keys["backend"]))
    wanted = (
        'lore_events_total{kind="view",outcome="stored"}',
        'lore_events_total{kind="view",outcome="rejected"}',
        'lore_events_total{kind="search",outcome="stored"}',
    )
    scrape = lambda: http.get("/metrics", headers=keys["metrics"]).text  # noqa: E731
    wait_for(lambda: all(line in scrape() for line in wanted), "the event counters")
