"""Wire model of a usage report: `GET /v1/usage` returns it, `lore usage --json` prints one per tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, Field

from lore.backends.store.usage_records import UsageRow, totals_of


class UsageDay(BaseModel):
    day: date
    key_id: str | None = Field(
        description="The API key that made the requests; null: users and the operator."
    )
    metrics: dict[str, int] = Field(
        description="Counters: `requests`, `searches`, `answers`, `bytes_ingested`, and "
        "`tokens_in:<provider>` / `tokens_out:<provider>`."
    )


class UsageOut(BaseModel):
    tenant_id: str
    since: date
    until: date
    key_id: str | None = Field(description="The key the report is narrowed to, if any.")
    days: list[UsageDay] = Field(description="One entry per day and key with any usage, oldest first.")
    totals: dict[str, int] = Field(description="Each counter summed over the report.")

    @classmethod
    def of(
        cls, tenant_id: str, since: date, until: date, key_id: str | None, rows: Sequence[UsageRow]
    ) -> UsageOut:
        grouped: dict[tuple[str, str], dict[str, int]] = {}
        for row in rows:
            grouped.setdefault((row.day, row.key_id), {})[row.metric] = row.value
        days = [
            UsageDay(day=date.fromisoformat(day), key_id=key or None, metrics=metrics)
            for (day, key), metrics in grouped.items()
        ]
        return cls(
            tenant_id=tenant_id, since=since, until=until, key_id=key_id, days=days, totals=totals_of(rows)
        )
