"""Who gets what: subscribers, per-publication subscriptions, suppressions."""
from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.db import Base, UTCDateTime, utcnow


class SubscriptionStatus(StrEnum):
    """pending waits for the double opt-in; the moves are in subscribers/lifecycle.py."""

    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # by an admin: never mailed, whatever the subscriptions say


class SuppressionReason(StrEnum):
    UNSUBSCRIBE = "unsubscribe"  # their own: lifted when they confirm or undo
    HARD_BOUNCE = "hard_bounce"  # these three only an admin lifts
    COMPLAINT = "complaint"
    ADMIN = "admin"
    # Erased at the person's request (GDPR): only a keyed hash of the address is kept
    # (suppressions.address_hash), so that they are never mailed again.
    ERASED = "erased"


# Suppressions the person can lift by coming back; the others need an admin.
OWN_SUPPRESSIONS = frozenset({SuppressionReason.UNSUBSCRIBE})


def new_token_key() -> int:
    """The random part every link of a subscriber carries. Ids can come back (a deleted row's
    id is reused on SQLite); a key never does, so old links never reach a new person."""
    return secrets.randbits(62)


class Subscriber(Base):
    __tablename__ = "subscribers"
    # Prefix search (`email LIKE 'ann%'`) on PostgreSQL whatever the database's collation.
    __table_args__ = (Index("ix_subscribers_email_pattern", "email", postgresql_ops={"email": "text_pattern_ops"}),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised
    name: Mapped[str] = mapped_column(String(200), default="")
    # "active", or "disabled" by an admin: a disabled subscriber is never mailed,
    # whatever their subscriptions say.
    status: Mapped[str] = mapped_column(String(16), default=SubscriberStatus.ACTIVE, server_default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Checked on every use of a link; rotated when the person is erased.
    token_key: Mapped[int] = mapped_column(BigInteger, default=new_token_key)
    # The subscriber's IANA time zone ("" : the publication's), for delivery at local time.
    timezone: Mapped[str] = mapped_column(String(64), default="", server_default="")

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan"
    )


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "publication_id"),
        # The fan-out walks active subscriptions of one publication by subscriber id.
        Index("ix_subscriptions_pub_status_sub", "publication_id", "status", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.ACTIVE)
    # None: every section of the publication; otherwise a list of section slugs.
    sections: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # A sign-up waiting for its confirmation link: the link carries this nonce, and
    # confirming clears it, so a link works once and an old one never re-subscribes.
    confirm_nonce: Mapped[int] = mapped_column(BigInteger, default=0)
    # What the pending request asked for, applied only when its own link is used
    # (subscribers/signup.py): sections ([]: every one), the name and the time zone.
    requested_sections: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    requested_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    requested_timezone: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # The reader's own order of sections (slugs; None: the publication's), chosen in the
    # preference centre; subscribers/order.py combines it with `sections`.
    section_order: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # When the reader agreed to have their clicks kept (None: not agreed; revoking clears it
    # and their history), and whether they want the sections they click most first.
    click_history_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    most_clicked_first: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Their sections by clicks, most first (subscribers/click_history.py keeps it with their history).
    click_order: Mapped[list[str] | None] = mapped_column(JSON, default=None)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")


class Suppression(Base):
    """An address that must not be mailed: for one publication, or for all (None).
    An erased person's row holds no address (email ""), only `email_hash`."""

    __tablename__ = "suppressions"
    __table_args__ = (
        Index(
            "uq_suppressions_global", "email", "email_hash", unique=True,
            sqlite_where=text("publication_id IS NULL"),
            postgresql_where=text("publication_id IS NULL"),
        ),
        Index(
            "uq_suppressions_pub", "email", "publication_id", unique=True,
            sqlite_where=text("publication_id IS NOT NULL"),
            postgresql_where=text("publication_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    publication_id: Mapped[int | None] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), default=None
    )
    reason: Mapped[str] = mapped_column(String(32))  # a SuppressionReason
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The keyed hash of the address (subscribers/suppressions.py), set on erased rows.
    email_hash: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")  # an admin's words


class ImportJob(Base):
    """A CSV import: validated first, then run in the background; the console polls it.
    The report names lines, never addresses (an erased person must not linger here)."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # imports.JobStatus
    skip_invalid: Mapped[bool] = mapped_column(Boolean, default=False)
    rows: Mapped[int] = mapped_column(Integer, default=0)  # data rows in the file
    processed: Mapped[int] = mapped_column(Integer, default=0)  # progress through the current stage
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)  # repeats of an address within the file
    added: Mapped[int] = mapped_column(Integer, default=0)
    existing: Mapped[int] = mapped_column(Integer, default=0)  # already subscribed
    not_resubscribed: Mapped[int] = mapped_column(Integer, default=0)  # left, suppressed or disabled
    # {"errors": [[line, message]], "duplicates": [[line, first line]], "not_resubscribed": [[line, why]]}
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"),
                                                 default=None)
    actor: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
