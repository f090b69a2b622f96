"""Column values as JSON, the same whichever database wrote or will read them.

Each archived column carries a `kind`, so an archive decodes without knowing the schema that wrote it:
bytes travel as base64, timestamps as ISO 8601 with their offset, JSON columns as JSON, the rest as themselves.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from lore.backup.errors import BackupCorrupt, BackupUnsupported

_KINDS: dict[type, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "text",
    bytes: "bytes",
    datetime: "datetime",
    date: "date",
    dict: "json",
    list: "json",
}
_ENCODE: dict[str, Callable[[Any], Any]] = {
    "bytes": lambda value: base64.b64encode(value).decode("ascii"),
    "datetime": lambda value: value.isoformat(),
    "date": lambda value: value.isoformat(),
}
_DECODE: dict[str, Callable[[Any], Any]] = {
    "bytes": lambda value: base64.b64decode(value, validate=True),
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
}
KINDS = frozenset(_KINDS.values())


def column_kind(table: str, column: sa.Column[Any]) -> str:
    """How a column's values are written: decided by the Python type its SQL type produces."""
    sql_type = column.type
    if isinstance(sql_type, sa.TypeDecorator):  # e.g. UtcDateTime: values take the form of its impl
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, sa.JSON):
        return "json"
    try:
        python_type = sql_type.python_type
    except NotImplementedError:
        python_type = object
    kind = next((k for t, k in _KINDS.items() if issubclass(python_type, t)), None)
    if kind is None:
        raise BackupUnsupported(
            f"column {table}.{column.name} has a type backups cannot carry",
            details={"table": table, "column": column.name, "type": str(column.type)},
        )
    return kind


def encoder(kinds: list[str]) -> Callable[[tuple[Any, ...]], list[Any]]:
    """A row (in column order) -> a JSON-ready list."""
    steps = [_ENCODE.get(kind) for kind in kinds]

    def encode(row: tuple[Any, ...]) -> list[Any]:
        return [v if step is None or v is None else step(v) for step, v in zip(steps, row, strict=True)]

    return encode


def decoder(table: str, names: list[str], kinds: list[str]) -> Callable[[Any], dict[str, Any]]:
    """A JSON list -> insert parameters; anything malformed is `BackupCorrupt`."""
    steps = [_DECODE.get(kind) for kind in kinds]

    def decode(values: Any) -> dict[str, Any]:
        if not isinstance(values, list) or len(values) != len(names):
            raise BackupCorrupt(f"a row of {table} does not match its columns", details={"table": table})
        try:
            decoded = [v if s is None or v is None else s(v) for s, v in zip(steps, values, strict=True)]
        except (TypeError, ValueError, binascii.Error) as error:
            raise BackupCorrupt(f"a value of {table} cannot be decoded", details={"table": table}) from error
        return dict(zip(names, decoded, strict=True))

    return decode
