"""HTTP for website syncs: one client per sync, same-origin checks, the SSRF guard on every host, a rate limit
between requests, conditional requests, and a cap on each response's size."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urldefrag, urlsplit

import httpx

from lore.connectors.base import Remembered
from lore.security.outbound import refusal

REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Refused(Exception):
    """A URL the sync may not fetch (not http(s), or its host resolves to a non-public address)."""


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    content_type: str | None
    body: bytes
    etag: str | None
    last_modified: str | None
    location: str | None


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return (
        parts.scheme,
        (parts.hostname or "").lower(),
        parts.port or (443 if parts.scheme == "https" else 80),
    )


def normal(url: str) -> str:
    """The URL without its fragment (a page is one document whatever anchor links to it)."""
    return urldefrag(url)[0]


class TooLarge(Exception):
    pass


class Fetcher:
    """GETs within one sync: at most `rate` requests per second, each host checked by the SSRF guard once."""

    def __init__(
        self, *, user_agent: str, timeout: float, rate: float, max_bytes: int, allow_loopback: bool
    ) -> None:
        self.client = httpx.Client(
            headers={"User-Agent": user_agent}, timeout=timeout, follow_redirects=False
        )
        self.interval = 1.0 / rate
        self.max_bytes = max_bytes
        self.allow_loopback = allow_loopback
        self.requests = 0
        self._hosts: dict[
            tuple[str, str, int], str | None
        ] = {}  # origin -> why it is refused (None: allowed)
        self._next = 0.0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def check(self, url: str) -> None:
        key = origin(url)
        if key not in self._hosts:
            self._hosts[key] = self._refusal(*key)
        if self._hosts[key] is not None:
            raise Refused(self._hosts[key])

    def _refusal(self, scheme: str, host: str, port: int) -> str | None:
        if scheme not in ("http", "https") or not host:
            return "only http(s) URLs with a host are fetched"
        return refusal(host, port, allow_loopback=self.allow_loopback)

    def get(self, url: str, previous: Remembered | None = None) -> Response:
        """One GET (conditional when `previous` has validators); `TooLarge` past the size cap."""
        self.check(url)
        self._wait()
        headers = {}
        if previous is not None and previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous is not None and previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        with self.client.stream("GET", url, headers=headers) as reply:
            body = self._read(reply)
            return Response(
                url,
                reply.status_code,
                reply.headers.get("content-type"),
                body,
                reply.headers.get("etag"),
                reply.headers.get("last-modified"),
                reply.headers.get("location"),
            )

    def _read(self, reply: httpx.Response) -> bytes:
        declared = reply.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise TooLarge(f"{declared} bytes exceeds {self.max_bytes}")
        chunks, size = [], 0
        for chunk in reply.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise TooLarge(f"more than {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
            self.requests += 1
        if delay > 0:
            time.sleep(delay)
