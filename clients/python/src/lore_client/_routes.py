"""The route table: each SDK method is declared once, in a `Namespace`, by a decorator naming its HTTP method
and path; the same declaration serves the sync `Lore` (its calls return results) and the async `AsyncLore`
(its calls return awaitables), chosen by the namespace's mode.

    class Documents(Namespace[M]):
        name = "documents"

        @endpoint("GET", "/v1/documents/{document_id}")
        def get(self, document_id: str) -> Call[Document]:
            return Call(path={"document_id": document_id})

A decorated method only says what to send (`Call`); the transport sends it. `ROUTES` (in `lore_client.routes`)
lists every declaration as a `Route`, which the tests compare with the API's OpenAPI.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Concatenate, Generic, Literal, ParamSpec, Self, TypeVar, overload

from lore_client._pages import AsyncPages, Page, Pages
from lore_client._streams import AsyncStream, ServerSentEvent, Stream

P = ParamSpec("P")
T = TypeVar("T")
Expect = Literal["json", "empty", "text", "bytes", "location"]


class Omitted:
    """The value of an argument left out: `None` is a value to send (a PATCH that clears a field)."""

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False


OMIT = Omitted()


class Sync:
    """The mode of `Lore`'s namespaces: a call returns its result."""


class Async:
    """The mode of `AsyncLore`'s namespaces: a call returns an awaitable of its result."""


M = TypeVar("M", Sync, Async)


@dataclass(frozen=True)
class Route:
    """One SDK method: the HTTP method and path template it calls, and its name (`documents.list`)."""

    method: str
    path: str
    name: str = ""


FileField = tuple[str, bytes, str]  # (filename, content, content type)


@dataclass(frozen=True)
class Call(Generic[T]):
    """What one call sends: path parameters, query (None and OMIT left out), a JSON body or multipart fields
    and files, and how the response reads (`expect`; `events` decodes a stream's events)."""

    path: Mapping[str, str | int] = field(default_factory=dict)
    query: Mapping[str, object] = field(default_factory=dict)
    json: object = OMIT
    data: Mapping[str, str | list[str]] | None = None
    files: Mapping[str, FileField] | None = None
    expect: Expect = "json"
    unwrap: str | None = None  # the field of the JSON body to return (a list's "items")
    events: Callable[[ServerSentEvent], T | None] | None = None

    def with_query(self, **values: object) -> Call[T]:
        return replace(self, query={**self.query, **values})


def given(**fields: object) -> dict[str, object]:
    """A JSON object of the fields given, None ones left out (a create's optional fields)."""
    return {name: value for name, value in fields.items() if value is not None}


def changes(**fields: object) -> dict[str, object]:
    """A JSON object of the fields given, OMIT ones left out: None is sent (a PATCH that clears a field)."""
    return {name: value for name, value in fields.items() if value is not OMIT}


class Namespace(Generic[M]):
    """A group of routes (the API's tag). `name` prefixes its methods' SDK names; the root's is empty."""

    name: ClassVar[str] = ""

    def __init__(self, transport: Any) -> None:
        self._transport = transport


class _Declared(Generic[P, T]):
    """A method of a namespace, declared with its route; a subclass says what calling it returns."""

    def __init__(self, method: str, path: str, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self.route = Route(method, path)
        self.build = build
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type[Namespace[Any]], attribute: str) -> None:
        self.route = replace(self.route, name=f"{owner.name}.{attribute}".lstrip("."))

    def _bound(self, namespace: Namespace[Any], send: str) -> Callable[..., Any]:
        transport_method = getattr(namespace._transport, send)

        @functools.wraps(self.build)
        def call(*args: Any, **kwargs: Any) -> Any:
            return transport_method(self.route, self.build(namespace, *args, **kwargs))

        return call


class Endpoint(_Declared[P, T]):
    """A call that returns the response's body."""

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Namespace[Sync], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: Namespace[Async], owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Namespace[Any] | None, owner: type[Any]) -> Any:
        return self if obj is None else self._bound(obj, "send")


class Paged(_Declared[P, Page[T]]):
    """A cursor-paginated list: the call returns an iterator over every item, fetching pages as it goes."""

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Namespace[Sync], owner: type[Any]) -> Callable[P, Pages[T]]: ...
    @overload
    def __get__(self, obj: Namespace[Async], owner: type[Any]) -> Callable[P, AsyncPages[T]]: ...
    def __get__(self, obj: Namespace[Any] | None, owner: type[Any]) -> Any:
        return self if obj is None else self._bound(obj, "pages")


class Streamed(_Declared[P, T]):
    """A server-sent event stream: the call returns an iterator of decoded events, opened when first read."""

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Namespace[Sync], owner: type[Any]) -> Callable[P, Stream[T]]: ...
    @overload
    def __get__(self, obj: Namespace[Async], owner: type[Any]) -> Callable[P, AsyncStream[T]]: ...
    def __get__(self, obj: Namespace[Any] | None, owner: type[Any]) -> Any:
        return self if obj is None else self._bound(obj, "stream")


def endpoint(method: str, path: str) -> Callable[[Callable[Concatenate[Any, P], Call[T]]], Endpoint[P, T]]:
    return lambda build: Endpoint(method, path, build)


def paged(path: str) -> Callable[[Callable[Concatenate[Any, P], Call[Page[T]]]], Paged[P, T]]:
    return lambda build: Paged("GET", path, build)


def streamed(method: str, path: str) -> Callable[[Callable[Concatenate[Any, P], Call[T]]], Streamed[P, T]]:
    return lambda build: Streamed(method, path, build)


def declared_routes(namespace: type[Namespace[Any]]) -> Iterator[Route]:
    """The routes `namespace` declares, in the order of its class body."""
    for value in vars(namespace).values():
        if isinstance(value, _Declared):
            yield value.route
