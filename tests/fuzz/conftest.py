"""Fuzzing a real `lore serve`: one server per session over a temporary data dir with a few documents, Lore's
OpenAPI for schemathesis, the budget from the environment, and the report printed at the end of the session
(inputs tried, 5xx, schema violations, the slowest input, the server's largest RSS)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import BaseSchema

from lore.api import create_app
from lore.config import Settings
from tests.fuzz.report import BUDGET, BudgetSpent, Report
from tests.fuzz.server import ServedLore, lore_serve
from tests.hostile_files import MUTATED

REPORT = pytest.StashKey[Report]()
REQUEST_SECONDS = 60.0  # each input's bound: a request still unanswered by then fails its test

DOCUMENTS = [
    {"title": "Reset your password", "text": "Open Settings, choose Security, then Reset password."},
    {"title": "Billing", "text": "Invoices are sent on the first day of each month.", "collection": "help"},
    {"title": "Two-factor sign-in", "text": "Scan the code with an authenticator app.", "tags": ["security"]},
]


def openapi_schema(settings: dict[str, Any]) -> BaseSchema:
    """Lore's OpenAPI, built by the app `lore serve` runs (a test checks the server serves the same), with
    schemathesis settings. Built when the tests are collected: one pytest test per operation."""
    config = {
        "request-timeout": REQUEST_SECONDS,
        "suppress-health-check": ["all"],  # slow and rejected inputs are what fuzzing is for
        **settings,
    }
    app = create_app(Settings(_env_file=None))
    return schemathesis.openapi.from_dict(app.openapi(), config=SchemathesisConfig.from_dict(config))


# Every phase (the schema's examples, its coverage cases, random generation) within the budget, with the key.
OPENAPI = openapi_schema(
    {"generation": {"max-examples": BUDGET.examples, "deterministic": not BUDGET.explore, "database": "none"}}
)
# One generated request per operation without a key: what a refusal looks like is documented too.
OPENAPI_WITHOUT_KEY = openapi_schema(
    {
        "generation": {"max-examples": 1, "deterministic": True, "database": "none"},
        "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}},
    }
)


@pytest.fixture(scope="session")
def fuzz_report(request: pytest.FixtureRequest) -> Report:
    """The session's report; the time budget is shared by the operations and the mutated hostile files."""
    report = Report(BUDGET, targets=sum(1 for _ in OPENAPI.get_all_operations()) + len(MUTATED))
    request.config.stash[REPORT] = report
    return report


@pytest.fixture(scope="session")
def served(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, fuzz_report: Report
) -> Iterator[ServedLore]:
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    with lore_serve(data_dir, model_cache, data_dir.parent / "fuzz-server.log") as server:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=REQUEST_SECONDS) as http:
            for document in DOCUMENTS:
                http.post("/v1/documents", json=document).raise_for_status()
        fuzz_report.server_started(server.peak_rss_bytes())
        yield server


@pytest.fixture(scope="session")
def http(served: ServedLore) -> Iterator[httpx.Client]:
    """The fuzzing key's client, kept for the session: a client per request would build a TLS context each
    time, as much CPU as the request itself."""
    with httpx.Client(base_url=served.url, headers=served.headers, timeout=REQUEST_SECONDS) as client:
        yield client


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """A test whose time share is spent ends there: it passed every input it was given."""
    try:
        return (yield)
    except BudgetSpent:
        return True


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    report = config.stash.get(REPORT, None)
    if report is None or not report.inputs:
        return
    terminalreporter.write_sep("=", "Lore fuzz report")
    for line in report.lines():
        terminalreporter.write_line(line)
