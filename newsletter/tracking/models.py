"""Events: recorded first, acted upon in the same transaction or later."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base, UTCDateTime, utcnow


class EventKind(StrEnum):
    SUBSCRIBE = "subscribe"  # added by an admin or an import
    SIGNUP = "signup"
    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsubscribe"
    RESUBSCRIBE = "resubscribe"
    PREFERENCES = "preferences"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    # By staff (Method.ADMIN): name or time zone changed, mail stopped or allowed again.
    PROFILE = "profile"
    DISABLE = "disable"
    ENABLE = "enable"
    # A suppression that only a misread bounce caused, lifted (`bounces reprocess --since`).
    CORRECTION = "correction"


class Method(StrEnum):
    """How an event came about: who or what acted."""

    ONE_CLICK = "one-click"  # RFC 8058 POST from the mail client
    LINK = "link"  # the unsubscribe page
    MAILTO = "mailto"  # mail to List-Unsubscribe's mailto: address (bounces/unsubscribe_mail.py)
    PREFERENCE_CENTRE = "preference-centre"
    WEB = "web"  # sign-up and confirmation pages
    ADMIN = "admin"  # staff, from the command line, the console or the API
    SMTP = "smtp"  # the relay's answer while sending
    REPORT = "report"  # a bounce report that arrived after sending (DSN, plain text, a provider's event)
    CORRECTION = "correction"  # a bounce read again: what a misreading did, undone (bounces/rereading.py)
    BOUNCE = "bounce"  # a subscription ended because the address bounced
    COMPLAINT = "complaint"  # ... because its owner reported the mail as spam


# The methods by which a person leaves by themselves: only these events take a reason.
OWN_METHODS = frozenset({Method.ONE_CLICK, Method.LINK, Method.MAILTO, Method.PREFERENCE_CENTRE})


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_edition_kind", "edition_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32), default="")
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), default=None
    )
    publication_id: Mapped[int | None] = mapped_column(
        ForeignKey("publications.id", ondelete="SET NULL"), default=None
    )
    edition_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
