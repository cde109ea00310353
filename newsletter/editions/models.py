"""An edition and its frozen items.

Items copy the article's text at build time: an article corrected later does not
change an edition that is already built (and perhaps half sent).
"""
from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.db import Base, UTCDateTime, utcnow


class EditionStatus(StrEnum):
    """The states; the transitions and the one place that changes them: editions/lifecycle.py."""

    EMPTY = "empty"
    BUILT = "built"
    HELD = "held"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"


def new_public_id() -> str:
    """The edition's address on the web: random, so unsent editions cannot be found by counting."""
    return secrets.token_urlsafe(12)


class Edition(Base):
    __tablename__ = "editions"
    # One current edition per publication and date. A cancelled edition replaced by an
    # explicit `send --force` is superseded (superseded_at set) and frees its date; the
    # replacement points back at it (replaces_id). See editions/edition_acts.py.
    __table_args__ = (Index("uq_editions_current", "publication_id", "date", unique=True,
                            sqlite_where=text("superseded_at IS NULL"),
                            postgresql_where=text("superseded_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=EditionStatus.BUILT)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Delivery progress: the highest subscriber id frozen at start, the keyset checkpoint.
    max_subscriber_id: Mapped[int | None] = mapped_column(Integer, default=None)
    fanout_cursor: Mapped[int] = mapped_column(Integer, default=0)
    fanout_done: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Why the edition is paused when it was not an operator: refusals of the message.
    pause_reason: Mapped[str] = mapped_column(Text, default="")
    message_refusals: Mapped[int] = mapped_column(Integer, default=0)  # since the last resume
    # The relay (or the outbox's disk) is unavailable: since when, and its last answer.
    # Progress waits, no attempt is charged; set and cleared by delivery/outage.py.
    relay_down_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    relay_down_reason: Mapped[str] = mapped_column(Text, default="")
    relay_down_alerted: Mapped[bool] = mapped_column(default=False)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("editions.id", ondelete="SET NULL"), default=None)

    items: Mapped[list[EditionItem]] = relationship(
        order_by="EditionItem.position", cascade="all, delete-orphan", lazy="selectin"
    )


class EditionItem(Base):
    __tablename__ = "edition_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order across the whole edition
    section_slug: Mapped[str] = mapped_column(String(64))
    section_name: Mapped[str] = mapped_column(String(128))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(String(2048))
    headline: Mapped[str] = mapped_column(String(500))
    teaser: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(128), default="")
    byline: Mapped[str] = mapped_column(String(256), default="")
    dateline: Mapped[str] = mapped_column(String(256), default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The article's image, frozen with the text; the email shows the first story's.
    image_url: Mapped[str] = mapped_column(String(2048), default="", server_default="")
    image_width: Mapped[int | None] = mapped_column(Integer, default=None)
    image_height: Mapped[int | None] = mapped_column(Integer, default=None)
    image_alt: Mapped[str] = mapped_column(String(500), default="", server_default="")
