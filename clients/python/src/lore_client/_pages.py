"""Cursor pagination as iterators: a list route answers `{"items": [...], "next_cursor": ...}`; the iterator
asks for the next page with `?cursor=` until `next_cursor` is null, one page at a time, when it is needed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypedDict, TypeVar

T = TypeVar("T")


class Page(TypedDict, Generic[T]):
    items: list[T]
    next_cursor: str | None


class Pages(Generic[T]):
    """Every item of a list, across its pages: `for document in client.documents.list(): ...`; `by_page()`
    gives the pages themselves, `first()` only the first one."""

    def __init__(self, fetch: Callable[[str | None], Page[T]]) -> None:
        self._fetch = fetch

    def __iter__(self) -> Iterator[T]:
        for page in self.by_page():
            yield from page["items"]

    def by_page(self) -> Iterator[Page[T]]:
        cursor: str | None = None
        while True:
            page = self._fetch(cursor)
            yield page
            cursor = page["next_cursor"]
            if not cursor:
                return

    def first(self) -> Page[T]:
        return self._fetch(None)


class AsyncPages(Generic[T]):
    """`Pages` for `AsyncLore`: `async for document in client.documents.list(): ...`."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[T]]]) -> None:
        self._fetch = fetch

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.by_page():
            for item in page["items"]:
                yield item

    async def by_page(self) -> AsyncIterator[Page[T]]:
        cursor: str | None = None
        while True:
            page = await self._fetch(cursor)
            yield page
            cursor = page["next_cursor"]
            if not cursor:
                return

    async def first(self) -> Page[T]:
        return await self._fetch(None)
