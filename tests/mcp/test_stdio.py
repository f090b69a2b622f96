"""`lore mcp` as a subprocess over a temporary data dir, driven by the SDK's stdio client: the operator's read-only
default, `--write`, a key given in `LORE_KEY`, a refused key, and a stdout that carries nothing but the protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from lore.config import Settings
from lore.registry import create_store
from lore.security.keys import KeyRing
from lore.security.scopes import ROLE_SCOPES
from lore.service import Lore
from tests.event_loops import run_async
from tests.keys import mint_key
from tests.mcp.conftest import ACME, BOARD, PAYROLL, RESET, data, error, fill

Scenario = Callable[[ClientSession], Awaitable[Any]]
ROOT = Path(__file__).resolve().parents[2]


class Machine:
    """A data dir with the test documents, and how to run `lore mcp` on it."""

    def __init__(self, data_dir: Path, model_cache: Path) -> None:
        self.data_dir = data_dir
        self.settings = Settings(
            _env_file=None, data_dir=data_dir, model_cache_dir=model_cache, parse_workers=1, embed_threads=1
        )
        with Lore.open(self.settings) as lore:
            self.ids = fill(lore)
        self.env = {
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "LORE_MODEL_CACHE_DIR": str(model_cache),
            "LORE_PARSE_WORKERS": "1",
            "LORE_EMBED_THREADS": "1",
        }

    def key(self, role: str, **spec: Any) -> str:
        with Lore.open(self.settings) as lore:
            return mint_key(lore.store, scopes=ROLE_SCOPES[role], **spec)  # type: ignore[index]

    def revoke(self, token: str) -> None:
        db = create_store(self.settings)
        try:
            KeyRing(db.api_keys, db.tenants).revoke("default", token.split("_")[2])
        finally:
            db.close()

    def command(self, *options: str) -> list[str]:
        return [sys.executable, "-m", "lore", "mcp", "--data-dir", str(self.data_dir), *options]

    def run(self, scenario: Scenario, *options: str, env: dict[str, str] | None = None) -> Any:
        command, *args = self.command(*options)
        params = StdioServerParameters(command=command, args=args, env={**self.env, **(env or {})})

        async def main() -> Any:
            async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
                await client.initialize()
                return await scenario(client)

        return run_async(main)

    def audit(self) -> list[Any]:
        with Lore.open(self.settings) as lore:
            return lore.store.audit.page("default", 50).items


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Machine:
    return Machine(tmp_path_factory.mktemp("mcp-stdio"), model_cache)


def test_the_operator_reads_everything_of_its_tenant_but_writes_nothing(machine: Machine) -> None:
    ids = machine.ids

    async def scenario(client: ClientSession) -> None:
        assert [tool.name for tool in (await client.list_tools()).tools] == [
            "search",
            "ask",
            "get_document",
            "related",
        ]
        hits = data(await client.call_tool("search", {"query": "reset password"}))["hits"]
        assert hits[0]["title"] == RESET and hits[0]["document_id"] == ids[RESET]
        assert data(await client.call_tool("get_document", {"id": ids[BOARD]}))["title"] == BOARD
        assert data(await client.call_tool("get_document", {"id": ids[PAYROLL]}))["collection"] == "internal"
        assert "items" in data(await client.call_tool("related", {"document_id": ids[RESET]}))
        answer = data(await client.call_tool("ask", {"question": "How do I reset my password?"}))
        assert answer["abstained"] is False and answer["citations"][0]["document_id"] == ids[RESET]
        assert error(await client.call_tool("get_document", {"id": ids[ACME]}))["code"] == "not_found"
        assert error(await client.call_tool("search", {"query": "x", "k": -1}))["code"] == "invalid_input"
        refused = error(await client.call_tool("add_document", {"title": "t", "text": "x"}))
        assert refused["code"] == "forbidden"
        listed = {resource.name for resource in (await client.list_resources()).resources}
        assert {RESET, PAYROLL, BOARD} <= listed and ACME not in listed
        read = await client.read_resource(f"lore://documents/{ids[RESET]}")
        assert "Reset password" in read.contents[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError) as raised:
            await client.read_resource(f"lore://documents/{ids[ACME]}")
        assert raised.value.data["code"] == "not_found"

    machine.run(scenario)


def test_with_write_the_operator_adds_documents_and_the_audit_log_says_so(machine: Machine) -> None:
    async def scenario(client: ClientSession) -> str:
        added = data(
            await client.call_tool("add_document", {"title": "Close your account", "text": "Ask support."})
        )
        assert (
            data(await client.call_tool("get_document", {"id": added["id"]}))["title"] == "Close your account"
        )
        return str(added["id"])

    added = machine.run(scenario, "--write")
    record = next(r for r in machine.audit() if r.action == "document.added" and r.target == added)
    assert record.actor == "operator" and record.summary["via"] == "mcp"


def test_a_key_in_lore_key_acts_with_its_collections_and_scopes(machine: Machine) -> None:
    ids = machine.ids
    token = machine.key("viewer", collections=frozenset({"help"}))

    async def scenario(client: ClientSession) -> None:
        hits = data(await client.call_tool("search", {"query": "salaries paid every month", "k": 20}))["hits"]
        assert PAYROLL not in [hit["title"] for hit in hits]
        assert error(await client.call_tool("get_document", {"id": ids[PAYROLL]}))["code"] == "not_found"
        assert error(await client.call_tool("get_document", {"id": ids[BOARD]}))["code"] == "not_found"
        refused = error(
            await client.call_tool("add_document", {"title": "t", "text": "x", "collection": "help"})
        )
        assert refused["code"] == "forbidden"
        await anyio.to_thread.run_sync(machine.revoke, token)
        revoked = error(await client.call_tool("search", {"query": "reset password"}))
        assert revoked["code"] == "unauthenticated"

    machine.run(scenario, env={"LORE_KEY": token})


@pytest.mark.parametrize(
    ("options", "code"),
    [
        (["--key", "lore_sk_nothing_here"], "unauthenticated"),
        (["--key", "lore_sk_x", "--write"], "invalid_input"),
    ],
)
def test_a_refused_key_or_option_stops_it_before_serving(
    machine: Machine, options: list[str], code: str
) -> None:
    env = {**os.environ, **machine.env}
    done = subprocess.run(machine.command(*options), env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert f"[{code}]" in done.stderr


def test_stdout_carries_only_the_protocol(machine: Machine) -> None:
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "search", "arguments": {"query": "reset"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "search", "arguments": {"k": "x"}},
        },
    ]
    env = {**os.environ, **machine.env, "LORE_LOG_LEVEL": "DEBUG"}
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen(machine.command(), env=env, text=True, **pipes) as process:  # type: ignore[call-overload]
        watchdog = threading.Timer(120, process.kill)
        watchdog.start()
        process.stdin.write("".join(json.dumps(message) + "\n" for message in messages))
        process.stdin.flush()
        replies: dict[int, dict[str, Any]] = {}
        while len(replies) < 3 and (line := process.stdout.readline()):
            reply = json.loads(line)  # every line is a JSON-RPC message, the logs are on stderr
            assert reply["jsonrpc"] == "2.0"
            replies[reply["id"]] = reply
        process.stdin.close()
        rest, logs = process.stdout.read(), process.stderr.read()
        process.wait()
        watchdog.cancel()
    assert rest == "" and process.returncode == 0, logs
    assert replies[2]["result"]["isError"] is False and replies[3]["result"]["isError"] is True
