"""Simulated Lore users for `make load`, run by Locust in its own venv (`.venv-load`), never in Lore's.

The harness (bench/load/run.py) writes a plan, a JSON file named by `LORE_LOAD_PLAN`: the users' API keys, the
search queries and the questions. Each user takes a key (round robin) and picks tasks by the weights of
bench/load/mix.py. A 429 or 503 that carries `Retry-After` is shed: reported under the request's name plus
`(shed)`, never as a failure, and the user waits what it was told (a well-behaved client). Anything else that
is not the expected success (a 5xx, a 4xx, a timeout, a connection error, a stream that ends in an `error`
event) is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, between
from mix import SHED, WEIGHTS, handler

PLAN: dict[str, Any] = json.loads(Path(os.environ["LORE_LOAD_PLAN"]).read_text())
KEYS = itertools.cycle(PLAN["keys"])
TIMEOUT = float(PLAN.get("timeout", 30.0))
RETRY_AFTER_CAP = 10.0  # a user never waits longer than this, whatever it is told
WORDS = [
    "install",
    "search",
    "answer",
    "collection",
    "backup",
    "restore",
    "tenant",
    "widget",
    "gizmo",
    "invoice",
    "refund",
    "password",
]


def judge(response: Any, expect: int, stream: bool) -> tuple[Any, float | None]:
    """Mark a response a success or a failure; return its parsed body (None unless a success) and, when it
    was shed, the seconds it says to wait."""
    if response.status_code == 0:  # no response: a timeout or a connection error
        response.failure(repr(response.error))
        return None, None
    retry_after = response.headers.get("Retry-After")
    if response.status_code in (429, 503) and retry_after is not None:
        response.success()
        return None, float(retry_after)
    if response.status_code != expect:
        response.failure(f"HTTP {response.status_code}: {(response.text or '')[:120]}")
        return None, None
    if not stream:
        return response.json(), None
    if "event: error" in response.text or "event: message" not in response.text:
        response.failure("stream without its message event")
        return None, None
    return response.text, None


class LoreUser(FastHttpUser):
    wait_time = between(0.2, 1.0)
    connection_timeout = TIMEOUT
    network_timeout = TIMEOUT

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {next(KEYS)}"}
        self.conversation: str | None = None

    def call(self, name: str, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        """One request of the mix, judged: the parsed body on success, None when shed or failed. A shed user
        waits its `Retry-After` before its next task."""
        with self.client.request(
            method, path, name=name, headers=self.headers, catch_response=True, **kwargs
        ) as response:
            outcome, wait = judge(response, expect, bool(kwargs.get("json", {}).get("stream")))
            if wait is not None:
                response.request_meta["name"] = name + SHED
        if wait is not None:
            gevent.sleep(min(wait, RETRY_AFTER_CAP))
        return outcome

    def search(self, mode: str) -> None:
        query = random.choice(PLAN["queries"])
        self.call(f"search {mode}", "POST", "/v1/search", json={"query": query, "k": 10, "mode": mode})

    def ask(self, stream: bool) -> None:
        if self.conversation is None or random.random() < 1 / 3:
            created = self.call("conversation create", "POST", "/v1/conversations", expect=201)
            if created is None:
                return
            self.conversation = created["id"]
        body = {"content": random.choice(PLAN["questions"]), "provider": "extractive", "stream": stream}
        path = f"/v1/conversations/{self.conversation}/messages"
        self.call("ask streamed" if stream else "ask", "POST", path, expect=201, json=body)

    def do_search_hybrid(self) -> None:
        self.search("hybrid")

    def do_search_keyword(self) -> None:
        self.search("keyword")

    def do_ask(self) -> None:
        self.ask(stream=False)

    def do_ask_streamed(self) -> None:
        self.ask(stream=True)

    def do_upload(self) -> None:
        tag = uuid.uuid4().hex
        text = " ".join(random.choices(WORDS, k=60))
        body = {
            "title": f"Load note {tag[:8]}",
            "text": f"# Load note {tag}\n\n{text}\n",
            "source": f"load:{tag}",
        }
        self.call("upload", "POST", "/v1/documents", expect=201, json=body)

    def do_list_documents(self) -> None:
        self.call("list documents", "GET", "/v1/documents?limit=20")

    def do_list_jobs(self) -> None:
        self.call("list jobs", "GET", "/v1/jobs?limit=20")

    def do_list_conversations(self) -> None:
        self.call("list conversations", "GET", "/v1/conversations?limit=20")


LoreUser.tasks = {getattr(LoreUser, handler(task)): weight for task, weight in WEIGHTS.items()}
