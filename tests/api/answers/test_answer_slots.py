"""Answers are admitted a few at a time per process (`LORE_ANSWER_CONCURRENCY`), on threads of their own: a
slow model answer makes the next question wait its turn, never the other routes."""

from __future__ import annotations

import threading

import httpx
import pytest

from lore.config import Settings
from tests.answers.servers import Reply, Script
from tests.api.answers.helpers import read_events


@pytest.fixture(scope="module")
def api_settings(api_settings: Settings) -> Settings:
    """One answer at a time."""
    return api_settings.model_copy(update={"answer_concurrency": 1})


def test_a_slow_answer_queues_the_next_question_but_not_other_requests(
    client: httpx.Client, articles: dict[str, str], script: Script
) -> None:
    first_id = client.post("/v1/conversations").json()["id"]
    second_id = client.post("/v1/conversations").json()["id"]
    slow = " ".join(["Open Billing and choose Request refund [1]."] * 10)  # 60 pieces, 0.05 s apart
    script.then(Reply(text=slow, piece_seconds=0.05))
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
    slow_thread.start()
    assert streaming.wait(30)
    next_thread = threading.Thread(target=ask_next)
    next_thread.start()

    listed = client.get("/v1/conversations", params={"limit": 5})
    other_request_done_while_streaming = not finished
    slow_thread.join(60)
    next_thread.join(60)

    assert listed.status_code == 200 and other_request_done_while_streaming
    assert finished == ["slow answer", "next question"]
