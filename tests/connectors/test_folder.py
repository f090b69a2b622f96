"""A folder synced as its files are added, edited and removed, by `Syncer`, by `lore sync` and by `lore watch`."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lore.cli.main import app as cli
from lore.connectors import ListingFailed, SourceSpec, Syncer, SyncReport
from lore.connectors.watch import watch
from lore.service import Lore


def _sources(lore: Lore, collection: str) -> set[str]:
    return set(lore.store.documents.document_hashes("default", collection))


def test_a_folder_sync_adds_updates_and_removes(lore: Lore, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nThe first page.")
    (docs / "b.txt").write_text("The second page.")
    (docs / "logo.png").write_bytes(b"\x89PNG")
    spec = SourceSpec("folder", str(docs), "kb")
    first = Syncer(lore).run(spec)
    assert (first.added, first.updated, first.unchanged, first.removed) == (2, 0, 0, 0)
    assert [Path(f.source).name for f in first.skipped] == ["logo.png"]
    (docs / "a.md").write_text("# Alpha\n\nThe first page, edited.")
    (docs / "b.txt").unlink()
    (docs / "c.md").write_text("A third page.")
    second = Syncer(lore).run(spec)
    assert (second.added, second.updated, second.unchanged, second.removed) == (1, 1, 0, 1)
    assert _sources(lore, "kb") == {str(docs / "a.md"), str(docs / "c.md")}
    assert Syncer(lore).run(spec).unchanged == 2


def test_a_missing_folder_fails_the_listing_and_removes_nothing(lore: Lore, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("Kept.")
    spec = SourceSpec("folder", str(docs), "kb")
    Syncer(lore).run(spec)
    (docs / "a.md").rename(tmp_path / "a.md")
    docs.rmdir()
    with pytest.raises(ListingFailed):
        Syncer(lore).run(spec)
    assert _sources(lore, "kb") == {str(docs / "a.md")}


def test_lore_sync_prints_the_report_as_json(tmp_path: Path, model_cache: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nThe first page.")
    env = {"LORE_MODEL_CACHE_DIR": str(model_cache), "LORE_PARSE_WORKERS": "1"}
    args = ["sync", str(docs), "--collection", "kb", "--data-dir", str(tmp_path / "data"), "--json"]
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout.strip().splitlines()[-1])["added"] == 1
    missing = CliRunner().invoke(cli, [*args[:1], str(tmp_path / "nowhere"), *args[2:]], env=env)
    assert isinstance(missing.exception, ListingFailed)  # `lore` (main) exits 2 on it, as on any LoreError


def test_watch_syncs_a_folder_as_its_files_change(lore: Lore, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("First.")
    reports: list[SyncReport] = []
    synced = threading.Condition()
    stop = threading.Event()

    def on_sync(report: SyncReport) -> None:
        with synced:
            reports.append(report)
            synced.notify_all()

    def wait_for(count: int) -> None:
        with synced:
            assert synced.wait_for(lambda: len(reports) >= count, timeout=30)

    worker = threading.Thread(
        target=watch, args=(Syncer(lore), SourceSpec("folder", str(docs), "kb"), on_sync, stop)
    )
    worker.start()
    try:
        wait_for(1)
        (docs / "b.md").write_text("Second.")
        wait_for(2)
        assert _sources(lore, "kb") == {str(docs / "a.md"), str(docs / "b.md")}
        (docs / "a.md").unlink()
        wait_for(3)
        assert _sources(lore, "kb") == {str(docs / "b.md")}
    finally:
        stop.set()
        worker.join()
    assert reports[0].added == 1 and reports[1].added == 1 and reports[2].removed == 1


def test_lore_sources_adds_lists_syncs_and_removes_a_stored_folder(tmp_path: Path, model_cache: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nThe first page.")
    env = {"LORE_MODEL_CACHE_DIR": str(model_cache), "LORE_PARSE_WORKERS": "1"}
    where = ["--data-dir", str(tmp_path / "data")]

    def lore(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, *where], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    added = json.loads(
        lore("sources", "add", "handbook", str(docs), "--collection", "kb", "--every", "600", "--json")
    )
    assert (added["kind"], added["interval_seconds"], added["next_run_at"] is not None) == (
        "folder",
        600,
        True,
    )
    assert json.loads(lore("sources", "sync", "handbook", "--json").strip().splitlines()[-1])["added"] == 1
    (docs / "a.md").unlink()
    assert json.loads(lore("sources", "sync", "handbook", "--json").strip().splitlines()[-1])["removed"] == 1
    (listed,) = json.loads(lore("sources", "list", "--json"))["items"]
    assert listed["last_run"]["removed"] == 1 and listed["documents"] == 0
    lore("sources", "remove", "handbook")
    assert json.loads(lore("sources", "list", "--json"))["items"] == []
