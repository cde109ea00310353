"""Days and times as people type them, read the same way by every front door.

A day is YYYY-MM-DD. A time is ISO 8601 (a bare day is its midnight): without an offset
it is UTC, with one the offset is honoured, and it comes back in UTC. Bad input is
InvalidInput, worded with the name the caller knows the field by (`--date`, `date`)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime

from newsletter.errors import InvalidInput

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: str | None, name: str = "date") -> date | None:
    """None for an empty value (the caller's default applies)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        if _ISO_DAY.fullmatch(value):
            raise InvalidInput(f"{name} {value} is not a date (no such day)") from None
        raise InvalidInput(f"{name} must be YYYY-MM-DD, not {value!r}") from None


def as_utc(value: datetime | None) -> datetime | None:
    """Without an offset a time is UTC; with one, the same instant in UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the first instant Python knows
        raise InvalidInput(f"time out of range: {value.isoformat()}") from None


def parse_time(value: str | datetime | None, name: str = "time") -> datetime | None:
    """None for an empty value."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(f"{name} must be a date or time, YYYY-MM-DD or ISO 8601 "
                               f"(2026-11-26T08:00+01:00), not {value[:40]!r}") from None
    return as_utc(value)
