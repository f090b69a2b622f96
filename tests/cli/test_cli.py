"""The `lore` command as a user runs it: a real process, real files, JSON read back."""

from __future__ import annotations

import json
from pathlib import Path

from lore.wire.schemas import DocumentDetail, DocumentPage, SearchOut
from tests.cli.conftest import run


def test_ingest_search_and_reingest(tmp_path: Path, store_env: dict[str, str]) -> None:
    env = store_env
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text(
        "# Refunds\n\n## Timing\n\nRefunds reach your card in five business days.\n"
    )
    (docs / "notes.xyz").write_text("not a supported format")
    first = json.loads(run("ingest", str(docs), "--tag", "billing", "--json", env=env).stdout)
    assert (first["added"], first["chunks"], first["failures"]) == (1, 1, [])
    assert first["skipped"] == [  # another type in a folder: skipped, and the ingest succeeded
        {
            "source": str((docs / "notes.xyz").resolve()),
            "code": "unsupported_format",
            "message": "unsupported file type '.xyz'",
        }
    ]
    again = json.loads(run("ingest", str(docs), "--tag", "billing", "--json", env=env).stdout)
    assert (again["unchanged"], again["embedded"]) == (1, 0)
    found = json.loads(run("search", "when is my refund paid", "--k", "3", "--json", env=env).stdout)
    assert SearchOut.model_validate(found).model_dump(mode="json") == found  # the API's shape, no more
    top = found["hits"][0]
    assert top["title"] == "Refunds" and top["heading_path"] == ["Timing"]
    assert {top["snippet"][a:b] for a, b in top["highlights"]} == {"Refunds"}
    assert (top["tags"], top["metadata"]) == (["billing"], {"format": "markdown"})
    assert top["text"] == "Refunds reach your card in five business days."


def test_documents_print_the_api_shapes(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "a.md").write_text("# Passwords\n\nReset your password from the Security page.\n")
    run("ingest", str(tmp_path / "a.md"), env=env)
    listed = json.loads(run("documents", "list", "--json", env=env).stdout)
    assert DocumentPage.model_validate(listed).model_dump(mode="json") == listed
    (document,) = listed["items"]
    shown = json.loads(run("documents", "show", document["id"], "--json", env=env).stdout)
    assert DocumentDetail.model_validate(shown).model_dump(mode="json") == shown
    assert shown == {**document, "text": shown["text"]} and "Reset your password" in shown["text"]


def test_human_output_shows_progress_and_highlighted_results(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "a.md").write_text("# Passwords\n\nReset your password from the Security page.\n")
    ingest = run("ingest", str(tmp_path / "a.md"), env=env)
    assert "1 added" in ingest.stderr and "chunks/s" in ingest.stderr
    found = run("search", "reset password", env=env)
    assert "Passwords" in found.stdout and str(tmp_path / "a.md") in found.stdout


def test_errors_are_one_line_with_a_code(env: dict[str, str]) -> None:
    run("migrate", env=env)  # a data dir, empty
    result = run("search", "x", "--k", "0", env=env, check=False)
    assert result.returncode == 2
    assert "error [invalid_input]" in result.stderr and "Traceback" not in result.stderr
    missing = run("documents", "show", "nope", env=env, check=False)
    assert missing.returncode == 2 and "not_found" in missing.stderr


def test_eval_retrieval_prints_the_documented_json(tmp_path: Path, env: dict[str, str]) -> None:
    root = tmp_path / "set"
    (root / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Refunds", "text": "Refunds reach your card in five business days."},
        {"_id": "d2", "title": "Shipping", "text": "Parcels leave the warehouse every morning."},
        {"_id": "d3", "title": "Passwords", "text": "Reset your password on the security page."},
    ]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus))
    queries = [
        {"_id": "q1", "text": "how long do refunds take"},
        {"_id": "q2", "text": "when do parcels ship"},
        {"_id": "q3", "text": " "},  # unanswerable: counted as a miss, not dropped
    ]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n")
    for mode in ("hybrid", "vector", "keyword"):
        result = json.loads(run("eval", "retrieval", str(root), "--mode", mode, "--json", env=env).stdout)
        assert set(result) == {
            "dataset",
            "mode",
            "queries",
            "ndcg_at_10",
            "recall_at_100",
            "mrr_at_10",
            "latency_ms_p50",
            "latency_ms_p99",
            "ingest_seconds",
        }
        assert (result["dataset"], result["mode"], result["queries"]) == ("set", mode, 3)
        assert result["ndcg_at_10"] == result["recall_at_100"] == round(2 / 3, 4)
