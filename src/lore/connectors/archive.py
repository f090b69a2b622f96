"""The `archive` connector: a help centre's export, a zip of HTML pages (a Confluence space's HTML export, a
Zendesk Guide export, any static-site dump), and Zendesk Help Center API dumps (`articles.json`).

Each HTML page is cited by, in order: its `<link rel="canonical">` or `og:url`; the URL a metadata file gives
it (`urls.json`, `metadata.json` or `manifest.json` mapping member paths to URLs, or a sidecar `page.json`
with `html_url`, as Zendesk article objects have); `base_url` joined with its path in the archive; else
`/abs/path/export.zip!/member.html`. Its title is Confluence's `#title-text` (less the "SPACE : " prefix), else
the page's own. A JSON member shaped like Zendesk's `{"articles": [{"html_url", "title", "body"}]}` becomes one
document per article. Folders of assets (`attachments/`, `images/`, `styles/`) are passed over. The archive is
checked against the zip-bomb limits (`max_unzipped_bytes`, `max_zip_ratio`) before anything is unpacked.
"""

from __future__ import annotations

import html
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from lore.config import Settings
from lore.connectors.base import Listing, ListingFailed, Remembered
from lore.core.parsers import zipguard
from lore.errors import LoreError
from lore.service.ingestion import Fetched, parse_limits

HTML = (".html", ".htm")
ASSET_FOLDERS = frozenset({"attachments", "images", "styles", "css", "js", "assets"})
URL_MAPS = frozenset({"urls.json", "metadata.json", "manifest.json"})


class ArchiveConnector:
    def __init__(self, location: str, settings: Settings, base_url: str | None = None) -> None:
        self.path = Path(location).expanduser().resolve()
        self.limits = parse_limits(settings)
        self.max_bytes = settings.serving.max_upload_bytes
        self.base_url = base_url.rstrip("/") + "/" if base_url else None

    def listing(self, previous: Mapping[str, Remembered]) -> Listing:
        members = self._members()
        urls = _url_map(members)
        listing = Listing()
        for name, data in members.items():
            if _is_page(name):
                listing.items.append(self._page(name, data, urls))
            elif name.endswith(".json") and PurePosixPath(name).name not in URL_MAPS:
                listing.items.extend(_articles(data))
        return listing

    def _members(self) -> dict[str, bytes]:
        """Every file in the archive by its path, after the zip-bomb checks; `ListingFailed` if unreadable."""
        try:
            data = self.path.read_bytes()
            zipguard.check(data, self.limits)
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [i.filename for i in archive.infolist() if not i.is_dir()]
                return {name: archive.read(name) for name in names if _wanted(name)}
        except (OSError, zipfile.BadZipFile, LoreError) as error:
            raise ListingFailed(
                f"the archive {self.path} could not be read: {error}", details={"location": str(self.path)}
            ) from None

    def _page(self, name: str, data: bytes, urls: Mapping[str, str]) -> Fetched:
        tree = LexborHTMLParser(data)
        source = _declared_url(tree) or urls.get(name) or self._located(name)
        return Fetched(source, PurePosixPath(name).name, data, "text/html", _title(tree))

    def _located(self, name: str) -> str:
        return urljoin(self.base_url, name) if self.base_url else f"{self.path}!/{name}"


def _wanted(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not any(part.startswith(".") or part.lower() in ASSET_FOLDERS for part in parts[:-1]) and (
        name.lower().endswith((*HTML, ".json"))
    )


def _is_page(name: str) -> bool:
    return name.lower().endswith(HTML)


def _declared_url(tree: LexborHTMLParser) -> str | None:
    for selector, attribute in (('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content")):
        node = tree.css_first(selector)
        value = (node.attributes.get(attribute) or "").strip() if node is not None else ""
        if value.startswith(("http://", "https://")):
            return value
    return None


def _title(tree: LexborHTMLParser) -> str:
    """Confluence's page title without its space's name; empty (the parser's own title) for other pages."""
    node = tree.css_first("#title-text")
    text = " ".join(node.text().split()) if node is not None else ""
    return text.split(" : ", 1)[1] if " : " in text else text


def _url_map(members: Mapping[str, bytes]) -> dict[str, str]:
    """Member path -> URL, from the metadata files of `URL_MAPS` and `page.json` sidecars with `html_url`."""
    urls: dict[str, str] = {}
    for name, data in members.items():
        found = _json(data)
        if PurePosixPath(name).name in URL_MAPS:
            urls |= _mapping(found, PurePosixPath(name).parent)
        elif isinstance(found, dict) and isinstance(found.get("html_url"), str):
            for suffix in HTML:
                urls[str(PurePosixPath(name).with_suffix(suffix))] = found["html_url"]
    return urls


def _mapping(found: Any, folder: PurePosixPath) -> dict[str, str]:
    pairs: list[tuple[Any, Any]]
    if isinstance(found, dict):
        pairs = [(k, v) for k, v in found.items() if isinstance(v, str)]
    elif isinstance(found, list):
        pairs = [
            (e.get("path") or e.get("file"), e.get("url") or e.get("html_url"))
            for e in found
            if isinstance(e, dict)
        ]
    else:
        pairs = []
    return {str(folder / k) if str(folder) != "." else k: v for k, v in pairs if isinstance(k, str) and v}


def _articles(data: bytes) -> list[Fetched]:
    """Zendesk Help Center articles (`{"articles": [...]}`, as its API lists them), one document each."""
    found = _json(data)
    articles = found.get("articles") if isinstance(found, dict) else None
    if not isinstance(articles, list):
        return []
    items = []
    for article in articles:
        if isinstance(article, dict) and isinstance(article.get("html_url"), str):
            title = str(article.get("title") or "")
            page = f"<html><head><title>{html.escape(title)}</title></head><body>{article.get('body') or ''}"
            items.append(Fetched(article["html_url"], "article.html", page.encode(), "text/html", title))
    return items


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
