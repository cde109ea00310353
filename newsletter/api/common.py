"""What every API router shares: bounded ids and pages, times read as UTC, JSON bodies
that refuse unknown fields."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict

from newsletter.errors import InvalidInput

MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A numeric id")]
Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID, description="keyset cursor: `next_cursor` of the last page")]
Limit = Annotated[int, Query(ge=1, le=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)


def utc(value: datetime | None) -> datetime | None:
    """A time from a query string: without an offset it is UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the first instant Python knows
        raise InvalidInput(f"time out of range: {value.isoformat()}") from None
