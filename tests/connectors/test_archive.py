"""Help-centre exports built in the test: a Confluence-style HTML export, and a Zendesk articles dump."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from lore.connectors import ListingFailed, SourceSpec, Syncer
from lore.service import Lore

CONFLUENCE_PAGE = """<html><head><title>HELP : {title}</title></head><body>
<div id="main-header"><h1 id="title-heading" class="pagetitle"><span id="title-text"> HELP : {title} </span></h1></div>
<div id="main-content" class="wiki-content">{text}</div></body></html>"""


def _confluence(
    path: Path, pages: dict[str, tuple[str, str]], canonical: dict[str, str] | None = None
) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (title, text) in pages.items():
            archive.writestr(f"HELP/{name}", CONFLUENCE_PAGE.format(title=title, text=text))
        archive.writestr("HELP/styles/site.css", "body {}")
        archive.writestr("HELP/attachments/1/guide.html", "<html>an attachment</html>")
        if canonical:
            archive.writestr("HELP/urls.json", json.dumps(canonical))


def _documents(lore: Lore, collection: str) -> dict[str, str]:
    page = lore.list_documents(collections=[collection], limit=100)
    return {doc.source: doc.title for doc in page.items}


def test_a_confluence_export_syncs_with_titles_and_urls(lore: Lore, tmp_path: Path) -> None:
    export = tmp_path / "HELP.zip"
    urls = {"Refunds_123.html": "https://wiki.example.com/display/HELP/Refunds"}
    _confluence(
        export,
        {"Refunds_123.html": ("Refunds", "Five days."), "Shipping_456.html": ("Shipping", "Two days.")},
        urls,
    )
    spec = SourceSpec(
        "archive", str(export), "wiki", options={"base_url": "https://wiki.example.com/export/"}
    )
    first = Syncer(lore).run(spec)
    assert (first.added, first.removed) == (2, 0)
    assert _documents(lore, "wiki") == {
        "https://wiki.example.com/display/HELP/Refunds": "Refunds",
        "https://wiki.example.com/export/HELP/Shipping_456.html": "Shipping",
    }
    _confluence(export, {"Refunds_123.html": ("Refunds", "Three days now.")}, urls)
    second = Syncer(lore).run(spec)
    assert (second.added, second.updated, second.removed) == (0, 1, 1)


def test_a_zendesk_articles_dump_cites_each_articles_url(lore: Lore, tmp_path: Path) -> None:
    export = tmp_path / "zendesk.zip"
    articles = [
        {
            "id": 1,
            "title": "Reset a password",
            "html_url": "https://help.example.com/hc/articles/1",
            "body": "<p>Use the link.</p>",
        },
        {
            "id": 2,
            "title": "Close an account",
            "html_url": "https://help.example.com/hc/articles/2",
            "body": "<p>Write to us.</p>",
        },
    ]
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("articles.json", json.dumps({"articles": articles}))
        archive.writestr(
            "en-us/3-faq.html",
            '<html><head><link rel="canonical" href="https://help.example.com/hc/articles/3"><title>FAQ</title></head><body>Questions.</body></html>',
        )
    report = Syncer(lore).run(SourceSpec("archive", str(export), "zd"))
    assert report.added == 3
    assert _documents(lore, "zd") == {
        "https://help.example.com/hc/articles/1": "Reset a password",
        "https://help.example.com/hc/articles/2": "Close an account",
        "https://help.example.com/hc/articles/3": "FAQ",
    }


def test_a_corrupt_archive_fails_the_listing(lore: Lore, tmp_path: Path) -> None:
    export = tmp_path / "broken.zip"
    export.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ListingFailed):
        Syncer(lore).run(SourceSpec("archive", str(export), "zd"))
