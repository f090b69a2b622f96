"""`lore adapters ...` and `lore eval adapter`, run as real processes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.conftest import run
from tests.intelligence import jargon


@pytest.fixture
def env(tmp_path: Path, model_cache: Path) -> dict[str, str]:
    return {**os.environ, "LORE_DATA_DIR": str(tmp_path / "data"), "LORE_MODEL_CACHE_DIR": str(model_cache)}


def test_eval_adapter_prints_both_modes_without_and_with_the_adapter(
    tmp_path: Path, env: dict[str, str]
) -> None:
    dataset = jargon.write_beir(tmp_path / "jargon")
    printed = run("eval", "adapter", str(dataset), "--json", "--data-dir", str(tmp_path / "eval"), env=env)
    result = json.loads(printed.stdout)
    assert set(result) == {
        "dataset",
        "training_queries",
        "training_pairs",
        "test_queries",
        "vector",
        "hybrid",
        "unseen_documents",
        "held_out",
        "helps",
        "adapter_version",
        "epochs",
        "training_seconds",
        "cpu_flags",
        "ingest_seconds",
    }
    assert (result["training_queries"], result["test_queries"]) == (84, 36)
    for mode in ("vector", "hybrid"):
        assert set(result[mode]) == {"ndcg_at_10", "ndcg_at_10_adapted", "gain"}
        assert set(result["unseen_documents"][mode]) == {"ndcg_at_10", "ndcg_at_10_adapted", "gain"}
    assert result["unseen_documents"]["queries"] == 0  # every topic has training pairs
    assert result["vector"]["gain"] > 0.2 and result["hybrid"]["gain"] >= 0
    assert isinstance(result["cpu_flags"], list) and result["training_seconds"] >= 0


def test_train_list_show_activate_and_roll_back(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    for code, (title, text) in jargon.TOPICS.items():
        (folder / f"{code}.md").write_text(f"# {title}\n\n{text}\n")
    run("ingest", str(folder), "--collection", "help", env=env)
    pairs = tmp_path / "pairs.csv"
    sources = {code: str((folder / f"{code}.md").resolve()) for code in jargon.TOPICS}
    pairs.write_text("query,source\n" + "".join(f"{q},{sources[code]}\n" for q, code in jargon.queries()))
    trained = json.loads(run("adapters", "train", "help", "--pairs", str(pairs), "--json", env=env).stdout)
    assert trained["status"] == "candidate" and trained["metrics"]["vector"]["gain"] > 0
    listed = json.loads(run("adapters", "list", "--json", env=env).stdout)
    assert [model["id"] for model in listed] == [trained["id"]]
    missing = run("adapters", "show", "help", env=env, check=False)
    assert missing.returncode == 2 and "no active adapter" in missing.stderr
    active = json.loads(run("adapters", "activate", "help", "--json", env=env).stdout)
    assert active["status"] == "active"
    shown = json.loads(run("adapters", "show", "help", "--json", env=env).stdout)
    assert shown["id"] == trained["id"]
    rolled = json.loads(run("adapters", "rollback", "help", "--json", env=env).stdout)
    assert rolled == {"active": None}
    neither = run("adapters", "train", "help", env=env, check=False)
    assert neither.returncode == 2 and "--pairs" in neither.stderr
