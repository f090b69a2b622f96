"""The async client over the same server: the same calls awaited, lists and answer streams iterated with
`async for`, errors raised alike, a login kept."""

from __future__ import annotations

import asyncio

import pytest
from lore_client import Answer, AsyncLore, Lore, NotFound, PermissionDenied, Token

from tests.event_loops import run_async
from tests.sdk.test_documents import ARTICLES
from tests.sdk.test_identity import PASSWORD, new_user
from tests.served import ServedLore


async def add(lore: AsyncLore, collection: str) -> list[str]:
    return [(await lore.documents.add(t, x, collection=collection))["id"] for t, x in ARTICLES]


def test_documents_search_and_pages(served: ServedLore, operator_key: str, collection: str) -> None:
    async def run() -> None:
        async with AsyncLore(served.url, api_key=operator_key) as lore:
            ids = await add(lore, collection)
            found = await lore.search("how do I get my money back", collection=collection)
            assert found["hits"][0]["title"] == "Refunds"
            listed = [
                document["id"] async for document in lore.documents.list(collection=collection, limit=2)
            ]
            assert listed == ids[::-1]
            pages = [page async for page in lore.documents.list(collection=collection, limit=2).by_page()]
            assert len(pages) == 3
            await lore.documents.delete(ids[0])
            with pytest.raises(NotFound) as raised:
                await lore.documents.get(ids[0])
            assert raised.value.code == "not_found"

    run_async(run)


def test_a_streamed_answer(served: ServedLore, operator_key: str, collection: str) -> None:
    async def run() -> list[Token | Answer]:
        async with AsyncLore(served.url, api_key=operator_key) as lore:
            await add(lore, collection)
            conversation = await lore.conversations.create()
            stream = lore.conversations.stream(
                conversation["id"], "How do I get a refund?", collection=collection
            )
            return [event async for event in stream]

    events = run_async(run)
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.citations[0]["title"] == "Refunds"
    assert "".join(event.text for event in events if isinstance(event, Token)) == answer.text


def test_a_read_only_key_is_refused(served: ServedLore, operator_key: str, collection: str) -> None:
    async def run() -> None:
        async with AsyncLore(served.url, api_key=operator_key) as lore:
            reader = await lore.keys.create("async-reader", ["search"])
        async with AsyncLore(served.url, api_key=reader["key"]) as read_only:
            with pytest.raises(PermissionDenied) as raised:
                await read_only.documents.add("No", "Not with a search key.", collection=collection)
            assert (raised.value.status, raised.value.code) == (403, "forbidden")

    run_async(run)


def test_a_login(served: ServedLore, lore: Lore) -> None:
    email = new_user(lore)

    async def run() -> str:
        async with AsyncLore(served.url) as user:
            await user.login(email, PASSWORD)
            return (await user.users.me())["email"]

    assert run_async(run) == email


def test_concurrent_calls_with_an_expired_token_refresh_it_once(served: ServedLore, lore: Lore) -> None:
    email = new_user(lore)

    async def run() -> list[str]:
        async with AsyncLore(served.url) as user:
            await user.login(email, PASSWORD)
            user._exchange.credentials.token = "expired.access.token"
            # a refresh token sent twice would end the whole login, and the later calls with it
            answers = await asyncio.gather(*(user.users.me() for _ in range(4)))
            return [me["email"] for me in answers] + [(await user.users.me())["email"]]

    assert run_async(run) == [email] * 5
