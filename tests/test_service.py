"""The service end to end on real SQLite files, real index files and the real embedding model."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest

from lore.config import Settings
from lore.core.ingest import Progress
from lore.core.retrieve import SearchRequest
from lore.errors import InvalidInput, NotFound
from lore.models import DEFAULT_TENANT, SearchFilters
from lore.service import Lore


def search(lore: Lore, query: str, mode: str = "hybrid", **kwargs: object) -> list[str]:
    hits = lore.search(SearchRequest(DEFAULT_TENANT, query, mode=mode, **kwargs))  # type: ignore[arg-type]
    return [hit.chunk.title for hit in hits]


@pytest.fixture
def help_centre(tmp_path: Path) -> Path:
    root = tmp_path / "help"
    root.mkdir()
    (root / "refunds.md").write_text("# Refunds\n\nRefunds reach your card within five business days.\n")
    (root / "passwords.html").write_text(
        "<html><head><title>Passwords</title></head><body><nav>Home | Blog</nav><main><h1>Passwords</h1>"
        "<p>To reset a forgotten password, open Settings and choose Security.</p></main></body></html>"
    )
    (root / "shipping.txt").write_text("Shipping\n\nParcels ship from Rotterdam every weekday morning.\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "broken.pdf").write_bytes(b"%PDF-1.7 this is not really a pdf")
    return root


def test_ingest_reports_progress_with_totals_known_first(lore: Lore, tmp_path: Path) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    sentences = " ".join(f"Sentence {i} tells of part {i % 7} and step {i * 3}." for i in range(1500))
    (folder / "0-long.md").write_text(f"# Long\n\n{sentences}\n")  # over 64 chunks: two embedding steps
    (folder / "1-short.md").write_text("# Short\n\nA short note.\n")
    (folder / "2-short.md").write_text("# Shorter\n\nA shorter note.\n")
    seen: list[Progress] = []
    report = lore.ingest_paths([folder], on_progress=seen.append)
    assert report.chunks > 64
    assert seen[0].files_total == 3 and (seen[0].files_done, seen[0].work_done) == (0, 0.0)
    assert seen[-1].files_done == 3 and seen[-1].work_done == 1.0
    assert seen[-1].chunks == report.chunks and seen[-1].embedded == report.embedded
    steps = [p.embedded for p in seen]
    assert steps == sorted(steps) and max(b - a for a, b in itertools.pairwise(steps)) <= 64
    assert [p.work_done for p in seen] == sorted(p.work_done for p in seen)
    assert len({p.work_done for p in seen if p.files_done == 0}) > 2  # it moves before the first file is done
    assert {Path(p.source).name for p in seen if p.source} == {"0-long.md", "1-short.md", "2-short.md"}


def test_ingest_indexes_supported_files_and_reports_the_rest(lore: Lore, help_centre: Path) -> None:
    report = lore.ingest_paths([help_centre])
    assert (report.files, report.added, report.unchanged) == (4, 3, 0)
    failed = {Path(f.source).name: f.code for f in report.failures}
    assert failed == {"broken.pdf": "corrupt_document"}
    assert {Path(f.source).name: f.code for f in report.skipped} == {"logo.png": "unsupported_format"}
    for mode in ("hybrid", "vector", "keyword"):
        assert search(lore, "how long until my refund arrives", mode)[0] == "Refunds"
    assert search(lore, "forgot my password")[0] == "Passwords"


def test_reingest_skips_unchanged_files_and_reindexes_changed_ones(lore: Lore, help_centre: Path) -> None:
    lore.ingest_paths([help_centre])
    again = lore.ingest_paths([help_centre])
    assert (again.unchanged, again.added, again.updated, again.embedded) == (3, 0, 0, 0)
    (help_centre / "refunds.md").write_text(
        "# Refunds\n\nRefunds now arrive within two hours via instant payout.\n"
    )
    changed = lore.ingest_paths([help_centre])
    assert (changed.updated, changed.unchanged, changed.embedded) == (1, 2, 1)
    hits = lore.search(SearchRequest(DEFAULT_TENANT, "instant payout refund", k=3))
    assert "two hours" in hits[0].chunk.text
    assert not any("five business days" in hit.chunk.text for hit in hits)


def test_sync_removes_documents_whose_files_are_gone(lore: Lore, help_centre: Path) -> None:
    lore.ingest_paths([help_centre])
    (help_centre / "shipping.txt").unlink()
    report = lore.ingest_paths([help_centre], sync=True)
    assert report.removed == 1
    assert "Shipping" not in search(lore, "parcels ship from Rotterdam", k=10)
    assert lore.list_documents().items and len(lore.list_documents().items) == 2


def test_replacing_a_document_is_atomic_for_readers(lore: Lore) -> None:
    versions = [
        "\n\n".join(f"{word} rule {n}: the quota is ten {thing} per day." for n in range(80))
        for word, thing in (("alpha", "widgets"), ("beta", "gadgets"))
    ]
    lore.add_text(title="Quota", text=versions[0], source="quota")
    seen: list[set[str]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            hits = lore.search(SearchRequest(DEFAULT_TENANT, "what is the quota per day", k=5))
            seen.append({hit.chunk.text.split()[0] for hit in hits if hit.chunk.title == "Quota"})

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(12):
        lore.add_text(title="Quota", text=versions[i % 2], source="quota")
    stop.set()
    reader.join()
    assert lore.get_document(lore.list_documents().items[0].id).chunk_count > 2
    assert seen and all(len(words) <= 1 for words in seen)  # never chunks of both versions at once
    assert any(words for words in seen)


def test_a_restarted_process_catches_up_with_writes_its_index_never_saw(settings: Settings) -> None:
    with Lore.open(settings) as first:
        first.add_text(title="Warranty", text="Every device carries a two year warranty.")
    writer = Lore.open(settings)
    writer.add_text(title="Loyalty", text="Loyalty points expire after eighteen months of inactivity.")
    writer.store.close()  # a crash: the index files were never saved after this write
    with Lore.open(settings) as restarted:
        assert search(restarted, "when do loyalty points expire", "vector")[0] == "Loyalty"
        assert restarted.index.applied_seq == restarted.store.changes.last_seq()


def test_a_serving_process_sees_writes_from_another_process(settings: Settings) -> None:
    settings.index.index_sync_seconds = 0.0
    with Lore.open(settings) as server, Lore.open(settings) as cli:
        server.add_text(title="Warranty", text="Every device carries a two year warranty.")
        cli.add_text(title="Loyalty", text="Loyalty points expire after eighteen months of inactivity.")
        assert search(server, "when do loyalty points expire", "vector")[0] == "Loyalty"


def test_rebuilding_the_index_gives_the_same_results(lore: Lore, help_centre: Path) -> None:
    lore.ingest_paths([help_centre])
    before = search(lore, "reset password settings", "vector")
    assert lore.rebuild_index() == lore.index.count(lore.store.vectors.partitions()[0])
    assert search(lore, "reset password settings", "vector") == before


def test_filters_collections_and_tenants_narrow_the_search(lore: Lore) -> None:
    lore.add_text(
        title="Plans EU",
        text="Prices include VAT.",
        collection="eu",
        tags=["billing"],
        metadata={"region": "eu"},
    )
    lore.add_text(title="Plans US", text="Prices exclude sales tax.", collection="us", tags=["billing"])
    lore.add_text(title="Secret", text="Prices for tenant two.", tenant_id="two")
    assert set(search(lore, "prices tax")) == {"Plans EU", "Plans US"}
    assert search(lore, "prices tax", collections=["us"]) == ["Plans US"]
    for mode in ("hybrid", "vector", "keyword"):
        only_eu = SearchFilters(metadata={"region": "eu"})
        assert search(lore, "prices tax", mode, filters=only_eu) == ["Plans EU"]
        assert search(lore, "prices tax", mode, filters=SearchFilters(tags=("nope",))) == []


def test_bad_input_raises_domain_errors(lore: Lore) -> None:
    with pytest.raises(InvalidInput):
        lore.add_text(title="x", text="y", collection="no/slashes")
    with pytest.raises(InvalidInput):
        lore.search(SearchRequest(DEFAULT_TENANT, "q", k=0))
    with pytest.raises(InvalidInput):
        lore.search(SearchRequest(DEFAULT_TENANT, "   "))
    with pytest.raises(NotFound):
        lore.get_document("missing")
    with pytest.raises(NotFound):
        lore.delete_document("missing")


@pytest.mark.parametrize("settings", ["sqlite-fts", "sqlite-memory"], indirect=True)  # a copied SQLite file
def test_an_index_newer_than_its_store_is_rebuilt(settings: Settings, tmp_path: Path) -> None:
    """Restoring an older copy of the database next to newer index files must not serve stale vectors."""
    database = settings.storage.data_dir / "lore.db"
    with Lore.open(settings) as lore:
        lore.add_text(title="Warranty", text="Every device carries a two year warranty.")
    backup = database.read_bytes()  # closed: the write-ahead log is checkpointed into the file
    with Lore.open(settings) as lore:
        lore.add_text(title="Loyalty", text="Loyalty points expire after eighteen months of inactivity.")
    database.write_bytes(backup)
    with Lore.open(settings) as restored:
        assert restored.index.applied_seq == restored.store.changes.last_seq()
        assert search(restored, "when do loyalty points expire", "vector") == ["Warranty"]
