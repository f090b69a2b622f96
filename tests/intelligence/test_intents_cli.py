"""`lore intents ...` and `lore eval intents` as a user runs them: real processes on a real data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lore.wire.intents import IntentRouteOut, TrainedModelList
from tests.cli.conftest import run
from tests.intelligence.intent_data import as_csv, labelled_rows


@pytest.fixture
def env(tmp_path: Path, model_cache: Path) -> dict[str, str]:
    return {**os.environ, "LORE_DATA_DIR": str(tmp_path / "data"), "LORE_MODEL_CACHE_DIR": str(model_cache)}


def test_eval_intents_trains_on_train_and_scores_test(tmp_path: Path, env: dict[str, str]) -> None:
    dataset = tmp_path / "tiny"
    dataset.mkdir()
    (dataset / "train.csv").write_bytes(as_csv(labelled_rows(), label_column="category"))
    (dataset / "test.csv").write_bytes(
        as_csv(labelled_rows(["the parcel", "last week"]), label_column="category")
    )
    result = json.loads(run("eval", "intents", str(dataset), "--json", env=env).stdout)
    assert result["dataset"] == "tiny" and (result["train_rows"], result["test_rows"], result["labels"]) == (
        72,
        24,
        3,
    )
    assert result["accuracy"] >= 0.9 and result["macro_f1"] >= 0.9 and result["training_seconds"] > 0
    assert isinstance(result["confused_pairs"], list) and len(result["confused_pairs"]) <= 5
    assert isinstance(result["cpu_flags"], list)


def test_train_list_share_rollback_and_routes(tmp_path: Path, env: dict[str, str]) -> None:
    data = tmp_path / "labelled.csv"
    data.write_bytes(as_csv(labelled_rows()))
    first = json.loads(
        run("intents", "train", str(data), "--name", "support", "--activate", "--json", env=env).stdout
    )
    second = run("intents", "train", str(data), "--name", "support", env=env)
    assert "embedding" in second.stderr  # the progress bar
    listed = TrainedModelList.model_validate_json(run("intents", "list", "--json", env=env).stdout)
    assert [(m.version, m.status) for m in listed.items] == [(2, "candidate"), (1, "active")]
    candidate = listed.items[0].id
    shared = json.loads(run("intents", "share", candidate, "0.25", "--json", env=env).stdout)
    assert shared["traffic_share"] == 0.25
    run("intents", "activate", candidate, env=env)
    back = json.loads(run("intents", "rollback", "--name", "support", "--json", env=env).stdout)
    assert back["id"] == first["id"] and back["status"] == "active"
    scored = json.loads(run("intents", "eval", first["id"], str(data), "--json", env=env).stdout)
    assert scored["accuracy"] >= 0.9 and scored["version"] == 1

    route = run(
        "intents", "routes", "set", "refund_request", "-c", "billing", "--tag", "refunds", "--json", env=env
    )
    assert IntentRouteOut.model_validate_json(route.stdout).collection == "billing"
    run("intents", "routes", "delete", "refund_request", env=env)
    missing = run("intents", "routes", "delete", "refund_request", env=env, check=False)
    assert missing.returncode == 2 and "not_found" in missing.stderr
