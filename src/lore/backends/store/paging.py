"""Cursor pages of records, newest first by (created_at, id): each page is one range scan of an index on those
columns, whatever its depth. Documents, jobs and conversations are listed this way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

import sqlalchemy as sa

from lore.backends.store import codec
from lore.errors import InvalidInput
from lore.models import Page


class Dated(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


T = TypeVar("T")


def check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidInput("limit must be at least 1", details={"limit": limit})


def newest_first(query: sa.Select[Any], table: sa.Table, limit: int, cursor: str | None) -> sa.Select[Any]:
    """`query` narrowed to the rows after `cursor` (the `next_cursor` of the previous page), newest first, one
    row more than the page holds: `page` tells by it whether another page follows."""
    check_limit(limit)
    if cursor is not None:
        position = sa.tuple_(table.c.created_at, table.c.id)
        query = query.where(position < sa.tuple_(*codec.decode_cursor(cursor)))
    return query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)


def page(items: Sequence[T], limit: int, cursor_of: Callable[[T], str] | None = None) -> Page[T]:
    """The first `limit` of `items` (fetched one beyond the page), and the cursor after the last of them when
    more follow: by default its (created_at, id), as `newest_first` reads it."""
    if len(items) <= limit:
        return Page(list(items), None)
    last = items[limit - 1]
    if cursor_of is not None:
        return Page(list(items[:limit]), cursor_of(last))
    dated = cast(Dated, last)
    return Page(list(items[:limit]), codec.encode_cursor(dated.created_at, dated.id))
