"""`lore eval retrieval`'s figures from ranked runs (the command itself: tests/cli/test_cli.py)."""

from pathlib import Path

from lore.evaluation.datasets import load_beir
from lore.evaluation.retrieval import RetrievalRun, summarise
from tests.evaluation.sets import write_tiny_set


def test_summary_averages_the_metrics_over_the_judged_queries(tmp_path: Path) -> None:
    dataset = load_beir(write_tiny_set(tmp_path / "tiny"))
    result = summarise(dataset, "hybrid", RetrievalRun({"q1": ["d1"]}, [0.001, 0.003]), 1.5)
    assert result["ndcg_at_10"] == 1.0 and result["queries"] == 1 and result["latency_ms_p50"] == 2.0
