"""The jobs API on a live server with its embedded worker thread: 202 and a job to follow, listing, retrying."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.api import create_app
from tests.api.conftest import LiveServer, assert_error
from tests.jobs.conftest import make_settings
from tests.keys import bearer, mint_key
from tests.waiting import wait_for

MAX_DOCUMENT_CHARS = 2000


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[httpx.Client]:
    settings = make_settings(
        tmp_path_factory.mktemp("jobs-api"), model_cache, None, max_document_chars=MAX_DOCUMENT_CHARS
    )
    with LiveServer(create_app(settings)) as live:
        headers = bearer(mint_key(live.lore.store))
        with httpx.Client(base_url=live.url, timeout=60, headers=headers) as http:
            yield http


def finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        return job if job["state"] in ("succeeded", "failed") else None

    return wait_for(done, f"job {job_id} to finish", poll=0.1)


def test_ingest_is_accepted_and_runs_in_the_background(client: httpx.Client) -> None:
    documents = [
        {
            "title": "Refunds",
            "text": "Refunds reach your card in five business days.",
            "source": "kb:refunds",
        },
        {"title": "Shipping", "text": "Parcels ship within two days.", "collection": "logistics"},
    ]
    response = client.post("/v1/ingest", json={"documents": documents})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert response.headers["location"] == f"/v1/jobs/{accepted['id']}"
    assert (accepted["kind"], accepted["state"], accepted["attempts"]) == ("ingest", "queued", 0)
    done = finished(client, accepted["id"])
    assert done["state"] == "succeeded", done
    assert done["progress"] == {"done": 2, "total": 2} and done["error"] is None and done["worker"] is None
    assert done["result"]["documents"] == 2 and done["finished_at"] >= done["started_at"]
    hits = client.post("/v1/search", json={"query": "when is my refund paid", "k": 1}).json()["hits"]
    assert hits[0]["title"] == "Refunds" and hits[0]["source"] == "kb:refunds"


@pytest.mark.parametrize(
    "body",
    [
        {"documents": []},
        {"documents": [{"title": "No text"}]},
        {"documents": [{"title": "x", "text": "y", "colour": "red"}]},
        {"docs": [{"title": "x", "text": "y"}]},
    ],
)
def test_bad_batches_are_refused_before_queueing(client: httpx.Client, body: dict[str, Any]) -> None:
    before = client.get("/v1/jobs", params={"limit": 200}).json()["items"]
    assert_error(client.post("/v1/ingest", json=body), 422, "invalid_request")
    assert client.get("/v1/jobs", params={"limit": 200}).json()["items"] == before


def test_a_failed_job_keeps_its_error_and_can_be_retried(client: httpx.Client) -> None:
    too_long = {"title": "Huge", "text": "word " * MAX_DOCUMENT_CHARS}
    job = client.post("/v1/ingest", json={"documents": [too_long]}).json()
    failed = finished(client, job["id"])
    assert (failed["state"], failed["attempts"]) == ("failed", 1)  # bad input is not retried
    assert failed["error"]["code"] == "payload_too_large" and failed["error"]["attempt"] == 1
    retried = client.post(f"/v1/jobs/{job['id']}/retry")
    assert retried.status_code == 202 and retried.headers["location"] == f"/v1/jobs/{job['id']}"
    assert retried.json()["state"] == "queued" and retried.json()["error"]["code"] == "payload_too_large"
    again = finished(client, job["id"])
    assert (again["state"], again["attempts"]) == ("failed", 1)
    listed = client.get("/v1/jobs", params={"state": "failed"}).json()["items"]
    assert [item["id"] for item in listed] == [job["id"]]


def test_jobs_are_listed_newest_first_a_page_at_a_time(client: httpx.Client) -> None:
    ids = [
        client.post("/v1/ingest", json={"documents": [{"title": f"T{i}", "text": f"Note {i}."}]}).json()["id"]
        for i in range(3)
    ]
    first = client.get("/v1/jobs", params={"limit": 2}).json()
    second = client.get("/v1/jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    assert second["items"][0]["id"] == ids[0]
    for job_id in ids:
        assert finished(client, job_id)["state"] == "succeeded"


def test_unknown_jobs_bad_filters_and_retrying_a_success_are_errors(client: httpx.Client) -> None:
    assert_error(client.get("/v1/jobs/no-such-job"), 404, "not_found")
    assert_error(client.post("/v1/jobs/no-such-job/retry"), 404, "not_found")
    assert_error(client.get("/v1/jobs", params={"state": "sleeping"}), 422, "invalid_request")
    assert_error(client.get("/v1/jobs", params={"cursor": "garbage"}), 422, "invalid_input")
    job = client.post("/v1/ingest", json={"documents": [{"title": "Ok", "text": "Fine."}]}).json()
    assert finished(client, job["id"])["state"] == "succeeded"
    error = assert_error(client.post(f"/v1/jobs/{job['id']}/retry"), 409, "conflict")
    assert error["details"] == {"job_id": job["id"], "state": "succeeded"}


def test_readiness_reports_the_queue(client: httpx.Client) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200
    queue = ready.json()["queue"]
    assert queue["backend"] == "sqlite" and isinstance(queue["pending"], int)
    assert set(queue["jobs"]) == {"queued", "running", "succeeded", "failed"}
