"""Answers are admitted a few at a time per process (`LORE_ANSWER_CONCURRENCY`), on threads of their own: a
slow model answer makes the next question wait its turn, never the other routes."""

from __future__ import annotations

import threading

import httpx
import pytest

from lore.config import Settings
from tests.answers.servers import Reply, Script
from tests.api.answers.helpers import read_events
from tests.api.conftest import LiveServer
from tests.waiting import PATIENCE, wait_for


@pytest.fixture(scope="module")
def api_settings(api_settings: Settings) -> Settings:
    """One answer at a time."""
    return api_settings.updated(answer_concurrency=1)


def test_a_slow_answer_queues_the_next_question_but_not_other_requests(
    client: httpx.Client, articles: dict[str, str], script: Script, server: LiveServer
) -> None:
    first_id = client.post("/v1/conversations").json()["id"]
    second_id = client.post("/v1/conversations").json()["id"]
    done = threading.Event()  # the slow answer writes on until the test has seen what it waits for
    script.then(Reply(text="Open Billing and choose Request refund [1].", piece_seconds=0.05, until=done))
    slots = server.app.state.answer_slots
    finished: list[str] = []
    streaming = threading.Event()

    def stream_slowly() -> None:
        body = {"content": "How do I get a refund?", "provider": "openai", "stream": True}
        with client.stream("POST", f"/v1/conversations/{first_id}/messages", json=body) as response:
            for _ in read_events(response):
                streaming.set()
        finished.append("slow answer")

    def ask_next() -> None:
        response = client.post(
            f"/v1/conversations/{second_id}/messages", json={"content": "How do I reset my password?"}
        )
        assert response.status_code == 201
        finished.append("next question")

    slow_thread = threading.Thread(target=stream_slowly)
    next_thread = threading.Thread(target=ask_next)
    slow_thread.start()
    try:
        assert streaming.wait(PATIENCE)
        next_thread.start()
        wait_for(lambda: slots.waiting or finished, "the next question to wait for the slot")
        listed = client.get("/v1/conversations", params={"limit": 5})
        other_request_done_while_streaming = not finished
        next_question_waiting = slots.waiting == 1
    finally:
        done.set()
        slow_thread.join(PATIENCE)
        if next_thread.is_alive():
            next_thread.join(PATIENCE)

    assert listed.status_code == 200 and other_request_done_while_streaming and next_question_waiting
    assert sorted(finished) == ["next question", "slow answer"]
