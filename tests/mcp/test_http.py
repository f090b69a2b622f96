"""The MCP endpoint `POST /mcp` of a real server, driven by the SDK's streamable-HTTP client: every tool and the
resources, as keys and user tokens of different scopes, collections and tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from lore.security.scopes import ROLE_SCOPES, Scope
from tests.api.conftest import LiveServer, small_server
from tests.event_loops import run_async
from tests.keys import bearer, mint_key
from tests.mcp.conftest import ACME, BOARD, PAYROLL, RESET, data, error, fill

Scenario = Callable[[ClientSession], Awaitable[Any]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    with small_server(tmp_path_factory.mktemp("mcp-http"), model_cache) as live:
        live.ids = fill(live.lore)  # type: ignore[attr-defined]
        yield live


@pytest.fixture(scope="module")
def ids(server: LiveServer) -> dict[str, str]:
    return server.ids  # type: ignore[attr-defined,no-any-return]


def key(server: LiveServer, role: str = "editor", tenant: str = "default", **spec: Any) -> str:
    return mint_key(server.lore.store, tenant, ROLE_SCOPES[role], **spec)  # type: ignore[index]


@asynccontextmanager
async def session(server: LiveServer, token: str) -> AsyncIterator[ClientSession]:
    async with (
        create_mcp_http_client(headers=bearer(token)) as http,
        streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        yield client


def run(server: LiveServer, token: str, scenario: Scenario) -> Any:
    async def main() -> Any:
        async with session(server, token) as client:
            return await scenario(client)

    return run_async(main)


def test_the_tools_listed_are_those_the_caller_may_use(server: LiveServer) -> None:
    async def names(client: ClientSession) -> list[str]:
        return [tool.name for tool in (await client.list_tools()).tools]

    assert run(server, key(server, "editor"), names) == [
        "search",
        "ask",
        "get_document",
        "related",
        "add_document",
    ]
    assert run(server, key(server, "viewer"), names) == ["search", "ask", "get_document", "related"]


def test_search_get_document_and_related(server: LiveServer, ids: dict[str, str]) -> None:
    async def scenario(client: ClientSession) -> None:
        hits = data(await client.call_tool("search", {"query": "reset password", "k": 5}))["hits"]
        top = hits[0]
        assert top["title"] == RESET and top["document_id"] == ids[RESET]
        assert {"snippet", "source", "score", "collection", "rank"} <= top.keys() and top["score"] > 0
        keyword = data(
            await client.call_tool("search", {"query": "invoice", "mode": "keyword", "collection": "help"})
        )
        assert [hit["title"] for hit in keyword["hits"]] == ["Download an invoice"]
        document = data(await client.call_tool("get_document", {"id": ids[RESET]}))
        assert document["title"] == RESET and "Reset password" in document["text"]
        assert document["collection"] == "help" and document["tags"] == ["account"] and "source" in document
        related = data(await client.call_tool("related", {"document_id": ids[RESET], "k": 3}))
        assert set(related) == {"items", "model_version", "model_id"}
        assert ids[RESET] not in [item["document_id"] for item in related["items"]]

    run(server, key(server, "viewer"), scenario)


def test_ask_answers_with_citations_and_follows_up(server: LiveServer, ids: dict[str, str]) -> None:
    async def scenario(client: ClientSession) -> None:
        first = data(await client.call_tool("ask", {"question": "How do I reset my password?"}))
        assert first["abstained"] is False and "[1]" in first["answer"]
        assert first["citations"][0]["document_id"] == ids[RESET]
        follow_up = {"question": "And where do I find invoices?", "conversation_id": first["conversation_id"]}
        second = data(await client.call_tool("ask", follow_up))
        assert second["conversation_id"] == first["conversation_id"]
        assert isinstance(second["abstained"], bool)
        unknown = data(await client.call_tool("ask", {"question": "What is the airspeed of a swallow?"}))
        assert unknown["abstained"] is True and unknown["citations"] == []

    run(server, key(server, "viewer"), scenario)


def test_someone_elses_conversation_is_not_found(server: LiveServer) -> None:
    async def start(client: ClientSession) -> str:
        return str(
            data(await client.call_tool("ask", {"question": "How do I reset my password?"}))[
                "conversation_id"
            ]
        )

    conversation = run(server, key(server, "viewer"), start)

    async def follow(client: ClientSession) -> None:
        asked = {"question": "And then?", "conversation_id": conversation}
        assert error(await client.call_tool("ask", asked))["code"] == "not_found"

    run(server, key(server, "viewer"), follow)


def test_a_viewer_may_not_add_documents(server: LiveServer) -> None:
    async def scenario(client: ClientSession) -> None:
        refused = error(await client.call_tool("add_document", {"title": "Mine", "text": "Hello"}))
        assert refused["code"] == "forbidden" and refused["details"]["required"] == "documents:write"

    run(server, key(server, "viewer"), scenario)


def test_an_added_document_is_searchable_and_audited(server: LiveServer) -> None:
    token = key(server, "editor")
    arguments = {
        "title": "Change your email",
        "text": "Account, then Email, then Save.",
        "collection": "help",
    }

    async def scenario(client: ClientSession) -> dict[str, Any]:
        added = data(await client.call_tool("add_document", {**arguments, "tags": ["account"]}))
        found = data(await client.call_tool("get_document", {"id": added["id"]}))
        assert found["text"].endswith("Account, then Email, then Save.") and found["tags"] == ["account"]
        hits = data(await client.call_tool("search", {"query": "change email", "collection": "help"}))["hits"]
        assert hits[0]["document_id"] == added["id"]
        return added

    added = run(server, token, scenario)
    records = server.lore.store.audit.page("default", 50).items
    record = next(r for r in records if r.action == "document.added" and r.target == added["id"])
    assert record.actor == f"key:{token.split('_')[2]}"
    assert record.summary["via"] == "mcp" and record.summary["title"] == "Change your email"


def test_a_key_of_one_collection_sees_nothing_of_another(server: LiveServer, ids: dict[str, str]) -> None:
    async def scenario(client: ClientSession) -> None:
        hits = data(await client.call_tool("search", {"query": "salaries paid 25th month", "k": 20}))["hits"]
        assert {hit["collection"] for hit in hits} <= {"help"} and PAYROLL not in [h["title"] for h in hits]
        assert error(await client.call_tool("get_document", {"id": ids[PAYROLL]}))["code"] == "not_found"
        refused = error(await client.call_tool("search", {"query": "salaries", "collection": "internal"}))
        assert refused["code"] == "forbidden"
        listed = [resource.name for resource in (await client.list_resources()).resources]
        assert RESET in listed and PAYROLL not in listed
        with pytest.raises(MCPError) as raised:
            await client.read_resource(f"lore://documents/{ids[PAYROLL]}")
        assert raised.value.data["code"] == "not_found"
        denied = error(
            await client.call_tool("add_document", {"title": "x", "text": "y", "collection": "internal"})
        )
        assert denied["code"] == "forbidden"
        asked = {"question": "When are salaries paid?", "collection": "internal"}
        assert error(await client.call_tool("ask", asked))["code"] == "forbidden"
        answer = data(await client.call_tool("ask", {"question": "When are salaries paid?"}))
        assert PAYROLL not in [citation["title"] for citation in answer["citations"]]

    token = key(server, "editor", collections=frozenset({"help"}))
    run(server, token, scenario)
    with httpx.Client(base_url=server.url, timeout=60, headers=bearer(token)) as http:
        conversations = http.get("/v1/conversations").json()["items"]
    assert len(conversations) == 1  # the refused question started none


def test_a_restricted_document_is_seen_only_by_its_readers(server: LiveServer, ids: dict[str, str]) -> None:
    async def reads(client: ClientSession) -> bool:
        return not (await client.call_tool("get_document", {"id": ids[BOARD]})).is_error

    assert run(server, key(server, "viewer"), reads) is False
    assert run(server, key(server, "viewer", groups=frozenset({"board"})), reads) is True
    assert run(server, key(server, "admin"), reads) is True


def test_another_tenants_documents_are_not_found(server: LiveServer, ids: dict[str, str]) -> None:
    async def scenario(client: ClientSession) -> None:
        assert error(await client.call_tool("get_document", {"id": ids[ACME]}))["code"] == "not_found"
        assert error(await client.call_tool("related", {"document_id": ids[ACME]}))["code"] == "not_found"
        hits = data(await client.call_tool("search", {"query": "Acme launch day password", "k": 20}))["hits"]
        assert ACME not in [hit["title"] for hit in hits]
        with pytest.raises(MCPError) as raised:
            await client.read_resource(f"lore://documents/{ids[ACME]}")
        assert raised.value.data["code"] == "not_found"

    run(server, key(server, "admin"), scenario)

    async def own(client: ClientSession) -> list[str]:
        return [resource.name for resource in (await client.list_resources()).resources]

    assert run(server, key(server, "viewer", tenant="acme"), own) == [ACME]


def test_bad_input_is_refused_with_its_code(server: LiveServer) -> None:
    async def scenario(client: ClientSession) -> None:
        bad = [
            ("search", {"query": "x", "k": 0}),
            ("search", {"k": 3}),
            ("search", {"query": "x", "mode": "psychic"}),
            ("search", {"query": "x", "colour": "blue"}),
            ("get_document", {"id": ""}),
            ("related", {"document_id": "x", "k": 1000}),
            ("ask", {"question": ""}),
            ("add_document", {"title": "t", "text": ""}),
        ]
        for name, arguments in bad:
            assert error(await client.call_tool(name, arguments))["code"] == "invalid_input", (
                name,
                arguments,
            )
        assert error(await client.call_tool("teleport", {}))["code"] == "not_found"
        with pytest.raises(MCPError) as raised:
            await client.read_resource("https://example.com/elsewhere")
        assert raised.value.data["code"] == "invalid_input"

    run(server, key(server, "editor"), scenario)


def test_documents_are_resources_listed_a_page_at_a_time(server: LiveServer) -> None:
    server.lore.store.tenants.create("many")
    for n in range(55):
        server.lore.add_text(title=f"Note {n:02}", text=f"Note number {n}.", tenant_id="many")

    async def scenario(client: ClientSession) -> None:
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["lore://documents/{id}"]
        first = await client.list_resources()
        assert len(first.resources) == 50 and first.next_cursor is not None
        rest = await client.list_resources(params=types.PaginatedRequestParams(cursor=first.next_cursor))
        assert len(rest.resources) == 5 and rest.next_cursor is None
        names = {r.name for r in first.resources + rest.resources}
        assert names == {f"Note {n:02}" for n in range(55)}
        read = await client.read_resource(rest.resources[0].uri)
        assert read.contents[0].text.startswith("Note number")  # type: ignore[union-attr]

    run(server, key(server, "viewer", tenant="many"), scenario)


def test_a_user_token_authenticates_too(server: LiveServer) -> None:
    identity = server.app.state.identity
    user = identity.users.create("default", "mcp-viewer@example.com", "viewer", None)
    token = identity.logins.issue_tokens(user).access_token

    async def names(client: ClientSession) -> list[str]:
        hits = data(await client.call_tool("search", {"query": "reset password"}))["hits"]
        assert hits[0]["title"] == RESET
        return [tool.name for tool in (await client.list_tools()).tools]

    assert run(server, token, names) == ["search", "ask", "get_document", "related"]


def refusal(response: httpx.Response, status: int, code: str) -> None:
    """The API's status and error object, in a JSON-RPC error an MCP client reads."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["error"]["code"] == -32000
    assert body["error"]["data"]["code"] == code and set(body["error"]["data"]) == {
        "code",
        "message",
        "details",
    }


def test_the_endpoint_needs_a_bearer_secret_key_and_is_rate_limited(server: LiveServer) -> None:
    message = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream"}
    with httpx.Client(base_url=server.url, timeout=60, headers=headers) as http:
        unauthenticated = http.post("/mcp", json=message)
        refusal(unauthenticated, 401, "unauthenticated")
        assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
        publishable = mint_key(
            server.lore.store,
            scopes=frozenset({Scope.SEARCH}),
            kind="publishable",
            collections=frozenset({"help"}),
        )
        refusal(http.post("/mcp", json=message, headers=bearer(publishable)), 403, "forbidden")
        limited = bearer(key(server, "viewer", rate_limit="2/minute"))
        assert http.post("/mcp", json=message, headers=limited).status_code == 200
        assert http.post("/mcp", json=message, headers=limited).status_code == 200
        over = http.post("/mcp", json=message, headers=limited)
        refusal(over, 429, "rate_limited")
        assert int(over.headers["retry-after"]) > 0

    async def over_limit(client: ClientSession) -> None:
        await client.call_tool("search", {"query": "reset"})

    with pytest.raises(ExceptionGroup) as raised:  # the SDK's client fails the message refused
        run(server, key(server, "viewer", rate_limit="2/minute"), over_limit)
    refused = raised.value
    while isinstance(refused, ExceptionGroup):
        refused = refused.exceptions[0]
    assert isinstance(refused, MCPError) and refused.data["code"] == "rate_limited"


def test_usage_counts_the_tools_as_their_routes(server: LiveServer) -> None:
    server.lore.store.tenants.create("counted")
    token = key(server, "editor", tenant="counted")

    async def scenario(client: ClientSession) -> None:
        data(await client.call_tool("search", {"query": "anything"}))
        data(await client.call_tool("add_document", {"title": "Counted", "text": "One document."}))

    run(server, token, scenario)
    with httpx.Client(
        base_url=server.url, timeout=60, headers=bearer(key(server, "admin", tenant="counted"))
    ) as http:
        usage = http.get("/v1/usage")
    assert usage.status_code == 200, usage.text
    totals = usage.json()["totals"]
    assert totals["searches"] == 1 and totals["bytes_ingested"] > len("One document.")
    assert totals["requests"] >= 4  # initialize, initialized, the two calls (and the usage request itself)


def test_a_key_that_only_searches_reads_no_documents(server: LiveServer, ids: dict[str, str]) -> None:
    async def scenario(client: ClientSession) -> None:
        assert [tool.name for tool in (await client.list_tools()).tools] == ["search", "related"]
        assert error(await client.call_tool("get_document", {"id": ids[RESET]}))["code"] == "forbidden"
        assert error(await client.call_tool("ask", {"question": "How do I reset it?"}))["code"] == "forbidden"
        for attempt in (client.list_resources(), client.read_resource(f"lore://documents/{ids[RESET]}")):
            with pytest.raises(MCPError) as raised:
                await attempt
            assert raised.value.data["code"] == "forbidden"

    run(server, mint_key(server.lore.store, scopes=frozenset({Scope.SEARCH})), scenario)
