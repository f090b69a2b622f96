"""Hostile files uploaded to a real `lore serve` through `POST /v1/documents` (multipart): each is indexed or
refused as `tests/hostile_files.py` says it must be, never with a 5xx, and within the request bound; then
mutations of well-formed files (cut, overwritten, grown), as many as the budget allows."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.report import Report
from tests.fuzz.server import ServedLore
from tests.hostile_files import HOSTILE, MUTATED, Hostile, Outcome, mutate

EDITS = st.lists(
    st.tuples(
        st.sampled_from(["cut", "overwrite", "insert"]),
        st.integers(0, 2**16),
        st.binary(min_size=1, max_size=64),
    ),
    min_size=1,
    max_size=4,
)


def upload(
    http: httpx.Client,
    served: ServedLore,
    report: Report,
    label: str,
    filename: str,
    data: bytes,
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    started = time.perf_counter()
    response = http.post("/v1/documents", files={"file": (filename, data, content_type)})
    report.tried(
        "hostile files", label, time.perf_counter() - started, response.status_code, served.peak_rss_bytes()
    )
    return response


def assert_outcome(response: httpx.Response, expect: Outcome) -> None:
    """201 with a document (one that must be accepted can be found: it has chunks), or a 4xx with the one error
    shape; which of them, as expected."""
    if response.status_code == 201:
        assert expect is not Outcome.REFUSED, f"indexed, but must be refused: {response.text[:500]}"
        document = response.json()
        assert document["id"] and document["chunk_count"] >= (1 if expect is Outcome.ACCEPTED else 0)
        return
    assert 400 <= response.status_code < 500, response.text[:500]
    assert expect is not Outcome.ACCEPTED, f"refused, but must be indexed: {response.text[:500]}"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["code"] and error["message"], error


@pytest.mark.parametrize("hostile", HOSTILE, ids=[hostile.name for hostile in HOSTILE])
def test_a_hostile_file_is_indexed_or_refused_as_expected(
    hostile: Hostile, http: httpx.Client, served: ServedLore, fuzz_report: Report
) -> None:
    data = hostile.make()
    response = upload(http, served, fuzz_report, hostile.name, hostile.filename, data, hostile.content_type)
    assert_outcome(response, hostile.expect)


@pytest.mark.parametrize("filename, make", MUTATED, ids=[filename for filename, _ in MUTATED])
def test_a_mutated_file_is_indexed_or_refused(
    filename: str, make: Callable[[], bytes], http: httpx.Client, served: ServedLore, fuzz_report: Report
) -> None:
    original, budget = make(), fuzz_report.budget

    @settings(
        max_examples=budget.examples,
        derandomize=not budget.explore,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(edits=EDITS)
    def mutated(edits: list[tuple[str, int, bytes]]) -> None:
        fuzz_report.pace(filename)
        response = upload(http, served, fuzz_report, f"mutated {filename}", filename, mutate(original, edits))
        assert_outcome(response, Outcome.EITHER)

    mutated()
