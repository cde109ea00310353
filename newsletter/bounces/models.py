"""The raw reports, kept whatever became of them: a parsing bug loses nothing."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base, UTCDateTime, utcnow


class ReportStatus(StrEnum):
    RECEIVED = "received"  # stored, not processed yet (or the process died before it finished)
    PARSED = "parsed"  # read and matched; its outcome says what it did
    UNMATCHED = "unmatched"  # read, but names no delivery or subscriber of ours
    FAILED = "failed"  # could not be read (parse_error says why); kept for reprocessing


class BounceKind(StrEnum):
    """What a report says about one recipient (see process.py for what each does)."""

    HARD = "hard"  # the address does not exist (5.1.x, 5.2.1, ...): suppress
    SOFT = "soft"  # mailbox full, 4.x.x, a message refused: counted; suppress past a threshold
    POLICY = "policy"  # 5.7.x: the receiver's verdict on us, not on the address: never suppress
    COMPLAINT = "complaint"  # an ARF abuse report: suppress
    DELAYED = "delayed"  # a warning, the relay is still trying: nothing to do
    OTHER = "other"  # delivered/relayed notices, not-spam or auth-failure reports: nothing to do


class BounceReport(Base):
    __tablename__ = "bounce_reports"
    __table_args__ = (
        Index("ix_bounce_reports_status", "status"),
        # The soft-bounce score: one subscriber's recent reports.
        Index("ix_bounce_reports_subscriber", "subscriber_id", "received_at"),
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
    # What the report said (the first recipient it reports on) and what we made of it.
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
    outcome: Mapped[str] = mapped_column(Text, default="")  # what processing did, in words
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


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
