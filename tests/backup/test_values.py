"""Column values survive the trip through JSON, whichever kind they are."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from lore.backends.store.schema import chunks, documents, embeddings
from lore.backup import BackupCorrupt, BackupUnsupported
from lore.backup.values import column_kind, decoder, encoder


def test_the_store_columns_get_their_kinds() -> None:
    assert column_kind("documents", documents.c.created_at) == "datetime"  # UtcDateTime, a TypeDecorator
    assert column_kind("documents", documents.c["metadata"]) == "json"
    assert column_kind("embeddings", embeddings.c.vector) == "bytes"
    assert column_kind("chunks", chunks.c.id) == "int"


def test_every_kind_round_trips_through_json() -> None:
    kinds = ["bool", "int", "float", "text", "bytes", "datetime", "date", "json", "text"]
    names = [f"c{i}" for i in range(len(kinds))]
    row = (
        True,
        2**62,
        0.1,
        "ünïcode",
        b"\x00\xff",
        datetime(2026, 1, 2, 3, 4, 5, 6, UTC),
        date(2026, 1, 2),
        {"a": [1, None]},
        None,
    )
    line = json.loads(json.dumps(encoder(kinds)(row)))
    assert decoder("t", names, kinds)(line) == dict(zip(names, row, strict=True))


def test_unknown_types_and_malformed_rows_are_refused() -> None:
    with pytest.raises(BackupUnsupported):
        column_kind("t", sa.Column("v", sa.types.NullType()))
    decode = decoder("t", ["a", "b"], ["int", "bytes"])
    with pytest.raises(BackupCorrupt):
        decode([1])
    with pytest.raises(BackupCorrupt):
        decode([1, "not base64!"])
