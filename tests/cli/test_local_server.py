"""`lore search` and `lore ask` through a running `lore serve` of the same data dir, and the server's logs: a
real server process and real command processes."""

from __future__ import annotations

import json
from pathlib import Path

from lore.wire.schemas import SearchOut
from tests.cli.conftest import run
from tests.served import ServedLore, serve_env

ARTICLE = "# Refunds\n\nRefunds reach your card in five business days.\n"


def test_search_and_ask_use_the_running_server(tmp_path: Path, model_cache: Path) -> None:
    data_dir = tmp_path / "data"
    env = serve_env(data_dir, model_cache)
    (tmp_path / "refunds.md").write_text(ARTICLE)
    run("ingest", str(tmp_path / "refunds.md"), env=env)
    here = json.loads(run("search", "when is my refund paid", "--no-server", "--json", env=env).stdout)

    with ServedLore(env, cwd=tmp_path) as served:
        state = json.loads((data_dir / "server.json").read_text())
        assert state["url"] == served.url
        assert (data_dir / "cli-key").stat().st_mode & 0o777 == 0o600
        found = run("search", "when is my refund paid", env=env)
        assert f"via {served.url}" in found.stderr and "Refunds" in found.stdout
        there = json.loads(run("search", "when is my refund paid", "--json", env=env).stdout)
        asked = json.loads(run("ask", "How long do refunds take?", "--json", env=env).stdout)
        wrong = run("search", "refund", "--collection", "nope", env=env, check=False)

    assert SearchOut.model_validate(there).model_dump(mode="json") == there
    assert [hit["chunk_id"] for hit in there["hits"]] == [hit["chunk_id"] for hit in here["hits"]]
    assert [hit["relevance"] for hit in there["hits"]] == [hit["relevance"] for hit in here["hits"]]
    assert asked["answer"]["citations"][0]["title"] == "Refunds"
    assert asked["question"]["content"] == "How long do refunds take?"
    assert wrong.returncode == 2 and "no collection 'nope'" in wrong.stderr
    requests = {
        (line["method"], line["path"], line["status"])
        for line in (json.loads(text) for text in served.log.splitlines() if text.startswith("{"))
        if line["logger"] == "lore.access"  # stderr is a pipe: JSON lines
    }
    assert ("POST", "/v1/search", 200) in requests
    assert ("POST", f"/v1/conversations/{asked['conversation_id']}/messages", 201) in requests
    assert not (data_dir / "server.json").exists()  # gone with the server
    shown = json.loads(run("conversations", "show", asked["conversation_id"][:8], "--json", env=env).stdout)
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant"]


def test_access_logs_can_be_turned_off(tmp_path: Path, model_cache: Path) -> None:
    env = serve_env(tmp_path / "data", model_cache, access_log="false")
    with ServedLore(env, cwd=tmp_path) as served:
        run("search", "anything", env=env)
    assert "lore.access" not in served.log
    assert "Application startup complete" in served.log  # the server's own log stays
