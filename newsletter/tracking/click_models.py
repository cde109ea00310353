"""What clicks leave behind: counts, and a person's history only with their consent.

`ClickCount` is an aggregate: per edition, link (the item's position; -1 is the open
pixel), UTC day and kind (`reader`, or the reason a request was taken for a scanner:
tracking/scanners.py). No row of it names a person. `ReaderClick` is one reader's
click, kept only where the publication offers it (`click_history`) and the reader
agreed in the preference centre (`Subscription.click_history_since`); revoking deletes
their rows, and so does their erasure (subscribers/click_history.py).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base, UTCDateTime, utcnow

OPEN_PIXEL = -1  # the position an open is counted at


class ClickCount(Base):
    __tablename__ = "click_counts"
    __table_args__ = (UniqueConstraint("edition_id", "position", "day", "kind", name="uq_click_counts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    # Copied from the item when first counted: the figures per section stay if an item goes.
    section_slug: Mapped[str] = mapped_column(String(64), default="")
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)


class ReaderClick(Base):
    __tablename__ = "reader_clicks"
    __table_args__ = (Index("ix_reader_clicks_person", "subscriber_id", "publication_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    section_slug: Mapped[str] = mapped_column(String(64))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
