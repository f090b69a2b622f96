"""Hostile uploads through the real HTTP server: each fails with its 4xx code within its limits, never a 5xx, the
server's own memory stays put, and an identical re-upload is recognised instead of rewritten."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from lore.config import Settings
from tests import hostile
from tests.api.conftest import UPLOAD_LIMIT, LiveServer, assert_error, upload
from tests.hostile import MIB


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Settings:
    """Upload-sized limits: each hostile file below fits the 256 KiB upload limit and passes all but one."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("hostile-api-data"),
        model_cache_dir=model_cache,
        max_upload_bytes=UPLOAD_LIMIT,
        parse_workers=1,
        embed_threads=1,
        parse_cpu_seconds=1,
        parse_memory_bytes=128 * MIB,
        max_unzipped_bytes=48 * MIB,
        max_zip_ratio=5000,
        max_document_pages=100,
    )


HOSTILE = [  # name, bytes, status, code, the setting its message names
    ("bomb.docx", hostile.whitespace_bomb(64 * MIB), 413, "document_too_large", "LORE_MAX_UNZIPPED_BYTES"),
    (
        "paragraphs.docx",
        hostile.paragraph_bomb(40 * MIB),
        413,
        "document_too_large",
        "LORE_PARSE_MEMORY_BYTES",
    ),
    ("streams.pdf", hostile.flate_bomb(4, 20 * MIB), 413, "document_too_large", "LORE_MAX_STREAM_BYTES"),
    ("pages.pdf", hostile.pdf(500), 413, "document_too_large", "LORE_MAX_DOCUMENT_PAGES"),
    ("poster.pdf", hostile.wall_page(), 413, "document_too_large", "LORE_MAX_PAGE_POINTS"),
    ("busy.pdf", hostile.busy_pdf(1_000_000), 422, "document_too_complex", "LORE_PARSE_CPU_SECONDS"),
]
# Work that is heavy in time and memory at once may reach either limit first, by how busy the machine is.
EITHER_LIMIT = {"busy.pdf": (413, "document_too_large", "LORE_PARSE_MEMORY_BYTES")}


def peak_rss_since_reset() -> tuple[int, int]:
    """(resident now, peak since now) in bytes: the kernel's peak is reset to the current size first."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS"), _status("VmHWM")


def _status(field: str) -> int:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) * 1024


@pytest.mark.parametrize(
    ("name", "data", "status", "code", "setting"), HOSTILE, ids=[case[0] for case in HOSTILE]
)
def test_a_hostile_upload_fails_with_its_code_and_the_server_stays_small(
    client: httpx.Client, name: str, data: bytes, status: int, code: str, setting: str
) -> None:
    assert len(data) <= UPLOAD_LIMIT
    before, _ = peak_rss_since_reset()
    started = time.monotonic()
    response = upload(client, name, data)
    if name in EITHER_LIMIT and response.status_code == EITHER_LIMIT[name][0]:
        status, code, setting = EITHER_LIMIT[name]
    error = assert_error(response, status, code)
    assert time.monotonic() - started < 120
    assert error["message"].startswith(f"{name}: ") and f"({setting})" in error["message"]
    assert error["details"]["setting"] == setting and error["details"]["filename"] == name
    assert _status("VmHWM") - before < 64 * MIB  # the work was the worker's, not the server's
    assert client.get("/healthz").status_code == 200


def test_a_file_whose_bytes_contradict_its_name_is_refused_as_a_mismatch(client: httpx.Client) -> None:
    error = assert_error(upload(client, "notes.txt", hostile.pdf(1), "text/plain"), 415, "format_mismatch")
    assert error["message"] == "notes.txt: declared as text (.txt), but it is a PDF"
    error = assert_error(upload(client, "scan.pdf", b"plain words, no PDF"), 415, "format_mismatch")
    assert error["message"] == "scan.pdf: declared as a PDF (.pdf), but its content is not a PDF"


def test_a_corrupt_upload_is_told_in_plain_words(client: httpx.Client) -> None:
    error = assert_error(upload(client, "cut.pdf", hostile.pdf(2)[:400]), 422, "corrupt_document")
    assert error["message"] == "cut.pdf: cannot be read as a PDF: the file is damaged or incomplete"


def test_the_server_goes_on_serving_uploads_after_hostile_ones(client: httpx.Client) -> None:
    response = upload(client, "report.pdf", hostile.pdf(3))
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "Hostile"


def test_an_identical_upload_is_not_written_again(client: httpx.Client, server: LiveServer) -> None:
    text = "# Returns\n\nReturns are accepted within thirty days of delivery.\n"
    first = upload(client, "returns.md", text, "text/markdown", metadata='{"team": "support"}')
    assert first.status_code == 201 and first.json()["unchanged"] is False
    again = upload(client, "returns.md", text, "text/markdown", metadata='{"team": "support"}')
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "unchanged": True}  # same id, same timestamps: nothing rewritten
    other_metadata = upload(client, "returns.md", text, "text/markdown", metadata='{"team": "sales"}')
    assert other_metadata.status_code == 201 and other_metadata.json()["id"] == first.json()["id"]
    assert other_metadata.json()["updated_at"] > first.json()["updated_at"]
    edited = upload(
        client, "returns.md", text.replace("thirty", "sixty"), "text/markdown", metadata='{"team": "sales"}'
    )
    assert (
        edited.status_code == 201 and edited.json()["content_hash"] != other_metadata.json()["content_hash"]
    )
    stored = server.lore.get_document(first.json()["id"])
    assert "sixty days" in (stored.text or "")
