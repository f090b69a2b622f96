"""Waiting in tests: for a condition to hold, polled, with a bound generous enough that only a failure reaches
it (a busy machine, or one running the suite under coverage, is slow, not wrong)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Seconds before a wait gives up: far beyond what any awaited event takes, even on a loaded machine.
PATIENCE = 120.0


def wait_for(condition: Callable[[], T], what: str, timeout: float = PATIENCE, poll: float = 0.05) -> T:
    """The condition's first true value; an AssertionError naming `what` if none came within `timeout`."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)
    return value
