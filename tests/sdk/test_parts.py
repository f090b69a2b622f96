"""The SDK's parts that need no server: its public surface, the event-stream parser, `Retry-After`, the
backoff; and, against the scripted loopback server, what a stream does with an error event and the async
client's retries."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import httpx
import lore_client
import pytest
from lore_client import AsyncLore, Lore, LoreError, Retries, Token
from lore_client._streams import ServerSentEvent, events_of
from lore_client._transport import retry_after

from tests.event_loops import run_async
from tests.sdk.scripted import Reply, ScriptedServer, refusal

FAILING_STREAM = (
    b'event: token\ndata: {"text":"Open Billing"}\n\n'
    b'event: error\ndata: {"error":{"code":"provider_error","message":"the model went away","details":{}}}\n\n'
)


def test_all_is_sorted_and_every_name_resolves() -> None:
    constants = [name for name in lore_client.__all__ if name.isupper()]
    others = [name for name in lore_client.__all__ if not name.isupper()]
    assert lore_client.__all__ == sorted(constants) + sorted(others)
    assert all(getattr(lore_client, name) is not None for name in lore_client.__all__)


def test_events_are_cut_at_blank_lines_with_their_names_and_data_lines() -> None:
    lines = [": a comment", "event: token", 'data: {"text":', 'data: "a"}', "", "data: [DONE]"]
    assert list(events_of(lines)) == [
        ServerSentEvent("token", '{"text":\n"a"}'),
        ServerSentEvent("message", "[DONE]"),  # the last one needs no blank line after it
    ]


def test_retry_after_is_seconds_or_an_http_date() -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    soon = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 20 < (retry_after(httpx.Response(429, headers={"Retry-After": soon})) or 0) <= 30
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None


def test_backoff_doubles_within_its_bound_and_waits_at_least_retry_after() -> None:
    retries = Retries(attempts=4, backoff=1.0, max_backoff=3.0, max_retry_after=10)
    for attempt, bound in [(1, 1.0), (2, 2.0), (3, 3.0), (4, 3.0)]:
        assert 0 <= (retries.delay(attempt, None) or 0) <= bound
    assert retries.delay(5, None) is None
    assert 4.0 <= (retries.delay(1, 4.0) or 0) <= 5.0
    assert retries.delay(1, 11.0) is None


def test_an_error_event_ends_a_stream_with_its_code() -> None:
    with ScriptedServer(Reply(201, raw=FAILING_STREAM)) as server, Lore(server.url) as client:
        seen = []
        with pytest.raises(LoreError) as raised:
            for event in client.conversations.stream("c1", "How do I get a refund?"):
                seen.append(event)
    assert seen == [Token("Open Billing")]
    assert (raised.value.code, raised.value.status) == ("provider_error", None)


def test_the_async_client_retries_and_streams_alike() -> None:
    async def run() -> list[object]:
        async with AsyncLore(server.url, retries=Retries(backoff=0.01)) as client:
            assert await client.healthz() == {"status": "ok"}
            seen: list[object] = []
            with pytest.raises(LoreError) as raised:
                async for event in client.conversations.stream("c1", "How do I get a refund?"):
                    seen.append(event)
            assert raised.value.code == "provider_error"
            return seen

    replies = (
        refusal(429, "rate_limited", "0"),
        refusal(503, "overloaded"),
        Reply(),
        Reply(201, raw=FAILING_STREAM),
    )
    with ScriptedServer(*replies) as server:
        assert run_async(run) == [Token("Open Billing")]
    assert [seen.method for seen in server.seen] == ["GET", "GET", "GET", "POST"]
