"""A small website on a loopback port whose pages the test changes between syncs. It answers conditional
requests (ETag and Last-Modified) with 304, and logs every request, so tests assert what the sync asked for."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Request:
    path: str
    status: int
    user_agent: str
    conditional: bool


@dataclass
class Site:
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (content type, body)
    modified: dict[str, float] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    etags: bool = True  # False: validators are Last-Modified alone
    broken: set[str] = field(default_factory=set)  # paths answering 503
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, path: str, body: str, content_type: str = "text/html", at: float = 1_700_000_000.0) -> None:
        with self.lock:
            self.pages[path] = (content_type, body)
            self.modified[path] = at

    def remove(self, path: str) -> None:
        with self.lock:
            self.pages.pop(path, None)

    def requests(self, status: int | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.log if status is None or r.status == status]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()


def page(title: str, text: str, *links: str) -> str:
    anchors = "".join(f'<a href="{link}">{link}</a> ' for link in links)
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p>{anchors}</body></html>"
    )


class Served:
    """`with Served(site) as url:` the site on http://127.0.0.1:PORT."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            with site.lock:
                found = site.pages.get(path)
                modified = site.modified.get(path, 0.0)
            conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
            status = self._answer(found, modified)
            with site.lock:
                site.log.append(Request(path, status, self.headers.get("User-Agent", ""), conditional))

        def _answer(self, found: tuple[str, str] | None, modified: float) -> int:
            if self.path in site.broken:
                return self._empty(503)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return 404
            content_type, body = found
            data = body.encode()
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            since = self.headers.get("If-Modified-Since")
            if (site.etags and self.headers.get("If-None-Match") == etag) or (
                not site.etags and since and parsedate_to_datetime(since).timestamp() >= modified
            ):
                return self._empty(304)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if site.etags:
                self.send_header("ETag", etag)
            self.send_header("Last-Modified", formatdate(modified, usegmt=True))
            self.end_headers()
            self.wfile.write(data)
            return 200

        def _empty(self, status: int) -> int:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return status

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler
