"""`lore eval recommendations` on a small MovieLens-layout set whose answer is known: people who rated one film
of a pair go on to rate the other, so the collaborative methods and Lore's blend must beat popularity."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import numpy as np
from rich.console import Console

from lore.evaluation import movielens
from lore.evaluation.recommendations import render
from lore.evaluation.timeline import cut_time
from tests.cli.conftest import env, run

__all__ = ["env"]  # the fixture, shared with the CLI tests

PAIRS = 20


def write_pairs(root: Path) -> None:
    """Films 2i and 2i+1 are a pair: 40 early users rate both of three pairs, then 20 late users rate the
    first of three pairs, and later the second."""
    rng = random.Random(7)
    root.mkdir()
    with (root / "movies.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["movieId", "title", "genres"])
        for movie in range(2 * PAIRS):
            writer.writerow(
                [movie, f"Film {movie} ({1990 + movie // 2})", "Drama|Comedy" if movie % 2 else "Drama"]
            )
    ratings, at = [], 1_500_000_000
    for user in range(60):
        for pair in rng.sample(range(PAIRS), 3):
            at += 60
            ratings.append([user, 2 * pair, 4.5, at])
            if user < 40:
                ratings.append([user, 2 * pair + 1, 4.0, at + 1])
    for user in range(40, 60):  # the second film of each late user's pairs, after all first films
        for _, movie, _, _ in [r for r in ratings if r[0] == user]:
            at += 60
            ratings.append([user, movie + 1, 5.0, at])
    with (root / "ratings.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["userId", "movieId", "rating", "timestamp"])
        writer.writerows(ratings)
    with (root / "tags.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["userId", "movieId", "tag", "timestamp"])
        writer.writerow([1, 0, "early tag", 1_500_000_001])
        writer.writerow([1, 1, "future tag", at])


def test_documents_carry_only_the_tags_known_before_the_cut(tmp_path: Path) -> None:
    write_pairs(tmp_path / "pairs")
    dataset = movielens.load(tmp_path / "pairs")
    cut = cut_time(dataset.ratings)
    positives = dataset.ratings.times[dataset.ratings.stars >= 4]
    assert np.mean(positives >= cut) == 0.2  # the last 20% of positives by time
    texts = {doc.id: doc.text for doc in dataset.documents(before=cut)}
    assert "Tags: early tag" in texts["0"] and "future tag" not in texts["1"]
    assert texts["1"].startswith("Film 1 (1990)\nGenres: Drama, Comedy")


def test_eval_recommendations_prints_the_documented_json(tmp_path: Path, env: dict[str, str]) -> None:
    write_pairs(tmp_path / "pairs")
    result = json.loads(run("eval", "recommendations", str(tmp_path / "pairs"), "--json", env=env).stdout)
    assert set(result) == {
        "dataset",
        "protocol",
        "users",
        "validation_users",
        "catalogue",
        "test_positives",
        "methods",
        "lore_minus",
        "cpu_flags",
        "seconds",
    }
    assert set(result["methods"]) == {"lore", "popularity", "item_knn", "ease"}
    assert result["users"]["warm"] + result["users"]["cold"] == result["users"]["test"] > 0
    assert result["catalogue"] == 2 * PAIRS
    for name, row in result["methods"].items():
        low, high = row["ndcg_at_10_ci95"]
        assert 0 <= low <= row["ndcg_at_10"] <= high <= 1, name
        assert 0 < row["coverage"] <= 1 and 0 <= row["hr_at_10"] <= 1
    methods = result["methods"]
    assert methods["ease"]["ndcg_at_10"] > methods["popularity"]["ndcg_at_10"]
    assert methods["lore"]["ndcg_at_10"] > methods["popularity"]["ndcg_at_10"]
    assert set(result["lore_minus"]) == {"popularity", "item_knn", "ease"}
    assert set(result["seconds"]) == {"ingest", "tune", "test"}
    assert isinstance(result["cpu_flags"], list)
    out = io.StringIO()
    render(result, Console(file=out, width=200))
    table = out.getvalue()
    assert "NDCG@10" in table and "item_knn" in table and str(methods["lore"]["ndcg_at_10"]) in table
    assert "cpu_flags" in table and "seconds" in table
