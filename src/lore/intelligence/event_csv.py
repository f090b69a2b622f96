"""Events as CSV, the format `lore events import` reads and `lore events export` writes (docs/events.md).

The header names the columns, in any order: `event_id` and `kind` are required, the others are optional (an
empty cell is an absent field), `at` is ISO 8601 (no offset: UTC) and `data` a JSON object. An export's
`received_at` and `actor` columns are read and ignored (the server sets them), so an export of client events
imports again. A row that cannot be read is reported with the line it starts on.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from lore.errors import InvalidInput, LoreError
from lore.intelligence.events import ClientEvent, InvalidEvent
from lore.models import Event

COLUMNS = (
    "event_id",
    "kind",
    "at",
    "user_id",
    "document_id",
    "chunk_id",
    "collection",
    "search_id",
    "conversation_id",
    "message_id",
    "query",
    "rank",
    "value",
    "reason",
    "data",
)
SERVER_COLUMNS = ("received_at", "actor")  # an export's, ignored on import
REQUIRED = ("event_id", "kind")
_INTEGERS = frozenset({"chunk_id", "message_id", "rank"})


class Row(NamedTuple):
    """One data row: the line it starts on, and its event or why it cannot be one."""

    line: int
    event: ClientEvent | None
    error: LoreError | None = None


def read_rows(text: Iterable[str]) -> Iterator[Row]:
    """Each data row of a CSV file's lines; `InvalidInput` at once if the header is not one of events."""
    reader = csv.reader(text)
    header = next(reader, None)
    _check_header(header)
    assert header is not None
    ended = reader.line_num
    for cells in reader:
        line, ended = ended + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        try:
            yield Row(line, _event(header, cells))
        except LoreError as error:
            yield Row(line, None, error)


def _check_header(header: list[str] | None) -> None:
    if header is None:
        raise InvalidInput("the file is empty: its first line must name the columns", details={"line": 1})
    unknown = sorted(set(header) - set(COLUMNS) - set(SERVER_COLUMNS))
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise InvalidInput(
            f"the header must name distinct columns among {', '.join(COLUMNS)}, with event_id and kind",
            details={"line": 1, "unknown": unknown, "missing": missing},
        )


def _event(header: list[str], cells: list[str]) -> ClientEvent:
    if len(cells) != len(header):
        raise InvalidEvent(f"the row has {len(cells)} cells, the header {len(header)}")
    values: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=True):
        if name not in SERVER_COLUMNS and cell != "":
            values[name] = _value(name, cell)
    return ClientEvent(**values)


def _value(name: str, cell: str) -> Any:
    try:
        if name in _INTEGERS:
            return int(cell)
        if name == "value":
            return float(cell)
        if name == "at":
            return datetime.fromisoformat(cell)
        if name == "data":
            data = json.loads(cell)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return data
    except ValueError as error:
        raise InvalidEvent(f"{name} {cell[:80]!r} cannot be read: {error}", details={"field": name}) from None
    return cell


def write_rows(events: Iterable[Event]) -> Iterator[str]:
    """A header, then one row per event: `COLUMNS`, then `SERVER_COLUMNS`."""
    yield _line([*COLUMNS, *SERVER_COLUMNS])
    for event in events:
        cells = [_cell(getattr(event, name)) for name in COLUMNS]
        yield _line([*cells, event.received_at.isoformat(), event.actor])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return str(value)


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()
