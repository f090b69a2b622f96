"""Schemathesis over the OpenAPI a real `lore serve` publishes, with a key holding every scope: every operation,
with inputs from the schema's examples, its coverage cases (boundaries, missing and wrong fields) and random
generation, answers without a 5xx, with a status code, content type and body its OpenAPI documents.

The checks that cannot apply to Lore's schema are left out: `ignored_auth` needs declared security schemes
(Lore authenticates every route in one app-wide dependency, so none are declared); `positive_data_acceptance`
would read the 4xx of business rules a schema cannot say (a collection that does not exist, a finished job
retried) as failures; `response_headers_conformance` has no documented headers to check."""

from __future__ import annotations

import time

import httpx
from schemathesis import Case, Response
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup, ServerError

from lore.models import DEFAULT_TENANT
from tests.fuzz.conftest import OPENAPI, OPENAPI_WITHOUT_KEY, REQUEST_SECONDS
from tests.fuzz.report import Report
from tests.fuzz.server import ServedLore
from tests.keys import bearer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_server_serves_the_schema_that_is_fuzzed(http: httpx.Client) -> None:
    assert http.get("/openapi.json").json() == OPENAPI.raw_schema


@OPENAPI.parametrize()
def test_every_operation_answers_as_documented(
    case: Case, served: ServedLore, http: httpx.Client, fuzz_report: Report
) -> None:
    label = case.operation.label
    fuzz_report.pace(label)
    response = call(case, served, fuzz_report, "openapi", served.headers)
    if label == "PATCH /v1/tenants/{tenant_id}":
        keep_enabled(http, served)
    validate(case, response, fuzz_report)


@OPENAPI_WITHOUT_KEY.parametrize()
def test_every_operation_refuses_a_caller_without_a_key_as_documented(
    case: Case, served: ServedLore, fuzz_report: Report
) -> None:
    response = call(case, served, fuzz_report, "openapi without a key", {})
    validate(case, response, fuzz_report)


def call(case: Case, served: ServedLore, report: Report, part: str, headers: dict[str, str]) -> Response:
    started = time.perf_counter()
    response = case.call(base_url=served.url, headers=headers, timeout=REQUEST_SECONDS)
    seconds = time.perf_counter() - started
    report.tried(part, case.operation.label, seconds, response.status_code, served.peak_rss_bytes())
    return response


def validate(case: Case, response: Response, report: Report) -> None:
    """Schemathesis's checks; the failures other than 5xx (which the report counts apart) are violations."""
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as failures:
        found = [failure.title for failure in failures.exceptions if not isinstance(failure, ServerError)]
        report.violated(case.operation.label, found)
        raise


def keep_enabled(http: httpx.Client, served: ServedLore) -> None:
    """The fuzzer may disable the tenant its own key belongs to: the guard key, of another tenant, enables it
    again, so the operations after this one still reach their handlers."""
    response = http.patch(
        f"/v1/tenants/{DEFAULT_TENANT}", json={"disabled": False}, headers=bearer(served.guard_key)
    )
    assert response.status_code == 200, response.text
