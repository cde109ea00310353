"""Alerts to a publication's operators: an edition that is empty, missed, paused by
refusals of the message, waiting for a relay that is unavailable (and the note that it
is back: outage.py), or finished with failures over the threshold or with any reader
lost to temporary failures; a feed failing past its threshold, and the note that it
works again (delivery/feed_alerts.py).

An alert is recorded once per (publication, edition date, kind, ref): the unique row is
what keeps it from being repeated every minute by the dispatcher or every sweep (`ref`
tells apart the outages of one day, and the finishes of an edition sent again). When
it is first recorded it is logged (one warning line); then it is emailed to the
publication's `operator_address`, when there is one, through the configured delivery
backend, as a one-off message (mail/oneoff.py: signed like confirmations, no
List-Unsubscribe, never a delivery). A send that fails is tried again by the sweeper
(each alert claimed by one process at a time), for a day at most; a relay that is
unavailable costs the alert no attempt (it is told about that very relay, and goes out
when it is back).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, Engine, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery.models import Alert, Delivery
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.models import Edition, EditionStatus
from newsletter.errors import NewsletterError
from newsletter.mail.oneoff import send_one_off
from newsletter.publications.models import Publication
from newsletter.render.emails import render_email
from newsletter.render.message import message_id
from newsletter.transport.backends import Backend
from newsletter.transport.failures import FailureClass, SendFailure

log = logging.getLogger(__name__)
alerts = Alert.__table__
editions = Edition.__table__
deliveries = Delivery.__table__
publications = Publication.__table__
MAX_ATTEMPTS = 8
KEEP_TRYING = timedelta(days=1)  # an alert older than this is stale news: logged, not emailed


class AlertKind(StrEnum):
    EMPTY = "empty"  # no headlines: recorded and not sent
    MISSED = "missed"  # the send time passed more than the grace period ago: skipped
    PAUSED = "paused"  # the relay refused the message often enough to pause the edition
    FAILURES = "failures"  # finished, with failed deliveries over the threshold, or readers lost
    RELAY_DOWN = "relay_down"  # the relay (or the outbox's disk) unavailable past the threshold
    RELAY_BACK = "relay_back"  # ... and available again
    FEED_DOWN = "feed_down"  # a feed failing past its threshold (delivery/feed_alerts.py)
    FEED_BACK = "feed_back"  # ... and working again


FEED_KINDS = (AlertKind.FEED_DOWN, AlertKind.FEED_BACK)
# Failures that say nothing final about the reader: losing one to them is always told.
TEMPORARY_CLASSES = (FailureClass.TEMPORARY, FailureClass.RELAY_DOWN)


def raise_alert(conn: Connection, publication_id: int, day: date, kind: AlertKind, detail: str,
                edition_id: int | None = None, ref: str = "") -> int | None:
    """Record the alert and log it, once; the id when new, None when it was raised before."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    new_id = conn.execute(dialect.insert(alerts).values(
        publication_id=publication_id, edition_id=edition_id, day=day, kind=kind, ref=ref[:64],
        detail=detail[:4000], created_at=utcnow(), attempts=0, last_error="")
        .on_conflict_do_nothing(index_elements=["publication_id", "day", "kind", "ref"])
        .returning(alerts.c.id)).scalar()
    if new_id is not None:
        slug = conn.scalar(select(publications.c.slug).where(publications.c.id == publication_id))
        if kind in FEED_KINDS:
            log.warning("alert: %s %s: %s", slug, kind, detail)
        else:
            log.warning("alert: %s edition of %s is %s: %s", slug, day, kind, detail,
                        extra={"edition_id": edition_id} if edition_id else None)
    return new_id


def check_empty(conn: Connection, edition_id: int) -> int | None:
    ed = _edition(conn, edition_id)
    if ed.status != EditionStatus.EMPTY:
        return None
    return raise_alert(conn, ed.publication_id, ed.date, AlertKind.EMPTY,
                       f"no headlines were published between {ed.window_start:%Y-%m-%d %H:%M} and "
                       f"{ed.window_end:%Y-%m-%d %H:%M} UTC in the publication's sections; nothing was sent",
                       edition_id)


def check_paused(conn: Connection, settings: Settings, edition_id: int) -> int | None:
    """Paused by refusals of the message (not by an operator: a resume resets the count)."""
    ed = _edition(conn, edition_id)
    if ed.status != EditionStatus.PAUSED or ed.message_refusals < settings.message_refusals_to_pause:
        return None
    return raise_alert(conn, ed.publication_id, ed.date, AlertKind.PAUSED, ed.pause_reason, edition_id)


def check_failures(conn: Connection, settings: Settings, edition_id: int) -> int | None:
    """A finished edition whose failed deliveries are over the threshold (a percentage of
    the messages attempted: sent and failed), or that lost any reader to temporary
    failures (after the last round): the alert counts them by class."""
    ed = _edition(conn, edition_id)
    if ed.status != EditionStatus.SENT:
        return None
    by_class = dict(conn.execute(select(deliveries.c.error_class, func.count()).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == D.FAILED)
        .group_by(deliveries.c.error_class)).all())
    failed = sum(by_class.values())
    lost = sum(n for k, n in by_class.items() if k in TEMPORARY_CLASSES)
    sent = conn.scalar(select(func.count()).select_from(deliveries).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == D.SENT))
    over = failed * 100 > settings.alert_failure_percent * (failed + sent)
    if not failed or not (over or lost):
        return None
    classes = ", ".join(f"{k or 'unknown'} {v}" for k, v in sorted(by_class.items()))
    detail = (f"{failed} of {failed + sent} messages failed ({failed * 100 / (failed + sent):.1f}%, "
              f"threshold {settings.alert_failure_percent:g}%), by class: {classes}.")
    if lost:
        detail += (f" {lost} reader(s) did not get this edition because of temporary failures, after the last "
                   f"round: `newsletter editions retry {edition_id} --class temporary` sends it to them again.")
    ref = f"finished {ed.finished_at.isoformat(timespec='seconds')}" if ed.finished_at else ""
    return raise_alert(conn, ed.publication_id, ed.date, AlertKind.FAILURES, detail, edition_id, ref=ref)


def paused_by_refusals(conn: Connection, settings: Settings) -> list[int]:
    """Editions paused by refusals: the sweeper makes sure each has its alert."""
    return list(conn.scalars(select(editions.c.id).where(
        editions.c.status == EditionStatus.PAUSED,
        editions.c.message_refusals >= settings.message_refusals_to_pause)))


def _edition(conn: Connection, edition_id: int):
    return conn.execute(select(editions).where(editions.c.id == edition_id)).one()


def send_pending(engine: Engine, settings: Settings, backend: Backend, now: datetime | None = None) -> int:
    """Email the recorded alerts that have not gone out; returns how many were sent."""
    now = now or utcnow()
    free = or_(alerts.c.claimed_at.is_(None), alerts.c.claimed_at < now - timedelta(seconds=settings.lease_seconds))
    waiting = (alerts.c.sent_at.is_(None), alerts.c.attempts < MAX_ATTEMPTS, alerts.c.created_at > now - KEEP_TRYING)
    with engine.begin() as conn:
        ids = list(conn.scalars(select(alerts.c.id).join(publications, publications.c.id == alerts.c.publication_id)
                                .where(*waiting, free, publications.c.operator_address != "")
                                .order_by(alerts.c.id)))
    sent = 0
    for alert_id in ids:
        with engine.begin() as conn:  # claimed by one process at a time
            claimed = conn.execute(update(alerts).where(alerts.c.id == alert_id, *waiting, free)
                                   .values(attempts=alerts.c.attempts + 1, claimed_at=now)).rowcount
        if claimed:
            sent += _send(engine, settings, backend, alert_id)
    return sent


def _send(engine: Engine, settings: Settings, backend: Backend, alert_id: int) -> int:
    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        pub = session.get(Publication, alert.publication_id)
        try:
            email = render_email("alert", {"alert": alert, "status_command": _status_command(alert)}, pub, settings)
            msg_id = message_id("alert", (alert.id,), pub.domain, settings.signing_key())
            send_one_off(backend, pub, to_name="", to_address=pub.operator_address, email=email, msg_id=msg_id)
        except (SendFailure, NewsletterError) as exc:
            log.warning("alert %s to %s not sent (attempt %s): %s", alert.id, pub.operator_address,
                        alert.attempts, exc)
            alert.last_error = str(exc)[:500]
            if isinstance(exc, SendFailure) and exc.failure_class == FailureClass.RELAY_DOWN:
                alert.attempts -= 1  # nobody could have taken it: tried again, at no cost, until the day is over
            session.commit()
            return 0
        alert.sent_at = utcnow()
        session.commit()
        return 1


def _status_command(alert: Alert) -> str:
    if alert.kind in FEED_KINDS:
        return "newsletter feeds status"
    return f"newsletter editions status {alert.edition_id}" if alert.edition_id else ""
