"""An edition's history: what operators did to it before and instead of sending it.

One row per act (rebuilt, held, released, replaced): when, why (the reason an operator
gave, where one is required) and what changed. A rebuild keeps the items it replaced
here, so a frozen edition that was rebuilt can still say what it held before.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from newsletter.db import Base, UTCDateTime, utcnow
from newsletter.editions.models import EditionItem


class Act(StrEnum):
    REBUILT = "rebuilt"  # detail: the items before, {"items": [...]}
    HELD = "held"
    RELEASED = "released"
    SUPERSEDED = "superseded"  # a cancelled edition replaced; detail: {"by": new id}
    REPLACES = "replaces"  # the replacement; detail: {"replaces": old id}


class EditionHistory(Base):
    __tablename__ = "edition_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    act: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict | None] = mapped_column(JSON, default=None)


def item_record(item: EditionItem) -> dict:
    """An item as history keeps it: enough to show and to compare (editions/diff.py)."""
    return {"position": item.position, "section": item.section_slug, "article_id": item.article_id,
            "url": item.url, "headline": item.headline}


def record(session: Session, edition_id: int, act: Act, reason: str = "", detail: dict | None = None,
           at: datetime | None = None) -> EditionHistory:
    entry = EditionHistory(edition_id=edition_id, act=act, reason=reason[:2000], detail=detail, at=at or utcnow())
    session.add(entry)
    return entry


def history_of(session: Session, edition_id: int) -> list[EditionHistory]:
    return list(session.scalars(select(EditionHistory).where(EditionHistory.edition_id == edition_id)
                                .order_by(EditionHistory.at, EditionHistory.id)))
