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
    # The editors' changes, applied on top of the items by editions/contents.py only.
    edits: Mapped[list[EditionEdit]] = relationship(
        order_by="EditionEdit.id", cascade="all, delete-orphan", lazy="selectin"
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


class EditKind(StrEnum):
    """What an editor did to one item of an edition (editions/contents.py applies them)."""

    DROP = "drop"  # before the send
    PIN = "pin"  # the lead of its section (scope "section") or of the edition ("edition")
    MOVE = "move"  # to a place (rank, from 1) in a section
    ADD = "add"  # an article from the store or a page by URL, frozen here like an item
    EDIT = "edit"  # the headline and/or teaser, for this edition only
    TAKEDOWN = "takedown"  # after the send: gone from the archive and the browser view


class EditionEdit(Base):
    """One change an editor made to an edition, kept apart from the selection (the items)
    so that a rebuild, which replaces the items, keeps it. `item_key` names the story as
    editions/diff.py does ("article:<id>", or "url:<url>" for an item with no article)."""

    __tablename__ = "edition_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    item_key: Mapped[str] = mapped_column(String(2100))
    section_slug: Mapped[str] = mapped_column(String(64), default="")  # move, add: the section
    section_name: Mapped[str] = mapped_column(String(128), default="")
    rank: Mapped[int | None] = mapped_column(Integer, default=None)  # move: the place in the section, from 1
    scope: Mapped[str] = mapped_column(String(16), default="")  # pin: "section" or "edition"
    headline: Mapped[str] = mapped_column(String(500), default="")  # edit (empty: unchanged), add
    teaser: Mapped[str | None] = mapped_column(Text, default=None)  # edit (None: unchanged), add
    # add: the story, frozen as build.py freezes an item
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"), default=None)
    url: Mapped[str] = mapped_column(String(2048), default="")
    source: Mapped[str] = mapped_column(String(128), default="")
    byline: Mapped[str] = mapped_column(String(256), default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    image_url: Mapped[str] = mapped_column(String(2048), default="")
    image_alt: Mapped[str] = mapped_column(String(500), default="")
    by: Mapped[str] = mapped_column(String(255), default="")  # the actor, as the audit names them
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
