"""Each event type reaches a subscribed endpoint from where it happens: an answer that abstains, negative
feedback, a job that fails for good, a file that fails to ingest (published once, on Lore's one event bus)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.conversations import Question, open_answering
from lore.errors import InvalidInput
from lore.jobs import ReportProgress, handler, job_kinds
from lore.service import Lore
from tests.api.conftest import LiveServer
from tests.webhooks.calls import index, subscribe
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.usefixtures("unsubscribed")


def received(receiver: Receiver, secret: str) -> dict[str, Any]:
    (arrival,) = receiver.wait(1)
    return arrival.verifies(secret)


def test_an_abstaining_answer_is_announced(
    server: LiveServer, client: httpx.Client, receiver: Receiver
) -> None:
    created = subscribe(client, receiver.url, ["answer.abstained"], collections=["status"])
    server.lore.add_text(title="Status", text="Green means every service runs.", collection="status")
    answering = open_answering(server.lore)
    conversation = answering.records.create("default")
    question = Question("What is the meaning of life?", collections=["status"])
    list(answering.answer(answering.prepare("default", conversation.id, question)))
    payload = received(receiver, created["secret"])
    assert payload["data"]["question"] == "What is the meaning of life?"
    assert payload["data"]["conversation_id"] == conversation.id and payload["data"]["collection"] == "status"


def test_negative_feedback_is_announced_and_positive_is_not(client: httpx.Client, receiver: Receiver) -> None:
    created = subscribe(client, receiver.url, ["feedback.negative"])
    document_id = index(client)
    events = [
        {"event_id": uuid.uuid4().hex, "kind": "rating", "document_id": document_id, "value": 5},
        {"event_id": uuid.uuid4().hex, "kind": "rating", "document_id": document_id, "value": 1},
    ]
    client.post("/v1/events", json={"events": events}).raise_for_status()
    payload = received(receiver, created["secret"])
    assert payload["data"]["event_id"] == events[1]["event_id"] and payload["data"]["value"] == 1


@pytest.fixture
def failing_kind() -> Iterator[str]:
    def fails(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
        raise InvalidInput("this job cannot succeed")

    handler("test_fails")(fails)
    yield "test_fails"
    job_kinds.remove("test_fails")


def test_a_job_that_fails_for_good_is_announced(
    server: LiveServer, client: httpx.Client, receiver: Receiver, failing_kind: str
) -> None:
    created = subscribe(client, receiver.url, ["job.failed"])
    job = server.app.state.jobs.submit(failing_kind, {})
    payload = received(receiver, created["secret"])
    assert payload["data"]["job_id"] == job.id and payload["data"]["error"]["code"] == "invalid_input"


def test_a_file_that_fails_to_ingest_is_announced(
    server: LiveServer, client: httpx.Client, receiver: Receiver, tmp_path: Path
) -> None:
    created = subscribe(client, receiver.url, ["ingest.failed"])
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 this is not a PDF")
    report = server.lore.ingest_paths([tmp_path], collection="manuals")
    assert len(report.failures) == 1
    payload = received(receiver, created["secret"])
    assert payload["data"]["source"].endswith("broken.pdf") and payload["data"]["collection"] == "manuals"
