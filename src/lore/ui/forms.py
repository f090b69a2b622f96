"""What HTML forms send that the API's models do not take as is: an empty field is a value left out."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import BeforeValidator

# A browser sends an empty date or time input as "": it means none.
BLANK_IS_NONE = BeforeValidator(lambda value: value or None)
OptionalDate = Annotated[date | None, BLANK_IS_NONE]
OptionalMoment = Annotated[datetime | None, BLANK_IS_NONE]


def lines(text: str) -> list[str]:
    """A textarea's non-empty lines, trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def midnight_utc(day: date | None, *, days_after: int = 0) -> datetime | None:
    """The start (UTC) of `day`, `days_after` days on: a date field as the API's time bounds take it."""
    return datetime.combine(day + timedelta(days=days_after), time(), UTC) if day else None
