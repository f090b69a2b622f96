"""deploy/grafana/lore.json and deploy/prometheus/alerts.yml query only series Lore really exports: every metric
name of every PromQL expression is looked up in the /metrics of a server that did every kind of work, so renaming
a metric without its panels and alerts fails here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "lore.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
# Identifiers of PromQL that are no metric: binary operators and modifiers (functions are followed by "(").
KEYWORDS = frozenset(
    ("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right")
)
IDENTIFIER = re.compile(r"(?<![\w.$])[a-zA-Z_:][\w:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are neither functions, keywords, label names
    (inside `{...}`, `by (...)` and the like) nor inside strings or `[...]` ranges."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)", r"\1", expr)  # Grafana's variables
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in IDENTIFIER.finditer(expr):
        if match.group() not in KEYWORDS and not expr[match.end() :].lstrip().startswith("("):
            names.add(match.group())
    return names


def dashboard_expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, expression) of every panel target and every query variable."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield f"variable {variable['name']}", variable["query"]["query"]


def alert_rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(ALERTS.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_the_tokenizer_finds_metrics_and_only_metrics() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, route) (rate(lore_a_bucket{status=~"5..", x="lore_no"}[5m])))'
        " / on (instance) group_left lore_b > bool 1e-3 and max(lore_c offset 1h) unless lore_d"
    )
    assert metric_names(expr) == {"lore_a_bucket", "lore_b", "lore_c", "lore_d"}
    assert metric_names("label_values(lore_documents, tenant)") == {"lore_documents"}


def test_every_dashboard_query_uses_exported_series(exported: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = {(where, name) for where, expr in dashboard_expressions(dashboard) for name in metric_names(expr)}
    assert len(used) > 30
    assert [(where, name) for where, name in sorted(used) if name not in exported] == []


def test_every_alert_uses_exported_series(exported: set[str]) -> None:
    used = {(rule["alert"], name) for rule in alert_rules() for name in metric_names(rule["expr"])}
    assert {alert for alert, _ in used} == {rule["alert"] for rule in alert_rules()}  # none without a metric
    assert [(alert, name) for alert, name in sorted(used) if name not in exported] == []


def test_the_dashboard_shows_every_area() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = {name for _, expr in dashboard_expressions(dashboard) for name in metric_names(expr)}
    wanted = {
        "lore_http_requests_total",
        "lore_http_request_seconds_bucket",
        "lore_http_rejections_total",
        "lore_search_seconds_bucket",
        "lore_search_stage_seconds_bucket",
        "lore_embed_texts_total",
        "lore_cache_hits_total",
        "lore_jobs",
        "lore_job_seconds_count",
        "lore_llm_seconds_bucket",
        "lore_llm_attempts_total",
        "lore_llm_tokens_total",
        "lore_documents",
        "lore_chunks",
        "lore_db_pool_connections",
        "lore_index_lag_seconds",
    }
    assert wanted - used == set()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dashboard["panels"])


def test_the_alerts_cover_what_operators_are_paged_for() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert {
        "LoreErrorRate",
        "LoreSearchSlow",
        "LoreQueueBacklog",
        "LoreJobsFailing",
        "LoreIndexBehind",
    } <= set(rules)
    assert {"LoreProviderCircuitOpen", "LoreProviderKeyRefused"} <= set(rules)
    assert "> 0.01" in rules["LoreErrorRate"]["expr"] and rules["LoreErrorRate"]["for"] == "5m"
    assert "> 0.5" in rules["LoreSearchSlow"]["expr"]  # the search p99 target, docs/operations.md
    for rule in rules.values():
        assert rule["labels"]["severity"] in {"page", "warn"} and rule["annotations"]["summary"]


@pytest.fixture(scope="module")
def exported(exercised: str) -> set[str]:
    from tests.operations.metrics.conftest import exported_names

    return exported_names(exercised)
