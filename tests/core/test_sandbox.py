"""The parsing sandbox: work runs in worker processes, and whatever passes a limit fails alone, its worker
replaced, while the caller stays small. The tasks here are plain functions, computed in the workers."""

from __future__ import annotations

import functools
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lore.core.sandbox import Sandbox, SandboxLimits
from lore.errors import CorruptDocument, DocumentTooComplex, DocumentTooLarge, InvalidInput, LoreError
from lore.names import check_name
from tests.waiting import wait_for

MIB = 1024 * 1024
FOREVER = 10**13  # sum(range(FOREVER)) takes hours


def worker_pid(_: object) -> int:
    return os.getpid()


def hold(size: int) -> int:
    """Fill `size` bytes (so they count as resident), then let them go."""
    return len(b"x" * size)


def call(pair: tuple[Callable[[Any], Any], Any]) -> Any:
    function, argument = pair
    return function(argument)


def no_setup(_: None) -> None:
    pass


def gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(2, SandboxLimits(cpu_seconds=1, memory_bytes=256 * MIB, wall_seconds=20), no_setup, None)
    yield box
    box.close()


def test_a_task_runs_in_a_worker_and_its_value_comes_back(sandbox: Sandbox) -> None:
    pid = sandbox.run("a", worker_pid, None)
    assert pid != os.getpid() and not gone(pid)
    assert sandbox.run("b", len, "four") == 4
    assert list(sandbox.map(len, ["", "a", "bb", "ccc", "dddd", "eeeee"], str)) == [0, 1, 2, 3, 4, 5]
    assert len(set(sandbox.map(worker_pid, range(8), str))) <= 2


def test_a_lore_error_comes_back_whole_and_the_worker_goes_on(sandbox: Sandbox) -> None:
    pid = sandbox.run("a", worker_pid, None)
    with pytest.raises(InvalidInput) as caught:
        sandbox.run("a", functools.partial(check_name, "collection"), "no spaces allowed")
    assert caught.value.message.startswith("invalid collection name 'no spaces allowed'")
    assert caught.value.details == {"collection": "no spaces allowed"}
    assert sandbox.run("a", worker_pid, None) == pid


def test_past_the_cpu_limit_a_task_fails_as_too_complex_and_its_worker_is_replaced(sandbox: Sandbox) -> None:
    pid = sandbox.run("a", worker_pid, None)
    with pytest.raises(DocumentTooComplex) as caught:
        sandbox.run("spin.pdf", sum, range(FOREVER))
    assert caught.value.message == (
        "spin.pdf: parsing took more than the CPU-time limit of 1 s (LORE_PARSE_CPU_SECONDS)"
    )
    assert caught.value.details == {"filename": "spin.pdf", "limit": 1, "setting": "LORE_PARSE_CPU_SECONDS"}
    assert gone(pid)
    assert sandbox.run("a", worker_pid, None) != pid


def test_past_the_memory_limit_a_task_fails_as_too_large(sandbox: Sandbox) -> None:
    with pytest.raises(DocumentTooLarge) as caught:
        sandbox.run("huge.docx", hold, 512 * MIB)
    assert caught.value.message == (
        "huge.docx: parsing needed more memory than the memory limit of 256 MiB (LORE_PARSE_MEMORY_BYTES)"
    )
    assert caught.value.details["setting"] == "LORE_PARSE_MEMORY_BYTES"
    assert sandbox.run("ok", hold, 64 * MIB) == 64 * MIB


def test_a_task_that_waits_past_the_wall_clock_bound_is_ended() -> None:
    box = Sandbox(1, SandboxLimits(cpu_seconds=1, memory_bytes=256 * MIB, wall_seconds=1), no_setup, None)
    try:
        pid = box.run("a", worker_pid, None)
        started = time.monotonic()
        with pytest.raises(
            DocumentTooComplex, match=r"^slow: parsing did not finish within 1 s, the wall-clock"
        ):
            box.run("slow", time.sleep, 600)
        assert time.monotonic() - started < 60
        assert gone(pid)
    finally:
        box.close()


def test_a_worker_that_dies_fails_its_task_and_one_that_breaks_fails_it_as_corrupt(sandbox: Sandbox) -> None:
    with pytest.raises(
        DocumentTooLarge, match=r"^x: parsing stopped abnormally, most likely at the memory limit"
    ):
        sandbox.run("x", os._exit, 3)
    with pytest.raises(CorruptDocument, match=r"^y: the document could not be processed$"):
        sandbox.run("y", int, "not a number")
    assert sandbox.run("z", len, "ok") == 2


def test_in_a_batch_each_item_over_a_limit_fails_alone(sandbox: Sandbox) -> None:
    items = [(len, "ab"), (sum, range(FOREVER)), (len, "abc"), (hold, 1024 * MIB), (len, "")]
    results = list(sandbox.map(call, items, lambda item: item[0].__name__))
    assert results[0::2] == [2, 3, 0]
    assert isinstance(results[1], DocumentTooComplex) and results[1].message.startswith("sum: ")
    assert isinstance(results[3], DocumentTooLarge) and results[3].message.startswith("hold: ")


def test_workers_stop_when_the_sandbox_closes_or_is_dropped() -> None:
    limits = SandboxLimits(cpu_seconds=5, memory_bytes=256 * MIB)
    closed = Sandbox(1, limits, no_setup, None)
    pid = closed.run("a", worker_pid, None)
    closed.close()
    wait_for(lambda: gone(pid), "the closed sandbox's worker to exit")
    with pytest.raises(LoreError, match="closed"):
        closed.run("a", worker_pid, None)
    dropped = Sandbox(1, limits, no_setup, None)
    pid = dropped.run("a", worker_pid, None)
    del dropped
    gc.collect()
    wait_for(lambda: gone(pid), "the dropped sandbox's worker to exit")


def peak_rss(_: object = None) -> int:
    """This process's peak resident memory, from /proc (getrusage's starts from the parent's at exec)."""
    line = next(
        line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM")
    )
    return int(line.split()[1]) * 1024


PEAKS = """
import json
from lore.core.sandbox import Sandbox, SandboxLimits
from tests.core.test_sandbox import hold, no_setup, peak_rss
box = Sandbox(1, SandboxLimits(cpu_seconds=30, memory_bytes=1 << 30), no_setup, None)
held = box.run("big", hold, 400 << 20)
worker = box.run("peak", peak_rss, None)
box.close()
print(json.dumps({"held": held, "parent": peak_rss(), "worker": worker}))
"""


def test_the_caller_stays_small_while_a_worker_holds_a_large_document() -> None:
    root = Path(__file__).parents[2]
    result = subprocess.run(
        [sys.executable, "-c", PEAKS], capture_output=True, text=True, cwd=root, timeout=300, check=True
    )
    peaks = json.loads(result.stdout)
    assert peaks["held"] == 400 * MIB
    assert peaks["worker"] >= 400 * MIB
    assert peaks["parent"] < 150 * MIB
