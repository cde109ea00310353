"""Finding one row by the id a caller gave: the one way, for every front door.

An id outside what an INTEGER column holds is simply not found (never a database error),
and "not found" is the same NotFound error everywhere.
"""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.errors import InvalidInput, NotFound
from newsletter.publications.models import Publication

T = TypeVar("T")
MAX_ID = 2**31 - 1


def valid_id(row_id: int) -> bool:
    return isinstance(row_id, int) and not isinstance(row_id, bool) and 0 < row_id <= MAX_ID


def parse_id(value: str | int | None, what: str) -> int | None:
    """An id from a query string or a form (a cursor, a filter): None when empty,
    InvalidInput for anything but a number an INTEGER column can hold."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not valid_id(int(text)):
        raise InvalidInput(f"{what} must be an id, a number from 1 to {MAX_ID}")
    return int(text)


def get_or_404(session: Session, model: type[T], row_id: int, what: str) -> T:
    row = session.get(model, row_id) if valid_id(row_id) else None
    if row is None:
        raise NotFound(f"no {what} {row_id}")
    return row


def with_publication_slug(session: Session, model, row_id: int, what: str) -> tuple:
    """(row, its publication's slug) for a model with a publication_id."""
    row = session.execute(select(model, Publication.slug).join(Publication, Publication.id == model.publication_id)
                          .where(model.id == row_id)).first() if valid_id(row_id) else None
    if row is None:
        raise NotFound(f"no {what} {row_id}")
    return row[0], row[1]
