"""The raw reports, kept whatever became of them: a parsing bug loses nothing."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base, UTCDateTime, utcnow


class ReportStatus(StrEnum):
    RECEIVED = "received"  # stored, not processed yet (or the process died before it finished)
    PARSED = "parsed"  # read and matched; its outcome says what it did
    UNMATCHED = "unmatched"  # read, but names no delivery or subscriber of ours
    FAILED = "failed"  # could not be read (parse_error says why); kept for reprocessing


class BounceKind(StrEnum):
    """What a report says about one recipient (bounces/verdict.py decides; process.py acts)."""

    HARD = "hard"  # the address or its domain does not exist, or moved (bounces/verdict.py): suppress
    UNCERTAIN = "uncertain"  # a permanent failure that proves nothing (bare 550, 5.0.0): suppress at the second
    SOFT = "soft"  # mailbox full or disabled, 4.x.x, system trouble: counted; suppress past a threshold
    POLICY = "policy"  # blocks, spam, the sender, the content (5.7.x...): a verdict on us: never suppress
    COMPLAINT = "complaint"  # an ARF abuse report: suppress
    DELAYED = "delayed"  # a warning, the relay is still trying: nothing to do
    OTHER = "other"  # delivered/relayed notices, not-spam or auth-failure reports: nothing to do


class BounceReport(Base):
    __tablename__ = "bounce_reports"
    __table_args__ = (
        Index("ix_bounce_reports_status", "status"),
        # The soft-bounce score: one subscriber's recent reports.
        Index("ix_bounce_reports_subscriber", "subscriber_id", "received_at"),
        # Removing a delivery sets these to NULL (retention removes them by the million).
        Index("ix_bounce_reports_delivery", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(255))  # "http", "maildir:/path", "mbox:/path", "imap:host/folder"
    # "": a mail (DSN, ARF, plain bounce, or mail to a mailto: unsubscribe address); else the
    # provider whose signed webhook event `raw` is, as JSON (bounces/providers/).
    provider: Mapped[str] = mapped_column(String(16), default="", server_default="")
    envelope_to: Mapped[str] = mapped_column(String(320), default="")  # as the source told us, if it did
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the same bytes are stored once
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.RECEIVED)
    parse_error: Mapped[str] = mapped_column(Text, default="")
    # What the report said about its decisive recipient (the first failure; every recipient
    # is a BounceFinding) and what we made of it, for lists.
    report_type: Mapped[str] = mapped_column(String(16), default="")  # dsn, arf, text
    kind: Mapped[str] = mapped_column(String(16), default="")  # a BounceKind
    recipient: Mapped[str] = mapped_column(String(320), default="")
    status_code: Mapped[str] = mapped_column(String(16), default="")  # RFC 3463, or the feedback type
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    matched_by: Mapped[str] = mapped_column(String(16), default="")  # verp, message-id, address
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"), default=None)
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), default=None)
    edition_id: Mapped[int | None] = mapped_column(Integer, default=None)
    outcome: Mapped[str] = mapped_column(Text, default="")  # what processing did, in words (every recipient)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class BounceFinding(Base):
    """What one report says about one of its recipients, whom it was matched to, and
    whether it is what suppressed them: the soft and uncertain scores count these, and
    `bounces reprocess --since` compares them with a new reading."""

    __tablename__ = "bounce_findings"
    __table_args__ = (
        Index("ix_bounce_findings_report", "report_id"),
        Index("ix_bounce_findings_subscriber", "subscriber_id", "received_at"),
        Index("ix_bounce_findings_delivery", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("bounce_reports.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)  # in the report's order
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # the report's
    recipient: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(16), default="")
    kind: Mapped[str] = mapped_column(String(16), default="")  # a BounceKind
    status_code: Mapped[str] = mapped_column(String(16), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    matched_by: Mapped[str] = mapped_column(String(16), default="")  # verp, message-id, address; "" none
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), default=None)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"), default=None)
    edition_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # This finding is what suppressed the subscriber (at once, or as the one that reached a threshold).
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(Text, default="")


class WebhookToken(Base):
    """A provider's one-time token (Mailgun signs timestamp + token): kept while a request
    carrying it could still pass the age check, so that a captured request is refused when
    it is sent again (bounces/webhooks.py)."""

    __tablename__ = "webhook_tokens"
    __table_args__ = (UniqueConstraint("provider", "token"), Index("ix_webhook_tokens_seen_at", "seen_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
