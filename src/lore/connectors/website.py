"""The `website` connector: a site's pages by its sitemap (a URL ending in `.xml`) or by a crawl from a start
page, same origin only, within `crawl_max_depth` and `crawl_max_pages`, at most `crawl_requests_per_second`,
as robots.txt allows for `crawl_user_agent`. Each page is cited by its URL.

Requests are conditional: a page's ETag and Last-Modified are remembered, and a 304 counts as unchanged (its
links, remembered too, are still followed). A page that answers 404 or 410 is gone; one that fails otherwise
(timeout, 5xx, too large) is kept as it was. robots.txt that cannot be read (5xx, no answer) or a start page or
sitemap that fails fails the whole listing, so nothing is removed.
"""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Mapping
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx
from selectolax.lexbor import LexborHTMLParser

from lore.config import ConnectorsSettings, Settings
from lore.connectors.base import Listing, ListingFailed, Remembered
from lore.connectors.http import REDIRECTS, Fetcher, Refused, Response, TooLarge, normal, origin
from lore.core.ingest import Failure
from lore.core.parse import SUPPORTED_EXTENSIONS
from lore.service.ingestion import Fetched

GONE = frozenset({404, 410})
# Links to files Lore does not read are not fetched at all (a page of another type is skipped once fetched).
NOT_DOCUMENTS = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".ico",
        ".css",
        ".js",
        ".json",
        ".xml",
        ".zip",
        ".gz",
        ".mp3",
        ".mp4",
        ".webm",
        ".woff",
        ".woff2",
    ]
)
MAX_SITEMAPS = 50
_LOC = re.compile(rb"<loc>\s*([^<\s]+)\s*</loc>", re.IGNORECASE)
_EXTENSIONS = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
}


def filename_for(url: str, content_type: str | None) -> str | None:
    """A name whose extension tells the parser the page's format, or None for a type Lore does not read."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in _EXTENSIONS:
        return "page" + _EXTENSIONS[media]
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return "page" + suffix if suffix in SUPPORTED_EXTENSIONS and not media.startswith("image/") else None


def links_of(page: Response) -> list[str]:
    """Every same-origin http(s) link of an HTML page, absolute, without fragments."""
    if not (page.content_type or "").lower().startswith(("text/html", "application/xhtml")):
        return []
    tree = LexborHTMLParser(page.body)
    base = page.url
    found = []
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if href and not href.startswith(("mailto:", "javascript:", "tel:")):
            target = normal(urljoin(base, href))
            if origin(target) == origin(base):
                found.append(target)
    return list(dict.fromkeys(found))


class WebsiteConnector:
    def __init__(self, location: str, settings: Settings) -> None:
        self.start = normal(location)
        if urlsplit(self.start).scheme not in ("http", "https"):
            raise ListingFailed("a website source is an http(s) URL", details={"location": location})
        self.connectors = settings.connectors
        self.max_bytes = settings.serving.max_upload_bytes
        self.requests = 0

    def _fetcher(self) -> Fetcher:
        c = self.connectors
        return Fetcher(
            user_agent=c.crawl_user_agent,
            timeout=c.crawl_timeout_seconds,
            rate=c.crawl_requests_per_second,
            max_bytes=self.max_bytes,
            allow_loopback=c.crawl_allow_loopback,
        )

    def listing(self, previous: Mapping[str, Remembered]) -> Listing:
        fetcher = self._fetcher()
        try:
            robots = self._robots(fetcher)
            crawl = _Crawl(fetcher, robots, self.connectors.crawl_user_agent, previous, self.connectors)
            if urlsplit(self.start).path.lower().endswith(".xml"):
                crawl.pages(self._sitemap(fetcher, robots))
            else:
                crawl.from_start(self.start)
            return crawl.listing
        finally:
            self.requests = fetcher.requests
            fetcher.close()

    def _robots(self, fetcher: Fetcher) -> RobotFileParser:
        url = urljoin(self.start, "/robots.txt")
        robots = RobotFileParser(url)
        reply = _essential(fetcher, url, "robots.txt")
        if reply.status >= 500:
            raise ListingFailed(f"robots.txt answered {reply.status}", details={"url": url})
        robots.parse(reply.body.decode("utf-8", "replace").splitlines() if reply.status == 200 else [])
        return robots

    def _sitemap(self, fetcher: Fetcher, robots: RobotFileParser) -> list[str]:
        """The page URLs of the sitemap (and of the sitemaps a sitemap index names), same origin only."""
        pending, seen, pages = deque([self.start]), set[str](), list[str]()
        while pending and len(seen) < MAX_SITEMAPS:
            url = pending.popleft()
            seen.add(url)
            reply = _essential(fetcher, url, "the sitemap")
            if reply.status != 200:
                raise ListingFailed(f"the sitemap {url} answered {reply.status}", details={"url": url})
            for loc in (html.unescape(m.decode("utf-8", "replace")) for m in _LOC.findall(reply.body)):
                loc = normal(loc)
                if origin(loc) != origin(self.start) or loc in seen:
                    continue
                if b"<sitemapindex" in reply.body[:2000].lower():
                    pending.append(loc)
                else:
                    pages.append(loc)
        return list(dict.fromkeys(pages))


def _essential(fetcher: Fetcher, url: str, what: str) -> Response:
    """A response the listing cannot do without: any failure to get one fails the listing."""
    try:
        return fetcher.get(url)
    except (httpx.HTTPError, Refused, TooLarge) as error:
        raise ListingFailed(f"{what} could not be read: {error}", details={"url": url}) from None


class _Crawl:
    """One pass over a site's pages: fetched, unchanged, failed and refused ones recorded in `listing`."""

    def __init__(
        self,
        fetcher: Fetcher,
        robots: RobotFileParser,
        agent: str,
        previous: Mapping[str, Remembered],
        limits: ConnectorsSettings,
    ) -> None:
        self.fetcher = fetcher
        self.robots = robots
        self.agent = agent
        self.previous = previous
        self.max_pages = limits.crawl_max_pages
        self.max_depth = limits.crawl_max_depth
        self.listing = Listing()
        self.visited: set[str] = set()
        self.lost: set[str] = set()  # gone (404, 410), or failed with nothing remembered of it

    def pages(self, urls: list[str]) -> None:
        for url in urls:
            self._visit(url)

    def from_start(self, start: str) -> None:
        """Breadth first from `start`; a start page that cannot be fetched fails the listing."""
        frontier: deque[tuple[str, int]] = deque([(start, 0)])
        while frontier:
            url, depth = frontier.popleft()
            links = self._visit(url)
            if url == start and start in self.lost:
                raise ListingFailed(f"the start page {start} could not be fetched", details={"url": start})
            if depth < self.max_depth:
                frontier.extend((link, depth + 1) for link in links if link not in self.visited)

    def _visit(self, url: str) -> list[str]:
        """Fetch one page into the listing; the links to follow from it."""
        if url in self.visited or len(self.visited) >= self.max_pages:
            return []
        self.visited.add(url)
        if PurePosixPath(urlsplit(url).path).suffix.lower() in NOT_DOCUMENTS:
            self.listing.skipped.append(Failure(url, "unsupported_format", "not a document Lore reads"))
            return []
        if not self.robots.can_fetch(self.agent, url):
            self.listing.skipped.append(Failure(url, "robots_disallowed", "robots.txt disallows it"))
            return []
        before = self.previous.get(url)
        try:
            reply = self.fetcher.get(url, before)
        except (httpx.HTTPError, Refused, TooLarge) as error:
            return self._failed(url, type(error).__name__.lower(), str(error) or "no answer", before)
        return self._answered(reply, before)

    def _answered(self, reply: Response, before: Remembered | None) -> list[str]:
        url = reply.url
        if reply.status == 304 and before is not None:
            self.listing.unchanged.append(url)
            self.listing.remembered[url] = before
            return list(before.links)
        if reply.status in REDIRECTS and reply.location:
            target = normal(urljoin(url, reply.location))
            return [target] if origin(target) == origin(url) else []
        if reply.status in GONE:
            self.lost.add(url)
            return []
        if reply.status != 200:
            return self._failed(url, "http_error", f"answered {reply.status}", before)
        return self._fetched(reply)

    def _fetched(self, reply: Response) -> list[str]:
        name = filename_for(reply.url, reply.content_type)
        if name is None:
            self.listing.skipped.append(Failure(reply.url, "unsupported_format", str(reply.content_type)))
            return []
        links = links_of(reply)
        self.listing.items.append(Fetched(reply.url, name, reply.body, reply.content_type))
        self.listing.remembered[reply.url] = Remembered(reply.etag, reply.last_modified, tuple(links))
        return links

    def _failed(self, url: str, code: str, message: str, before: Remembered | None) -> list[str]:
        self.listing.failed.append(Failure(url, code, message))
        if before is not None:
            self.listing.remembered[url] = before
            return list(before.links)
        self.lost.add(url)
        return []
