"""Bad archives and bad targets are refused with clear errors, and a refused restore changes nothing."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lore.backup import BackupCorrupt, BackupUnsupported, RestoreTargetNotEmpty, create_backup, restore_backup
from lore.backup.archive import MANIFEST, file_digest
from lore.config import Settings
from lore.errors import InvalidInput, LoreError, NotFound
from lore.service import Lore
from tests.backup.conftest import fill

Members = dict[str, bytes]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    root = tmp_path_factory.mktemp("good")
    settings = Settings(_env_file=None, data_dir=root / "data", model_cache_dir=model_cache, parse_workers=1)
    with Lore.open(settings) as lore:
        fill(lore)
        return create_backup(lore.store, root / "good.tar").path


def members(path: Path) -> Members:
    with tarfile.open(path) as tar:
        return {info.name: tar.extractfile(info).read() for info in tar.getmembers()}  # type: ignore[union-attr]


def write_tar(path: Path, content: Members) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def edit_manifest(content: Members, change: Callable[[dict[str, Any]], None]) -> Members:
    manifest = json.loads(content[MANIFEST])
    change(manifest)
    return {**content, MANIFEST: json.dumps(manifest).encode()}


def assert_refused(settings: Settings, archive: Path, error: type[LoreError], code: str) -> None:
    with pytest.raises(error) as raised:
        restore_backup(settings, archive)
    assert raised.value.code == code


def test_restore_refuses_a_store_that_holds_data(
    good: Path, make_settings: Callable[[str], Settings]
) -> None:
    target = make_settings("sqlite")
    restore_backup(target, good)
    assert_refused(target, good, RestoreTargetNotEmpty, "restore_target_not_empty")
    with Lore.open(target) as lore:
        assert len(lore.list_documents(limit=50).items) == 8  # restored once, not twice


def test_damaged_archives_are_refused_and_leave_the_target_empty(
    good: Path, make_settings: Callable[[str], Settings], tmp_path: Path
) -> None:
    data = good.read_bytes()
    target = make_settings("sqlite")
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(data[: len(data) // 2])
    assert_refused(target, truncated, BackupCorrupt, "backup_corrupt")
    content = members(good)
    flipped = bytearray(content["tables/chunks.jsonl.gz"])
    flipped[len(flipped) // 2] ^= 0xFF
    damaged = write_tar(tmp_path / "flipped.tar", {**content, "tables/chunks.jsonl.gz": bytes(flipped)})
    assert_refused(target, damaged, BackupCorrupt, "backup_corrupt")
    missing = write_tar(tmp_path / "missing.tar", {k: v for k, v in content.items() if "documents" not in k})
    assert_refused(target, missing, BackupCorrupt, "backup_corrupt")
    restore_backup(target, good)  # nothing was half-restored: the target is still empty


def test_a_row_count_that_disagrees_rolls_the_whole_load_back(
    good: Path, make_settings: Callable[[str], Settings], tmp_path: Path
) -> None:
    """Checksums match, but the last table holds one row less than the manifest says: found mid-load."""
    content = members(good)

    def claim_one_more_tag(manifest: dict[str, Any]) -> None:
        entry = next(table for table in manifest["tables"] if table["name"] == "document_tags")
        entry["rows"] += 1

    target = make_settings("sqlite")
    assert_refused(
        target,
        write_tar(tmp_path / "short.tar", edit_manifest(content, claim_one_more_tag)),
        BackupCorrupt,
        "backup_corrupt",
    )
    report = restore_backup(target, good)
    assert report.tables["documents"] == 8


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        (lambda m: m.update(format="zip"), BackupCorrupt, "backup_corrupt"),
        (lambda m: m.pop("tables"), BackupCorrupt, "backup_corrupt"),
        (lambda m: m.update(format_version=99), BackupUnsupported, "backup_unsupported"),
        (lambda m: m.update(revision="9999"), BackupUnsupported, "backup_unsupported"),
    ],
    ids=["not-lore", "incomplete", "future-format", "unknown-revision"],
)
def test_manifests_this_lore_cannot_use_are_refused(
    change: Callable[[dict[str, Any]], None],
    error: type[LoreError],
    code: str,
    good: Path,
    make_settings: Callable[[str], Settings],
    tmp_path: Path,
) -> None:
    archive = write_tar(tmp_path / "edited.tar", edit_manifest(members(good), change))
    assert_refused(make_settings("sqlite"), archive, error, code)


def test_files_that_are_not_archives(make_settings: Callable[[str], Settings], tmp_path: Path) -> None:
    target = make_settings("sqlite")
    (tmp_path / "noise.tar").write_bytes(b"\x00\x01 not a tar at all" * 100)
    assert_refused(target, tmp_path / "noise.tar", BackupCorrupt, "backup_corrupt")
    no_manifest = write_tar(tmp_path / "plain.tar", {"readme.txt": b"hello"})
    assert_refused(target, no_manifest, BackupCorrupt, "backup_corrupt")
    assert_refused(target, tmp_path / "absent.tar", NotFound, "not_found")


def test_a_failed_backup_leaves_no_archive(make_settings: Callable[[str], Settings], tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()

    def fail(_step: object) -> None:
        raise RuntimeError("disk went away")

    with Lore.open(make_settings("sqlite")) as lore:
        lore.add_text(title="One", text="One document.")
        with pytest.raises(RuntimeError):
            create_backup(lore.store, folder / "lore.tar", fail)
        with pytest.raises(InvalidInput):
            create_backup(lore.store, folder, None)
        with pytest.raises(InvalidInput):
            create_backup(lore.store, tmp_path / "nowhere" / "lore.tar")
        report = create_backup(lore.store, folder / "lore.tar")
    assert [path.name for path in folder.iterdir()] == ["lore.tar"]
    assert report.bytes == (folder / "lore.tar").stat().st_size and len(file_digest(report.path)) == 64
