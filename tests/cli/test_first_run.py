"""What a new user meets on the command line: honest errors and exit codes, ids by prefix, tables that fit,
JSON in the API's shapes, progress that reads well in a log. Real processes on real data dirs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from lore.backends.store.schema import conversations
from lore.config import Settings
from lore.registry import create_store
from lore.wire.conversations import ConversationExport, ConversationPage
from lore.wire.schemas import CollectionDeleted, CollectionList, CollectionOut, JobOut
from lore.wire.security import KeyOut, TenantOut
from tests.cli.conftest import run

LONG_TITLE = "How to reset a forgotten password when the recovery email no longer reaches you"


def article(folder: Path, name: str, title: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"# {title}\n\n{body}\n")
    return path


@pytest.fixture
def indexed(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """A knowledge base of two articles in `help` and one in `billing`."""
    help_dir = tmp_path / "deeply" / "nested" / "folders" / "of" / "the" / "help-centre"
    article(help_dir, "passwords.md", LONG_TITLE, "Open Settings, then Security, then Reset password.")
    article(help_dir, "shipping.md", "Shipping", "Parcels leave the warehouse every morning.")
    article(tmp_path / "billing", "refunds.md", "Refunds", "Refunds reach your card in five business days.")
    run("ingest", str(help_dir), "--collection", "help", env=env)
    run("ingest", str(tmp_path / "billing"), "--collection", "billing", env=env)
    return env


def documents(env: dict[str, str]) -> list[dict[str, object]]:
    return list(json.loads(run("documents", "list", "--json", env=env).stdout)["items"])


# -- honest about where the data is ----------------------------------------------------------------------------


def test_a_command_outside_a_project_creates_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    bare = {name: value for name, value in env.items() if name != "LORE_DATA_DIR"}
    for command in (
        ["search", "refunds"],
        ["documents", "list"],
        ["collections", "list"],
        ["backup", "x.tar"],
    ):
        result = run(*command, env=bare, cwd=tmp_path, check=False)
        assert result.returncode == 2, command
        assert f"no Lore data in {tmp_path / 'lore-data'}" in result.stderr and "lore ingest" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_empty_knowledge_base_says_so(tmp_path: Path, env: dict[str, str]) -> None:
    created = run("migrate", env=env)
    assert "new data dir: " in created.stderr
    found = run("search", "refunds", env=env)
    assert found.stdout == "" and "is empty: add documents with `lore ingest PATH`" in found.stderr
    assert "is empty" in run("documents", "list", env=env).stderr
    assert json.loads(run("documents", "list", "--json", env=env).stdout)["items"] == []


def test_an_unknown_collection_is_an_error_naming_the_others(indexed: dict[str, str]) -> None:
    for command in (["search", "refunds"], ["documents", "list"], ["collections", "show", "nope"]):
        if command[0] != "collections":
            command = [*command, "--collection", "nope"]
        result = run(*command, env=indexed, check=False)
        assert result.returncode == 2, command
        assert "no collection 'nope' (collections: billing, help)" in result.stderr


# -- ids, tables and JSON ---------------------------------------------------------------------------------------


def test_ids_are_taken_by_unique_prefix(indexed: dict[str, str]) -> None:
    target = next(d for d in documents(indexed) if d["title"] == "Shipping")
    full_id = str(target["id"])
    shown = json.loads(run("documents", "show", full_id[:8], "--json", env=indexed).stdout)
    assert shown["id"] == full_id and "warehouse" in shown["text"]
    too_short = run("documents", "show", full_id[:3], env=indexed, check=False)
    assert too_short.returncode == 2 and "at least 4 characters" in too_short.stderr
    deleted = json.loads(run("documents", "delete", full_id[:6], "--json", env=indexed).stdout)
    assert deleted == {"id": full_id, "deleted": True}
    assert full_id not in [d["id"] for d in documents(indexed)]


def test_an_ambiguous_prefix_lists_the_candidates(indexed: dict[str, str]) -> None:
    settings = Settings(_env_file=None, data_dir=Path(indexed["LORE_DATA_DIR"]))
    db = create_store(settings)
    try:
        for suffix in ("1", "2"):
            made = db.conversations.create("default", title=f"chat {suffix}")
            with db.engine.begin() as conn:
                rename = sa.update(conversations).where(conversations.c.id == made.id)
                conn.execute(rename.values(id=f"abcd{suffix}" + made.id[5:]))
    finally:
        db.close()
    listed = json.loads(run("conversations", "list", "--json", env=indexed).stdout)
    assert ConversationPage.model_validate(listed).model_dump(mode="json") == listed
    ambiguous = run("conversations", "show", "abcd", env=indexed, check=False)
    assert ambiguous.returncode == 2 and "error [invalid_input]" in ambiguous.stderr
    assert all(item["id"] in ambiguous.stderr for item in listed["items"])
    one = json.loads(run("conversations", "show", "abcd1", "--json", env=indexed).stdout)
    assert ConversationExport.model_validate(one).model_dump(mode="json") == one
    assert (one["title"], one["messages"]) == ("chat 1", [])


def test_tables_fit_the_terminal_without_wrapping(indexed: dict[str, str]) -> None:
    narrow = {**indexed, "COLUMNS": "80"}
    ids = {str(d["id"])[:12] for d in documents(indexed)}
    for command in (["documents", "list"], ["collections", "list"]):
        lines = run(*command, env=narrow).stdout.splitlines()
        assert lines and all(len(line) <= 80 for line in lines), command
    rows = run("documents", "list", env=narrow).stdout.splitlines()[2:]
    assert len(rows) == 3  # one line per document: no cell wrapped
    assert {row.split()[0] for row in rows} == ids  # whole short ids, which `show` takes back
    assert any("…" in row for row in rows)  # long titles and paths cut
    wide = run("documents", "list", env=indexed).stdout  # piped: nothing cut
    assert LONG_TITLE in wide and "help-centre/passwords.md" in wide


def test_collections_are_listed_shown_and_deleted_after_asking(indexed: dict[str, str]) -> None:
    listed = json.loads(run("collections", "list", "--json", env=indexed).stdout)
    assert CollectionList.model_validate(listed).model_dump(mode="json") == listed
    assert [(c["name"], c["document_count"]) for c in listed["items"]] == [("billing", 1), ("help", 2)]
    one = json.loads(run("collections", "show", "help", "--json", env=indexed).stdout)
    assert CollectionOut.model_validate(one).model_dump(mode="json") == one
    unasked = run("collections", "delete", "help", env=indexed, check=False)
    assert unasked.returncode == 2 and "pass --yes" in unasked.stderr
    assert len(documents(indexed)) == 3
    gone = json.loads(run("collections", "delete", "help", "--yes", "--json", env=indexed).stdout)
    assert CollectionDeleted.model_validate(gone).model_dump() == {"name": "help", "deleted_documents": 2}
    assert [d["collection"] for d in documents(indexed)] == ["billing"]
    assert run("search", "password", "--collection", "help", env=indexed, check=False).returncode == 2
    hits = json.loads(run("search", "reset my password", "--json", env=indexed).stdout)["hits"]
    assert {hit["collection"] for hit in hits} <= {"billing"}


def test_every_command_that_prints_can_print_json(indexed: dict[str, str]) -> None:
    created = json.loads(run("keys", "create", "--scope", "search", "--json", env=indexed).stdout)
    revoked = json.loads(run("keys", "revoke", created["id"][:6], "--json", env=indexed).stdout)
    assert KeyOut.model_validate(revoked).model_dump(mode="json") == revoked and revoked["state"] == "revoked"
    run("tenants", "create", "acme", env=indexed)
    disabled = json.loads(run("tenants", "disable", "acme", "--json", env=indexed).stdout)
    assert TenantOut.model_validate(disabled).model_dump(mode="json") == disabled
    assert disabled["disabled_at"] is not None
    key = json.loads(run("secrets", "generate-key", "--json", env=indexed).stdout)["key"]
    assert len(key) == 44
    status = run("index", "status", env=indexed).stdout
    assert "applied_seq" in status and "{" not in status and "'" not in status


def test_a_job_is_shown_readably_by_its_prefix(indexed: dict[str, str]) -> None:
    db = create_store(Settings(_env_file=None, data_dir=Path(indexed["LORE_DATA_DIR"])))
    try:
        job = db.jobs.insert("default", "rebuild_index", {"tenant_id": "default"}, 3)
        db.jobs.claim(job.id, "tester", 60)
        db.jobs.succeed(job.id, "tester", {"vectors": 4, "by_collection": {"help": 3, "billing": 1}})
    finally:
        db.close()
    shown = run("jobs", "show", job.id[:8], env=indexed).stdout
    assert f"{job.id} rebuild_index: succeeded" in shown
    assert re.search(r"vectors\s+4", shown) and re.search(r"help\s+3", shown)
    assert "{'" not in shown
    as_json = json.loads(run("jobs", "show", job.id[:8], "--json", env=indexed).stdout)
    assert JobOut.model_validate(as_json).model_dump(mode="json") == as_json
    listed = run("jobs", "list", env={**indexed, "COLUMNS": "80"}).stdout.splitlines()
    assert all(len(line) <= 80 for line in listed) and job.id[:12] in listed[2]


# -- refusals and exit codes ------------------------------------------------------------------------------------


def test_backup_refuses_to_overwrite_without_force(tmp_path: Path, indexed: dict[str, str]) -> None:
    archive = tmp_path / "lore.tar"
    archive.write_bytes(b"precious")
    refused = run("backup", str(archive), env=indexed, check=False)
    assert refused.returncode == 2 and "exists: pass --force" in refused.stderr
    assert archive.read_bytes() == b"precious"
    forced = json.loads(run("backup", str(archive), "--force", "--json", env=indexed).stdout)
    assert forced["path"] == str(archive) and archive.stat().st_size > 8


def test_urls_are_refused(tmp_path: Path, env: dict[str, str]) -> None:
    result = run("ingest", "https://help.example.com/articles/refunds", env=env, check=False)
    assert result.returncode == 2
    assert "https://help.example.com/articles/refunds is a URL" in result.stderr
    assert not Path(env["LORE_DATA_DIR"]).exists()


def test_ingest_exits_1_when_some_file_failed(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "mixed"
    article(folder, "good.md", "Good", "A perfectly ordinary article.")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 this is no pdf at all")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n")
    partial = run("ingest", str(folder), "--json", env=env, check=False)
    report = json.loads(partial.stdout)
    assert partial.returncode == 1
    assert report["added"] == 1
    assert [Path(f["source"]).name for f in report["failures"]] == ["broken.pdf"]
    assert [Path(f["source"]).name for f in report["skipped"]] == ["logo.png"]
    (folder / "broken.pdf").unlink()
    assert run("ingest", str(folder), env=env).returncode == 0  # a skipped image is no failure
    alone = run("ingest", str(folder / "logo.png"), env=env, check=False)  # named on its own: a failure
    assert alone.returncode == 1 and "unsupported file type '.png'" in alone.stderr


def test_ingest_progress_reads_well_when_piped(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "articles"
    for number in range(3):
        article(folder, f"a{number}.md", f"Article {number}", "Some words about a topic. " * 40)
    shown = run("ingest", str(folder), env=env).stderr
    lines = [line for line in shown.splitlines() if line.startswith("ingesting:")]
    assert "\r" not in shown and "\x1b[" not in shown  # plain lines, no terminal control
    assert re.match(r"ingesting:\s+0% counting files", lines[0])
    assert re.match(r"ingesting: 100% 3/3 files · \d+ chunks · [\d.]+ chunks/s", lines[-1])
    assert "3 files: 3 added" in shown
    (folder / "a0.md").write_text("# Article 0\n\nChanged.\n")
    quiet = run("ingest", str(folder), "--quiet", env=env)
    assert quiet.stderr == ""
