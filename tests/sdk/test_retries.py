"""Retries: 429 and 503 are sent again after the server's Retry-After (or a backoff), up to a bound; a failed
connection is retried when that is safe; a timeout raises `Timeout`. Against Lore's own rate limits (a key of
one request per five seconds) and against a scripted loopback server that says exactly when to retry."""

from __future__ import annotations

import httpx
import pytest
from lore_client import NO_RETRIES, ConnectionFailed, Lore, RateLimited, Retries, Timeout, Unavailable

from tests.sdk.scripted import Reply, ScriptedServer, refusal
from tests.served import ServedLore, free_port
from tests.waiting import PATIENCE

QUICK = Retries(attempts=3, backoff=0.01)


def test_lore_refuses_a_key_past_its_rate_limit_with_retry_after(lore: Lore, served: ServedLore) -> None:
    limited = lore.keys.create("one-a-minute", ["documents:read"], rate_limit="1/minute")
    with Lore(served.url, api_key=limited["key"], retries=NO_RETRIES) as client:
        client.collections.list()
        with pytest.raises(RateLimited) as raised:
            client.collections.list()
    assert (raised.value.status, raised.value.code) == (429, "rate_limited")
    assert raised.value.retry_after is not None and 0 < raised.value.retry_after <= 60


def test_calls_past_lores_rate_limit_succeed_after_its_retry_after(lore: Lore, served: ServedLore) -> None:
    limited = lore.keys.create("one-per-5-seconds", ["documents:read"], rate_limit="1/5seconds")
    answers: list[tuple[int, str | None]] = []

    def record(response: httpx.Response) -> None:
        answers.append((response.status_code, response.headers.get("Retry-After")))

    http = httpx.Client(base_url=served.url, timeout=PATIENCE, event_hooks={"response": [record]})
    with Lore(api_key=limited["key"], http_client=http) as client:
        listed = [client.collections.list() for _ in range(2)]
    assert listed[0] == listed[1]
    assert [status for status, _ in answers] == [200, 429, 200]  # the second call waited, then went through
    assert 0 < float(answers[1][1] or 0) <= 5


def test_a_429_is_retried_no_sooner_than_its_retry_after() -> None:
    with (
        ScriptedServer(refusal(429, "rate_limited", "1"), Reply()) as server,
        Lore(server.url, retries=QUICK) as client,
    ):
        assert client.healthz() == {"status": "ok"}
    first, second = server.seen
    assert second.at - first.at >= 1.0


def test_a_post_refused_with_503_is_sent_again() -> None:
    with (
        ScriptedServer(refusal(503, "overloaded", "0"), refusal(503, "overloaded"), Reply()) as server,
        Lore(server.url, retries=QUICK) as client,
    ):
        client.search("sent three times")
    assert [(seen.method, seen.path) for seen in server.seen] == [("POST", "/v1/search")] * 3


def test_retries_end_at_their_bound_with_the_last_error() -> None:
    with (
        ScriptedServer(refusal(429, "quota_exceeded", "0")) as server,
        Lore(server.url, retries=QUICK) as client,
        pytest.raises(RateLimited) as raised,
    ):
        client.healthz()
    assert len(server.seen) == 1 + QUICK.attempts
    assert (raised.value.code, raised.value.retry_after) == ("quota_exceeded", 0.0)


def test_a_retry_after_beyond_the_bound_is_raised_at_once() -> None:
    with (
        ScriptedServer(refusal(429, "quota_exceeded", "86400")) as server,
        Lore(server.url, retries=QUICK) as client,
        pytest.raises(RateLimited) as raised,
    ):
        client.healthz()
    assert len(server.seen) == 1 and raised.value.retry_after == 86400


def test_a_503_that_needs_a_setting_is_not_retried() -> None:
    with (
        ScriptedServer(refusal(503, "provider_not_configured")) as server,
        Lore(server.url, retries=QUICK) as client,
        pytest.raises(Unavailable) as raised,
    ):
        client.healthz()
    assert len(server.seen) == 1 and raised.value.code == "provider_not_configured"


def test_a_timeout_is_retried_only_for_idempotent_methods() -> None:
    slow = Reply(delay=1.0)
    with ScriptedServer(slow) as server, Lore(server.url, timeout=0.2, retries=QUICK) as client:
        with pytest.raises(Timeout) as raised:
            client.healthz()
        assert len(server.seen) == 1 + QUICK.attempts
        with pytest.raises(Timeout):
            client.search("not sent twice")
    assert [seen.method for seen in server.seen].count("POST") == 1
    assert raised.value.code == "timeout" and raised.value.status is None


def test_a_refused_connection_is_retried_then_raised() -> None:
    with (
        Lore(f"http://127.0.0.1:{free_port()}", retries=QUICK) as client,
        pytest.raises(ConnectionFailed) as raised,
    ):
        client.search("nobody listens")
    assert raised.value.code == "connection_error"
