"""The delivery log: one row per (edition, subscriber), a small state machine.

    pending --claim--> sending --SMTP accepted--> sent
                          |----4xx/drop--> retry --due--> sending ...
                          |----5xx / attempts exhausted--> failed
    pending/retry --unsubscribed or suppressed--> skipped

The unique (edition_id, subscriber_id) constraint and the claim (a conditional
UPDATE from pending/retry to sending) are what keep "at most once".
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base, UTCDateTime, utcnow

PENDING, SENDING, SENT, RETRY, FAILED, SKIPPED = (
    "pending", "sending", "sent", "retry", "failed", "skipped",
)
OPEN_STATES = (PENDING, SENDING, RETRY)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id"),
        Index("ix_deliveries_edition_status", "edition_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    message_id: Mapped[str] = mapped_column(String(255), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    error_class: Mapped[str] = mapped_column(String(32), default="")  # a FailureClass value
    # Set when the fan-out records the row; a sweeper re-queues rows left pending too long.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class DomainHold(Base):
    """One recipient domain held back for one edition: its servers refused our messages by
    policy (5.7.x) too often. The recipients are not at fault; an operator releases it."""

    __tablename__ = "domain_holds"
    __table_args__ = (UniqueConstraint("edition_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
