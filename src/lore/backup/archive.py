"""The archive file: a tar holding `manifest.json` first, then one gzip-compressed JSON-lines member per table.

    manifest.json              format, versions, schema revision, change position, id counters, and per table:
                               its columns with their value kinds, row count, member size and SHA-256
    tables/<table>.jsonl.gz    one JSON list per row, in the manifest's column order

The archive is written beside its final path and renamed into place, so a crash never leaves half an archive
under that name; reading checks the manifest and every member's checksum before any row is used.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from lore.backup.errors import BackupCorrupt, BackupUnsupported
from lore.backup.values import KINDS
from lore.errors import NotFound

FORMAT = "lore-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_BLOCK = 1 << 20
_READ_ERRORS = (OSError, EOFError, tarfile.TarError, zlib.error, UnicodeDecodeError, ValueError)


class TableEntry(BaseModel):
    name: str
    member: str
    columns: list[str]
    kinds: list[str]
    rows: int = Field(ge=0)
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(BaseModel):
    format: Literal["lore-backup"]
    format_version: int
    lore_version: str
    created_at: str
    dialect: str
    revision: str | None
    last_seq: int = Field(ge=0)
    counters: dict[str, int]
    tables: list[TableEntry]

    def rows(self) -> dict[str, int]:
        return {table.name: table.rows for table in self.tables}


def write_member(directory: Path, name: str, rows: Iterable[list[Any]]) -> tuple[Path, int]:
    """Rows as gzip-compressed JSON lines in `directory`; returns the file and the number of rows."""
    path = directory / f"{name}.jsonl.gz"
    count = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6, newline="\n") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return path, count


def file_digest(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def write_archive(path: Path, manifest: Manifest, members: dict[str, Path]) -> int:
    """Tar the manifest and the member files into `path` atomically; returns the archive's size."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            data = manifest.model_dump_json(indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), _timestamp(manifest), 0o644
            tar.addfile(info, io.BytesIO(data))
            for member, source in members.items():
                info = tar.gettarinfo(str(source), arcname=member)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with source.open("rb") as handle:
                    tar.addfile(info, handle)
        _fsync(partial)
        partial.replace(path)
        _fsync(path.parent)
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size


def _timestamp(manifest: Manifest) -> float:
    return datetime.fromisoformat(manifest.created_at).timestamp()


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Archive:
    """An archive opened for reading: the manifest is parsed and checked on open."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise NotFound(f"no backup archive at {path}", details={"path": str(path)})
        self.path = path
        try:
            self._tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by close())
        except _READ_ERRORS as error:
            raise _corrupt(path, "not a tar archive") from error
        try:
            self.manifest = self._read_manifest()
        except BaseException:
            self._tar.close()
            raise

    def close(self) -> None:
        self._tar.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_manifest(self) -> Manifest:
        raw = self._member_bytes(MANIFEST)
        try:
            header = json.loads(raw)
        except ValueError as error:
            raise _corrupt(self.path, "the manifest is not JSON") from error
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise _corrupt(self.path, "not a Lore backup archive")
        if header.get("format_version") != FORMAT_VERSION:
            raise BackupUnsupported(
                "archive format version not supported by this Lore",
                details={"format_version": header.get("format_version"), "supported": FORMAT_VERSION},
            )
        try:
            manifest = Manifest.model_validate(header)
        except ValidationError as error:
            raise _corrupt(self.path, "the manifest is incomplete") from error
        _check_tables(self.path, manifest)
        return manifest

    def _member_bytes(self, name: str) -> bytes:
        with self._open_member(name) as handle:
            try:
                return handle.read()
            except _READ_ERRORS as error:
                raise _corrupt(self.path, f"{name} cannot be read") from error

    @contextmanager
    def _open_member(self, name: str) -> Iterator[IO[bytes]]:
        try:
            handle = self._tar.extractfile(name)
        except KeyError as error:
            raise _corrupt(self.path, f"{name} is missing") from error
        except _READ_ERRORS as error:
            raise _corrupt(self.path, f"{name} cannot be read") from error
        if handle is None:
            raise _corrupt(self.path, f"{name} is not a file")
        with handle:
            yield handle

    def verify(self, on_member: Callable[[int, TableEntry], None] | None = None) -> None:
        """Every member is present, of the recorded size and checksum: nothing is loaded from a bad archive.
        `on_member(n, table)` follows each checked member (n counts from 1)."""
        for position, table in enumerate(self.manifest.tables, start=1):
            digest, size = hashlib.sha256(), 0
            with self._open_member(table.member) as handle:
                try:
                    while block := handle.read(_BLOCK):
                        digest.update(block)
                        size += len(block)
                except _READ_ERRORS as error:
                    raise _corrupt(self.path, f"{table.member} is truncated") from error
            if size != table.bytes or digest.hexdigest() != table.sha256:
                raise _corrupt(self.path, f"{table.member} does not match its checksum")
            if on_member:
                on_member(position, table)

    def rows(self, table: TableEntry) -> Iterator[Any]:
        """The decoded JSON rows of one table, streamed."""
        with self._open_member(table.member) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            try:
                for line in lines:
                    yield json.loads(line)
            except _READ_ERRORS as error:
                raise _corrupt(self.path, f"{table.member} cannot be decoded") from error


def _check_tables(path: Path, manifest: Manifest) -> None:
    names = [table.name for table in manifest.tables]
    if len(set(names)) != len(names):
        raise _corrupt(path, "a table appears twice")
    for table in manifest.tables:
        if len(table.columns) != len(table.kinds) or not set(table.kinds) <= KINDS:
            raise _corrupt(path, f"the columns of {table.name} are malformed")


def _corrupt(path: Path, reason: str) -> BackupCorrupt:
    return BackupCorrupt(f"corrupt backup archive: {reason}", details={"path": str(path), "reason": reason})
