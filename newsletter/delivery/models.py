"""The delivery log: one row per (edition, subscriber); its states are in states.py."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base, UTCDateTime, utcnow
from newsletter.delivery.states import DeliveryStatus


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id"),
        Index("ix_deliveries_edition_status", "edition_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
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
    relay: Mapped[str] = mapped_column(String(64), default="", server_default="")  # the relay that took it


class RelayOutage(Base):
    """A relay of the pool (transport/relays.py) that could not take mail when last tried:
    since when, the last time and its answer. Senders leave it alone for
    NEWSLETTER_RELAY_DOWN_RETRY_SECONDS after `failed_at`, sending through the others; the
    first message it takes again removes the row (delivery/outage.py)."""

    __tablename__ = "relay_outages"

    relay: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")


class DomainHold(Base):
    """Policy refusals (5.7.x to RCPT) from one recipient domain during one edition, and,
    once they pass the threshold, the hold on that domain's deliveries. The recipients
    are not at fault; an operator releases the hold. `domain` is as the addresses are
    stored (after the @, lower case, Unicode for IDNs)."""

    __tablename__ = "domain_holds"
    __table_args__ = (UniqueConstraint("edition_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")  # the last refusal's text
    refusals: Mapped[int] = mapped_column(Integer, default=0)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # None: counting only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EditionWave(Base):
    """One wave of an edition sent at each subscriber's local time: the zones whose send
    time is `send_at`, and the keyset checkpoint of its fan-out. Made when sending starts
    (delivery/waves.py); the last wave takes everyone not yet recorded, whatever their zone."""

    __tablename__ = "edition_waves"
    __table_args__ = (UniqueConstraint("edition_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)  # IANA names; "" : the publication's
    catch_all: Mapped[bool] = mapped_column(Boolean, default=False)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class SendClaim(Base):
    """One run of one batch: who holds the delivery rows stamped with `token`, and its own
    sign of life. The sender's heartbeat (a thread, delivery/claims.py) refreshes
    `heartbeat_at` while it works, and while it waits on a slow relay; the sweeper reads
    it, never the time of the last message sent. The rules are in delivery/claims.py."""

    __tablename__ = "send_claims"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)  # "<task id>/<generation>"
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"), index=True)
    lo: Mapped[int] = mapped_column(Integer)
    hi: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Alert(Base):
    """An alert to the publication's operators, recorded once per (publication, date, kind,
    ref): the row is what makes an alert go out once, however often the condition is seen.
    `ref` tells apart alerts of one kind that may happen more than once a day (each outage
    of the relay, each finish of an edition sent again)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("publication_id", "day", "kind", "ref", name="uq_alerts_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("editions.id", ondelete="SET NULL"), default=None)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # an AlertKind
    ref: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # None: not emailed (yet)
    last_error: Mapped[str] = mapped_column(Text, default="")
