"""Sync throughput: documents per second of `Syncer.run` over a folder and over a local website (a crawl),
the first sync (everything parsed, embedded, written) and a re-sync with nothing changed (a folder re-read and
hashed; a site answering 304 to every conditional request).

    python bench/bench_sync.py [--pages 200]

The site is a threaded `http.server` on loopback serving `--pages` HTML pages linked from one index page, the
rate limit raised out of the way (`crawl_requests_per_second` 1000). The reference, in the same run, is
`lore ingest`'s path (`Lore.ingest_paths`) over a folder like it (its own texts, so nothing is reused by
content hash): the cost of parsing, embedding and writing alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.connectors.site import Served, Site, page

from benchkit import table, write_result
from lore.config import Settings
from lore.connectors import SourceSpec, Syncer
from lore.service import Lore

WORDS = [
    "refunds",
    "shipping",
    "passwords",
    "invoices",
    "accounts",
    "exports",
    "billing",
    "teams",
    "roles",
    "tokens",
]


def _text(i: int, where: str) -> str:
    """Distinct per source (`where`), so no source reuses another's embeddings by content hash."""
    return " ".join(
        f"{where} article {i} explains {WORDS[(i + j) % len(WORDS)]} in step {j}." for j in range(40)
    )


def _timed(run: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = run()  # type: ignore[operator]
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    pages = parser.parse_args().pages
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        folder, plain = root / "docs", root / "reference"
        for where in (folder, plain):
            where.mkdir()
            for i in range(pages):
                (where / f"page-{i}.md").write_text(f"# Article {i}\n\n{_text(i, where.name)}")
        site = Site()
        site.put("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
        site.put("/", page("Index", "All articles.", *(f"/a/{i}" for i in range(pages))))
        for i in range(pages):
            site.put(f"/a/{i}", page(f"Article {i}", _text(i, "site")))
        rows, record = [], {}

        def fresh(name: str) -> Lore:
            """A Lore on a data dir of its own (nothing reused between measurements), its model loaded."""
            settings = Settings(
                _env_file=None,
                data_dir=root / f"data-{name}",
                crawl_allow_loopback=True,
                crawl_requests_per_second=1000.0,
                crawl_max_pages=pages + 1,
            )
            lore = Lore.open(settings)
            lore.add_text(title="warm-up", text="The model is loaded before anything is timed.")
            return lore

        with fresh("reference") as lore:
            reference, _ = _timed(
                lambda: lore.ingest_paths([plain], collection="reference", tags=[], sync=False)
            )
        with Served(site) as url:
            for name, spec in (
                ("folder", SourceSpec("folder", str(folder), "folder")),
                ("website", SourceSpec("website", url + "/", "site")),
            ):
                with fresh(name) as lore:
                    syncer = Syncer(lore)
                    for run in ("first", "no change"):
                        seconds, report = _timed(lambda spec=spec, syncer=syncer: syncer.run(spec))
                        docs = report.listed  # type: ignore[attr-defined]
                        rows.append(
                            (
                                name,
                                run,
                                docs,
                                f"{seconds:.2f}",
                                f"{docs / seconds:.1f}",
                                f"{reference / seconds:.2f}",
                            )
                        )
                        record[f"{name} {run}"] = report.to_json()  # type: ignore[attr-defined]
        print(table(("source", "sync", "documents", "seconds", "docs/s", "ingest time ratio"), rows))
        print(
            f"reference: lore ingest of the folder, {pages} files in {reference:.2f}s ({pages / reference:.1f} docs/s)"
        )
        record["reference ingest seconds"] = reference
        write_result("sync", record)


if __name__ == "__main__":
    main()
