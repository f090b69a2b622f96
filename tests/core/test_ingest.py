"""Ingestion's pipeline: a bulk load prepares and embeds the next batch on a second thread while the caller
writes the current one, and still stores every record exactly once, in order."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lore.config import Settings
from lore.core.ingest import EMBED_BATCH_CHUNKS, CorpusDoc, ahead
from lore.core.retrieve import SearchRequest
from lore.models import DEFAULT_TENANT
from lore.service import Lore
from tests.waiting import PATIENCE


def test_ahead_gives_each_item_with_its_result_in_order() -> None:
    assert list(ahead(iter(range(5)), lambda n: n * n)) == [(0, 0), (1, 1), (2, 4), (3, 9), (4, 16)]
    assert list(ahead(iter([]), lambda n: n)) == []


def test_the_next_item_is_worked_on_another_thread_while_the_caller_holds_this_one() -> None:
    caller = threading.get_ident()
    second_started = threading.Event()
    threads: list[int] = []

    def work(n: int) -> int:
        threads.append(threading.get_ident())
        if n == 1:
            second_started.set()
        return n

    items = ahead(iter(range(3)), work)
    assert next(items) == (0, 0)
    assert second_started.wait(PATIENCE)  # item 1 is under way before the caller asks for it
    assert [n for n, _ in items] == [1, 2]
    assert caller not in threads


def test_an_error_in_the_work_reaches_the_caller() -> None:
    def work(n: int) -> int:
        if n == 2:
            raise ValueError("bad record")
        return n

    items = ahead(iter(range(4)), work)
    assert [next(items), next(items)] == [(0, 0), (1, 1)]
    with pytest.raises(ValueError, match="bad record"):
        next(items)


def test_a_bulk_load_of_several_batches_stores_every_record(tmp_path: Path, model_cache: Path) -> None:
    settings = Settings(
        _env_file=None, data_dir=tmp_path / "data", model_cache_dir=model_cache, embed_threads=1
    )
    docs = [
        CorpusDoc(f"r{i}", f"Record {i}", f"Part {i} of the manual covers valve {i}.") for i in range(300)
    ]
    assert len(docs) > EMBED_BATCH_CHUNKS  # more than one embedding batch, so the pipeline runs ahead
    with Lore.open(settings) as lore:
        report = lore.add_corpus(docs)
        assert (report.added, report.chunks, report.embedded) == (300, 300, 300)
        assert [d.title for d in report.documents] == [d.title for d in docs]
        hits = lore.search(SearchRequest(DEFAULT_TENANT, "valve 277", mode="keyword", k=1))
        assert hits[0].chunk.title == "Record 277"
        again = lore.add_corpus(docs)
        assert (again.unchanged, again.embedded) == (300, 0)
