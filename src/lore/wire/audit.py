"""Wire forms of the audit log: a record as the API lists it, a page of them, and the two export formats (JSON
lines, one record per line with every field the chain is checked by; CSV, for spreadsheets)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lore.backends.store.audit_records import AuditRecord

ExportFormat = Literal["csv", "jsonl"]
CSV_COLUMNS = (
    "tenant_id",
    "seq",
    "at",
    "actor",
    "action",
    "target",
    "summary",
    "request_id",
    "client",
    "prev_hash",
    "hash",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula


class AuditRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tenant_id: str
    seq: int = Field(description="Position in the tenant's chain: 1, 2, 3 ... without gaps.")
    at: datetime
    actor: str = Field(description='"user:<id>", "key:<id>", "operator", "system" or "anonymous".')
    action: str = Field(description="What was done, as `area.verb`: `document.deleted`, `secret.set` ...")
    target: str | None = Field(description="The record acted on, when there is one.")
    summary: dict[str, Any] = Field(description="What changed; never secrets or document text.")
    request_id: str | None
    client: str | None = Field(description="The address the request came from.")
    prev_hash: str
    hash: str = Field(description="sha256 over the record's canonical JSON and `prev_hash`.")


class AuditPage(BaseModel):
    items: list[AuditRecordOut]
    next_cursor: str | None


def jsonl_lines(records: Iterable[AuditRecord]) -> Iterator[bytes]:
    for record in records:
        line = AuditRecordOut.model_validate(record).model_dump_json()
        yield (line + "\n").encode()


def csv_lines(records: Iterable[AuditRecord]) -> Iterator[bytes]:
    """A header, then one row per record; the summary is its JSON. Cells a spreadsheet would take for a formula
    start with a `'` (verify a chain from the JSON-lines export, which holds every value as stored)."""
    yield _row(CSV_COLUMNS)
    for record in records:
        values = AuditRecordOut.model_validate(record).model_dump(mode="json")
        values["summary"] = json.dumps(values["summary"], ensure_ascii=False, sort_keys=True)
        yield _row(_cell(values[column]) for column in CSV_COLUMNS)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _row(cells: Iterable[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(list(cells))
    return buffer.getvalue().encode()
