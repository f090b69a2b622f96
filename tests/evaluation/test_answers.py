"""`lore eval answers`: a tiny BEIR set whose figures follow by hand, scored through the real answer path."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lore.answers import ABSTENTION, build_chain
from lore.cli.main import main
from lore.config import Settings
from lore.conversations import Answering
from lore.evaluation.answers import answer_query, summarise
from lore.evaluation.datasets import (
    JudgedQuery,
    gold_answers,
    judged_queries,
    load_beir,
    with_gold_passages,
)
from lore.service import Lore
from tests.answers.servers import LiveServer, Reply, Script
from tests.evaluation.sets import write_answer_set

Cli = Callable[..., tuple[int, str, str]]
KEYS = {
    "dataset",
    "provider",
    "mode",
    "k",
    "queries",
    "answered",
    "errors",
    "answered_by",
    "gold_in_passages",
    "citation_accuracy",
    "answer_recall",
    "answer_recall_gold_in_passages",
    "abstention_rate",
    "token_f1",
    "rouge_l",
    "cited_overlaps_gold",
    "false_abstention_rate",
    "unanswerable",
    "false_answer_rate",
    "false_answer_held_out",
    "false_answer_foreign",
    "latency_ms_p50",
    "latency_ms_p99",
    "search_ms_p50",
    "answer_ms_p50",
    "ingest_seconds",
}


def test_scores_the_real_answer_path(tmp_path: Path, model_cache: Path) -> None:
    root = write_answer_set(tmp_path / "set")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", model_cache_dir=model_cache)
    chain = build_chain(settings)
    with Lore.open(settings) as lore:
        lore.add_corpus(load_beir(root).corpus())
        answering = Answering(lore, chain, lore.store.conversations, passages=3)
        outcomes = {
            query.id: answer_query(answering, query, mode="hybrid", providers=["extractive"])
            for query in with_gold_passages(
                load_beir(root), judged_queries(load_beir(root), gold_answers(root))
            )
        }
        empty = answer_query(answering, JudgedQuery("q0", " ", frozenset(), ()), mode="hybrid", providers=[])
    q1 = outcomes["q1"]
    assert q1.recalled and q1.cites_gold and q1.answer is not None and "five business days" in q1.answer.text
    assert outcomes["q3"].abstained and not outcomes["q3"].answered
    assert outcomes["q5"].answered and not outcomes["q5"].cites_gold and not outcomes["q5"].gold_in_passages
    assert empty.abstained and empty.search_seconds is None
    report = summarise(
        list(outcomes.values()), dataset="set", providers=["extractive"], mode="hybrid", k=3, ingest_seconds=0
    )
    assert set(report) == KEYS
    assert (report["queries"], report["answered"], report["errors"]) == (5, 4, 0)
    assert report["answered_by"] == {"extractive": 5}
    assert report["gold_in_passages"] == 0.8  # k = 3 passages are the whole corpus; q5's gold is not in it
    assert report["citation_accuracy"] == 0.75  # q1, q2, q4 cite their gold document; q5 cannot
    assert report["answer_recall"] == 0.5  # q1, q2 of the four with spans (q3 abstained, q5 lacks "never")
    assert report["answer_recall_gold_in_passages"] == 0.6667  # q1, q2 of q1, q2, q3
    assert report["abstention_rate"] == 0.2
    # q1, q2, q4 are answered with their one-sentence gold passage, word for word; q3 abstained; q5's gold
    # document is not in the corpus, so it has no gold passage to be compared with
    assert report["token_f1"] == report["rouge_l"] == 0.75
    assert report["cited_overlaps_gold"] == 1.0
    assert report["false_abstention_rate"] == 0.25  # q3, of the four with their gold document among passages
    assert (report["unanswerable"], report["false_answer_rate"]) == (0, None)
    assert 0 < report["latency_ms_p50"] <= report["latency_ms_p99"]  # type: ignore[operator]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], model_cache: Path) -> Cli:
    """`lore eval answers ...` through the entry point, in this process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("LORE_MODEL_CACHE_DIR", str(model_cache))
    monkeypatch.setenv("LORE_LLM_RETRIES", "0")

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["lore", "eval", "answers", *args])
        with pytest.raises(SystemExit) as exit_:
            main()
        out, err = capsys.readouterr()
        return int(exit_.value.code or 0), out, err

    return run


def test_command_prints_the_documented_json(tmp_path: Path, cli: Cli) -> None:
    root = write_answer_set(tmp_path / "set")
    code, out, err = cli(str(root), "--k", "3", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) == KEYS
    assert [report[key] for key in ("dataset", "provider", "mode", "k")] == ["set", "extractive", "hybrid", 3]
    assert [report[key] for key in ("queries", "answered", "errors")] == [5, 4, 0]
    assert [report[key] for key in ("citation_accuracy", "answer_recall", "abstention_rate")] == [
        0.75,
        0.5,
        0.2,
    ]
    code, out, _ = cli(str(root), "--k", "3", "--limit", "1", "--json")
    limited = json.loads(out)
    assert [limited[key] for key in ("queries", "answer_recall", "citation_accuracy")] == [1, 1.0, 1.0]


def test_unanswerable_questions_measure_false_answers(tmp_path: Path, cli: Cli) -> None:
    root = write_answer_set(tmp_path / "set")
    other = tmp_path / "other"
    (other / "qrels").mkdir(parents=True)
    (other / "corpus.jsonl").write_text(json.dumps({"_id": "x1", "text": "Comets have icy nuclei."}))
    strangers = ["Which telescope photographed the comet nucleus?", "What do giraffes eat in the dry season?"]
    (other / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": f"x{i}", "text": text}) for i, text in enumerate(strangers))
    )
    (other / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nx0\tx1\t1\nx1\tx1\t1\n")

    code, out, err = cli(str(root), "--k", "3", "--held-out", "--foreign", str(other), "--json")

    assert code == 0, err
    report = json.loads(out)
    assert report["queries"] == 5 and report["unanswerable"] == 5 + 2
    # held out: q1, q2, q4 lose the one passage that answers them; q5's gold was never in the corpus, so its
    # refund passage still answers it; another set's questions find nothing here
    assert report["false_answer_held_out"] == 0.2
    assert report["false_answer_foreign"] == 0.0
    assert report["false_answer_rate"] == round(1 / 7, 4)


def test_a_model_provider_is_scored_and_its_failures_counted(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_answer_set(tmp_path / "set")
    script = Script().then(
        Reply("Refunds are processed within five business days [1]."),  # q1: its top passage is d1
        Reply(ABSTENTION),  # q2
        Reply(status=503),  # q3: the only provider fails, and retries are off
    )
    with LiveServer(script) as server:
        monkeypatch.setenv("LORE_OPENAI_BASE_URL", f"{server.url}/v1")
        code, out, err = cli(str(root), "--k", "3", "--limit", "3", "--provider", "openai", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [report[key] for key in ("provider", "queries", "answered", "errors")] == ["openai", 3, 1, 1]
    assert report["answered_by"] == {"openai": 2}
    assert report["citation_accuracy"] == 1.0
    assert report["answer_recall"] == report["abstention_rate"] == round(1 / 3, 4)
    assert "1 answer(s) failed: no LLM provider could answer: openai (server_error)" in err
    assert [request["protocol"] for request in script.requests] == ["openai"] * 3


def test_bad_input_is_one_clear_line(tmp_path: Path, cli: Cli) -> None:
    code, out, err = cli(str(tmp_path / "nowhere"), "--json")
    assert (code, out) == (2, "")
    assert err.startswith("error [invalid_input]: not a BEIR-layout data set: missing ")
    assert "Traceback" not in err
    code, _, err = cli(str(write_answer_set(tmp_path / "set")), "--provider", "nobody", "--json")
    assert code == 2 and "error [invalid_input]: unknown LLM provider: nobody" in err
