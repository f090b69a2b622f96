"""Every family of the metric contract (docs/operations.md) is exported by a live server once it has done the
work it measures, with the labels the dashboards and alerts group by."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lore.api.metrics import ApiMetrics, StoreFigures
from tests.operations.metrics.conftest import exported_names, samples_of
from tests.waiting import wait_for

CONTRACT = {
    "lore_http_requests_total",
    "lore_http_request_seconds_bucket",
    "lore_http_rejections_total",
    "lore_search_seconds_bucket",
    "lore_search_stage_seconds_bucket",
    "lore_embed_batches_total",
    "lore_embed_texts_total",
    "lore_embed_seconds_bucket",
    "lore_cache_hits_total",
    "lore_cache_misses_total",
    "lore_cache_errors_total",
    "lore_cache_hit_ratio",
    "lore_cache_entries",
    "lore_jobs",
    "lore_job_seconds_bucket",
    "lore_llm_attempts_total",
    "lore_llm_seconds_bucket",
    "lore_llm_first_token_seconds_bucket",
    "lore_llm_tokens_total",
    "lore_llm_circuit_open",
    "lore_documents",
    "lore_chunks",
    "lore_db_pool_connections",
    "lore_index_lag_changes",
    "lore_index_lag_seconds",
    "lore_events_total",
    "lore_build_info",
}


def labelled(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str
) -> list[dict[str, str]]:
    return [dict(labels) for (sample, labels), _ in samples.items() if sample == name]


def test_every_family_of_the_contract_is_exported(exercised: str) -> None:
    missing = CONTRACT - exported_names(exercised)
    assert not missing


def test_searches_report_each_stage_by_mode(exercised: str) -> None:
    stages = {
        (s["mode"], s["stage"]) for s in labelled(samples_of(exercised), "lore_search_stage_seconds_count")
    }
    assert {("hybrid", stage) for stage in ("embed", "keyword", "vector", "fuse", "hydrate")} <= stages
    assert {("vector", "embed"), ("vector", "vector"), ("vector", "hydrate")} <= stages
    assert {("keyword", "keyword"), ("keyword", "hydrate")} <= stages
    assert ("keyword", "embed") not in stages and ("vector", "fuse") not in stages


def test_embeddings_jobs_and_answers_are_counted(exercised: str) -> None:
    samples = samples_of(exercised)
    assert samples[("lore_embed_texts_total", (("purpose", "document"),))] >= 2
    assert samples[("lore_embed_batches_total", (("purpose", "query"),))] >= 1
    assert samples[("lore_job_seconds_count", (("kind", "ingest"), ("outcome", "succeeded")))] == 1
    assert samples[("lore_llm_attempts_total", (("outcome", "ok"), ("provider", "extractive")))] >= 2
    assert samples[("lore_llm_first_token_seconds_count", (("provider", "extractive"),))] >= 1


def test_refusals_are_counted_by_reason(exercised: str) -> None:
    samples = samples_of(exercised)
    assert samples[("lore_http_rejections_total", (("reason", "too_large"),))] == 1
    assert samples[("lore_http_rejections_total", (("reason", "rate_limited"),))] == 1


def test_the_store_figures_are_read_at_scrape(exercised: str, client: httpx.Client) -> None:
    def current() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        samples = samples_of(client.get("/metrics").text)  # a scrape reuses a read for a few seconds
        jobs_done = samples[("lore_jobs", (("state", "succeeded"),))]
        return (
            samples if (samples[("lore_documents", (("tenant", "default"),))], jobs_done) == (2, 1) else None
        )

    samples = wait_for(current, "the store's figures to include the job and its document")
    assert samples[("lore_chunks", (("tenant", "default"),))] >= 2
    assert samples[("lore_jobs", (("state", "queued"),))] == 0
    assert samples[("lore_index_lag_changes", (("index", "vector"),))] == 0
    assert {s["state"] for s in labelled(samples, "lore_db_pool_connections")} == {
        "in_use",
        "idle",
        "overflow",
    }
    assert len(labelled(samples, "lore_build_info")) == 1


def test_cache_counters_grow_with_lookups(exercised: str, client: httpx.Client) -> None:
    def hits() -> float:
        return sum(
            value
            for (name, _), value in samples_of(client.get("/metrics").text).items()
            if name == "lore_cache_hits_total"
        )

    before = hits()
    for _ in range(2):
        assert client.post("/v1/search", json={"query": "refund card hybrid"}).status_code == 200
    assert hits() >= before + 2


def test_a_failing_store_read_leaves_its_families_out_and_the_scrape_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = ApiMetrics()

    def broken() -> dict[str, int]:
        raise OSError("disk gone")

    metrics.watch_store(broken, broken)  # type: ignore[arg-type]
    metrics.observe_request("GET", "/healthz", 200, 0.001)
    text = metrics.exposition().decode()
    names = exported_names(text)
    assert {"lore_http_requests_total", "lore_build_info"} <= names
    assert not {"lore_jobs", "lore_documents", "lore_chunks"} & names
    assert "reading the jobs from the store failed" in caplog.text


def test_store_reads_are_reused_for_a_few_seconds() -> None:
    reads = []
    figures = StoreFigures(max_age=60)
    figures.jobs_source = lambda: reads.append(1) or {"queued": len(reads)}
    assert [figures.jobs(), figures.jobs()] == [{"queued": 1}, {"queued": 1}]
    assert len(reads) == 1


def test_every_family_is_documented(exercised: str) -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "operations.md").read_text()
    types = {f.name: f.type for f in text_string_to_metric_families(exercised) if f.name.startswith("lore_")}
    documented = {
        name: f"`{name}_total`" if kind == "counter" else f"`{name}`" for name, kind in types.items()
    }
    missing = [name for name, shown in sorted(documented.items()) if shown not in docs]
    assert [name for name in missing if not name.endswith("_created")] == []  # counters' start times
