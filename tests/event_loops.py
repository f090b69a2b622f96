"""Running async test code from a sync test.

The browser tests' sync Playwright keeps an event loop marked as running on the main thread for the whole
session, so `anyio.run` there fails ("Cannot run the event loop while another loop is running") in any test
that comes after them. A thread of its own has no such loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio

T = TypeVar("T")


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """`main()` to completion in a new event loop on a thread of its own."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(anyio.run, main).result()
