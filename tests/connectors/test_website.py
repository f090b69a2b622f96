"""A website synced twice against a local server whose pages change between the syncs."""

from __future__ import annotations

import pytest

from lore.connectors import ListingFailed, SourceSpec, Syncer
from lore.service import Lore
from tests.connectors.site import Site, page

ROBOTS = "User-agent: *\nDisallow: /private/\n"


def _build(site: Site) -> None:
    site.put("/robots.txt", ROBOTS, "text/plain")
    site.put(
        "/",
        page(
            "Home",
            "Welcome to the help centre.",
            "/refunds",
            "/shipping",
            "/private/staff",
            "https://elsewhere.example.com/offsite",
            "/logo.png",
        ),
    )
    site.put("/refunds", page("Refunds", "Refunds take five business days.", "/"))
    site.put("/shipping", page("Shipping", "Parcels ship within two days.", "/deep/one"))
    site.put("/deep/one", page("Deep", "One level down.", "/deep/two"))
    site.put("/deep/two", page("Deeper", "Two levels down."))
    site.put("/private/staff", page("Staff", "Internal only."))
    site.put("/logo.png", "PNG", "image/png")


def _sources(lore: Lore, collection: str = "help") -> dict[str, str]:
    docs = lore.store.documents.document_hashes("default", collection)
    return {source: known.content_hash for source, known in docs.items()}


def test_a_crawl_follows_the_site_and_then_only_what_changed(lore: Lore, site: Site, site_url: str) -> None:
    _build(site)
    spec = SourceSpec("website", site_url + "/", "help")
    first = Syncer(lore).run(spec)
    assert (first.added, first.updated, first.removed, first.failures) == (5, 0, 0, [])
    stored = _sources(lore)
    assert set(stored) == {site_url + p for p in ("/", "/refunds", "/shipping", "/deep/one", "/deep/two")}
    paths = [r.path for r in site.requests()]
    assert "/private/staff" not in paths  # robots.txt
    assert all(r.user_agent == "LoreSync/1.0" for r in site.requests())
    assert [f.source for f in first.skipped] == [site_url + "/private/staff", site_url + "/logo.png"]

    site.clear_log()
    site.put("/refunds", page("Refunds", "Refunds now take three business days.", "/"))
    site.put("/returns", page("Returns", "Return an item within 30 days."))
    site.put("/", page("Home", "Welcome to the help centre.", "/refunds", "/returns", "/deep/one"))
    second = Syncer(lore).run(spec)
    assert (second.added, second.updated, second.removed) == (1, 2, 1)  # returns; home, refunds; shipping
    assert second.unchanged == 2  # /deep/one and /deep/two answered 304
    assert {r.path for r in site.requests(304)} == {"/deep/one", "/deep/two"}
    assert all(r.conditional for r in site.requests() if r.path != "/returns" and r.path != "/robots.txt")
    now = _sources(lore)
    assert site_url + "/shipping" not in now and site_url + "/returns" in now
    assert now[site_url + "/deep/one"] == stored[site_url + "/deep/one"]
    assert now[site_url + "/refunds"] != stored[site_url + "/refunds"]


def test_depth_and_page_limits_bound_a_crawl(lore: Lore, site: Site, site_url: str) -> None:
    _build(site)
    shallow = Syncer(lore).run(SourceSpec("website", site_url + "/", "shallow"), None)
    assert shallow.added == 5
    lore.settings = lore.settings.updated(crawl_max_depth=1)
    assert (
        Syncer(lore).run(SourceSpec("website", site_url + "/", "one")).added == 3
    )  # home, refunds, shipping
    lore.settings = lore.settings.updated(crawl_max_depth=5, crawl_max_pages=2)
    assert Syncer(lore).run(SourceSpec("website", site_url + "/", "two")).listed == 2


def test_a_sitemap_lists_the_pages_and_a_page_gone_from_it_is_removed(
    lore: Lore, site: Site, site_url: str
) -> None:
    _build(site)
    urls = ["/refunds", "/shipping", "/private/staff"]
    site.put(
        "/sitemap.xml", _sitemap(site_url, [*urls, "https://elsewhere.example.com/x"]), "application/xml"
    )
    spec = SourceSpec("website", site_url + "/sitemap.xml", "mapped")
    first = Syncer(lore).run(spec)
    assert set(_sources(lore, "mapped")) == {site_url + "/refunds", site_url + "/shipping"}
    assert first.added == 2
    site.put("/sitemap.xml", _sitemap(site_url, ["/refunds"]), "application/xml")
    second = Syncer(lore).run(spec)
    assert (second.removed, second.unchanged) == (1, 1)
    assert set(_sources(lore, "mapped")) == {site_url + "/refunds"}


def test_a_listing_that_fails_removes_nothing(lore: Lore, site: Site, site_url: str) -> None:
    _build(site)
    spec = SourceSpec("website", site_url + "/", "help")
    Syncer(lore).run(spec)
    before = _sources(lore)
    site.remove("/")  # the start page is gone: the listing cannot be trusted
    with pytest.raises(ListingFailed):
        Syncer(lore).run(spec)
    assert _sources(lore) == before


def test_removal_is_scoped_to_the_sources_own_documents(lore: Lore, site: Site, site_url: str) -> None:
    _build(site)
    lore.add_text(title="Manual", text="Written by hand.", source=site_url + "/manual", collection="help")
    Syncer(lore).run(SourceSpec("website", site_url + "/", "help"))
    site.put("/", page("Home", "Nothing linked any more."))
    Syncer(lore).run(SourceSpec("website", site_url + "/", "help"))
    assert set(_sources(lore)) == {site_url + "/", site_url + "/manual"}


def test_loopback_is_refused_unless_allowed(lore: Lore, site: Site, site_url: str) -> None:
    _build(site)
    lore.settings = lore.settings.updated(crawl_allow_loopback=False)
    with pytest.raises(ListingFailed, match=r"robots\.txt could not be read: .*loopback is not allowed"):
        Syncer(lore).run(SourceSpec("website", site_url + "/", "help"))
    assert site.requests() == []


def _sitemap(base: str, paths: list[str]) -> str:
    locs = "".join(f"<url><loc>{p if p.startswith('http') else base + p}</loc></url>" for p in paths)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'


def test_last_modified_alone_makes_requests_conditional(lore: Lore, site: Site, site_url: str) -> None:
    site.etags = False
    _build(site)
    spec = SourceSpec("website", site_url + "/", "help")
    Syncer(lore).run(spec)
    site.clear_log()
    site.put("/refunds", page("Refunds", "Edited.", "/"), at=1_800_000_000.0)
    again = Syncer(lore).run(spec)
    assert (again.updated, again.unchanged) == (1, 4)
    assert {r.path for r in site.requests(200)} == {"/robots.txt", "/refunds"}


def test_a_page_that_fails_is_kept_and_its_links_still_followed(
    lore: Lore, site: Site, site_url: str
) -> None:
    _build(site)
    spec = SourceSpec("website", site_url + "/", "help")
    Syncer(lore).run(spec)
    site.broken.add("/shipping")
    again = Syncer(lore).run(spec)
    assert [(f.source, f.code) for f in again.failures] == [(site_url + "/shipping", "http_error")]
    assert again.removed == 0 and site_url + "/deep/two" in _sources(
        lore
    )  # reached through /shipping's links
