"""`lore ingest` parses in sandboxed workers: hostile files fail alone with their codes while the good ones are
indexed, the ingesting process stays small, and no worker outlives a killed ingest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests import hostile
from tests.cli.conftest import LORE
from tests.hostile import MIB
from tests.waiting import wait_for

# The CLI run in-process by a wrapper that then reports its own peak memory and its workers' (the largest peak
# of its children, sampled), read from /proc: getrusage's figures start from the parent process's at exec.
MEASURED_CLI = """
import json, os, sys, threading, time
from pathlib import Path
from lore.cli.main import main

def peak_of(pid):
    try:
        line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmHWM"))
    except (OSError, StopIteration):
        return 0
    return int(line.split()[1]) * 1024

def children():
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                yield int(stat.parent.name)
        except OSError:
            pass

workers = [0]
def sample():
    while True:
        workers[0] = max([workers[0], *map(peak_of, children())])
        time.sleep(0.01)

threading.Thread(target=sample, daemon=True).start()
sys.argv = ["lore", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps({"parent": peak_of("self"), "workers": workers[0]}), file=sys.stderr)
"""

HOSTILE = {  # file -> the code it fails with
    "bomb.docx": "document_too_large",  # 3 GiB of whitespace in the prober's file; 256 MiB here
    "paragraphs.docx": "document_too_large",  # compressed 300-fold
    "streams.pdf": "document_too_large",  # twenty flate streams of 70 MiB (the prober's 1.4 MB file)
    "pages.pdf": "document_too_large",  # 20,000 pages
    "poster.pdf": "document_too_large",  # one page 14,400 pt on a side
    "busy.pdf": "document_too_complex",  # a million text operators on one page: past the CPU limit
    "huge.docx": "document_too_large",  # plain bulk that passes the zip checks: past the memory limit
    "disguised.txt": "format_mismatch",  # a PDF named as text
}


def write_batch(folder: Path) -> None:
    folder.mkdir()
    (folder / "refunds.md").write_text("# Refunds\n\nRefunds reach your card in five business days.\n")
    (folder / "report.pdf").write_bytes(hostile.pdf(2))
    files = {
        "bomb.docx": hostile.whitespace_bomb(256 * MIB),
        "paragraphs.docx": hostile.paragraph_bomb(16 * MIB),
        "streams.pdf": hostile.flate_bomb(20, 70 * MIB),
        "pages.pdf": hostile.pdf(20_000),
        "poster.pdf": hostile.wall_page(),
        "busy.pdf": hostile.busy_pdf(1_000_000),
        "huge.docx": hostile.wordy_docx(40 * MIB),
        "disguised.txt": hostile.pdf(1),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_a_batch_with_hostile_files_indexes_the_good_ones_and_stays_small(
    tmp_path: Path, env: dict[str, str]
) -> None:
    write_batch(tmp_path / "batch")
    limits = {
        "LORE_PARSE_CPU_SECONDS": "2",
        "LORE_PARSE_MEMORY_BYTES": str(256 * MIB),
        "LORE_PARSE_WORKERS": "2",
    }
    command = [sys.executable, "-c", MEASURED_CLI, "ingest", str(tmp_path / "batch"), "--json"]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**env, **limits}, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["files"], report["added"]) == (10, 2)
    failed = {Path(failure["source"]).name: failure for failure in report["failures"]}
    assert {name: failure["code"] for name, failure in failed.items()} == HOSTILE
    for name, failure in failed.items():
        assert failure["message"].startswith(f"{name}: ") and "Error" not in failure["message"]
        if failure["code"] != "format_mismatch":
            assert "(LORE_" in failure["message"], failure  # the limit's setting
    assert "LORE_PARSE_CPU_SECONDS" in failed["busy.pdf"]["message"]
    assert "LORE_PARSE_MEMORY_BYTES" in failed["huge.docx"]["message"]
    peaks = json.loads(result.stderr.strip().splitlines()[-1])
    assert peaks["workers"] >= 200 * MIB  # the huge document reached the worker's limit...
    assert peaks["parent"] < 1024 * MIB  # ...and the prober's files took the ingesting process to 1.5-6.4 GB


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_no_worker_outlives_a_killed_ingest(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(300):
        text = f"# Article {number}\n\n" + " ".join(f"Sentence {i} of article {number}." for i in range(60))
        (folder / f"article-{number}.md").write_text(text)
    ingest = subprocess.Popen(
        [*LORE, "ingest", str(folder)],
        env={**env, "LORE_PARSE_WORKERS": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        workers = wait_for(
            lambda: {pid for pid in descendants(ingest.pid) if b"lore.core.sandbox" in _cmdline(pid)},
            "the ingest's parsing workers to start",
        )
        children = descendants(ingest.pid)
        assert ingest.poll() is None, "the ingest finished before it could be killed"
        os.kill(ingest.pid, signal.SIGKILL)
    finally:
        ingest.kill()
        ingest.wait()
    assert workers <= children
    wait_for(
        lambda: not any(alive(pid) for pid in children), "the killed ingest's children to exit", timeout=30
    )


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
