"""Send one batch: claim its deliveries, send over one connection, record each outcome.

The at-most-once argument, step by step:
1. Claim: one UPDATE moves the batch's pending (or due retry) rows to `sending`,
   stamped with this sender's token. A row can be claimed by one sender only.
2. Each message is sent, and as soon as the relay accepts it its row is
   committed as `sent` before the next message goes out.
3. If the sender dies, its rows still `sending` are handed out again (by the
   redelivered task, which has the same token, or by the sweeper once the token
   shows no life). Of those rows, only the one that was on the wire at the
   moment of death can have reached the relay: at most one duplicate per
   connection that was open at the kill, and nobody is left out.
The per-message mark is one autocommitted statement (see marks.py).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, exists, or_, select, update

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery.backends import Backend, PermanentFailure, RelayDown, TemporaryFailure
from newsletter.delivery.compose import Composer, Recipient
from newsletter.delivery.marks import SentMarks
from newsletter.delivery.models import FAILED, PENDING, RETRY, SENDING, SENT, SKIPPED, Delivery
from newsletter.delivery.progress import EditionGate, maybe_finish
from newsletter.delivery.ratelimit import Limiter
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.subscribers.models import ACTIVE, UNSUBSCRIBED, Subscriber, Subscription, Suppression
from newsletter.tracking.models import BOUNCE, BOUNCED, SMTP, UNSUBSCRIBE, Event

deliveries = Delivery.__table__


@dataclass
class BatchResult:
    outcome: str = "done"  # done | paused | cancelled | relay_down | not_sending
    counts: Counter = field(default_factory=Counter)


def claim(conn: Connection, edition_id: int, lo: int, hi: int, token: str, now: datetime) -> list[int]:
    d = deliveries.c
    ids = conn.scalars(
        update(deliveries)
        .where(d.edition_id == edition_id, d.subscriber_id > lo, d.subscriber_id <= hi,
               or_(d.status == PENDING,
                   and_(d.status == RETRY, d.next_attempt_at <= now),
                   and_(d.status == SENDING, d.claimed_by == token)))  # our own, redelivered
        .values(status=SENDING, claimed_by=token, claimed_at=now)
        .returning(d.id)).all()
    return ids


def recipients(conn: Connection, delivery_ids: list[int], publication_id: int):
    """(delivery id, Recipient, still wanted) for the claimed rows, in subscriber order."""
    sub, s, sup = Subscriber.__table__, Subscription.__table__, Suppression.__table__
    suppressed = exists().where(sup.c.email == sub.c.email,
                                or_(sup.c.publication_id.is_(None), sup.c.publication_id == publication_id))
    rows = conn.execute(
        select(deliveries.c.id, sub.c.id, sub.c.email, sub.c.name, s.c.status, s.c.sections,
               suppressed.label("suppressed"), sub.c.status.label("subscriber_status"), sub.c.token_key)
        .join(sub, sub.c.id == deliveries.c.subscriber_id)
        .outerjoin(s, and_(s.c.subscriber_id == sub.c.id, s.c.publication_id == publication_id))
        .where(deliveries.c.id.in_(delivery_ids))
        .order_by(deliveries.c.subscriber_id)).all()
    for did, sid, email, name, status, sections, is_suppressed, subscriber_status, key in rows:
        wanted = status == ACTIVE and subscriber_status == ACTIVE and not is_suppressed
        yield did, Recipient(sid, email, name or "", tuple(sections) if sections else None, key, did), wanted


def _set(conn: Connection, ids, **values) -> None:
    if ids:
        conn.execute(update(deliveries).where(deliveries.c.id.in_(list(ids))).values(**values))


def send_batch(conn: Connection, settings: Settings, edition: Edition, publication: Publication,
               lo: int, hi: int, token: str, backend: Backend, limiter: Limiter,
               composer: Composer | None = None, heartbeat=lambda: None) -> BatchResult:
    """`conn` is a connection of our own, outside any transaction; we commit as we go.
    `heartbeat` is called between messages (the Celery adapter renews its lease there)."""
    result = BatchResult()
    gate = EditionGate(conn, edition.id)
    if gate.stopped():
        result.outcome = gate.status
        return result
    now = utcnow()
    claimed = claim(conn, edition.id, lo, hi, token, now)
    conn.commit()
    if not claimed:
        return result
    composer = composer or Composer(settings, edition, publication)
    todo, skipped = [], []
    for did, recipient, wanted in recipients(conn, claimed, publication.id):
        (todo if wanted else skipped).append((did, recipient))
    _set(conn, [d for d, _ in skipped], status=SKIPPED, last_error="unsubscribed or suppressed")
    result.counts[SKIPPED] += len(skipped)
    conn.commit()
    order = [d for d, _ in todo]
    done = 0  # order[:done] have an outcome; the rest are still ours to give back
    marks = SentMarks(conn)
    try:
        backend.open()
        for did, recipient in todo:
            if gate.stopped():
                result.outcome = gate.status
                break
            heartbeat()
            now = utcnow()
            composed = composer.compose(recipient, now)
            if composed is None:  # their sections have nothing today
                _set(conn, [did], status=SKIPPED, last_error="no headlines in chosen sections")
                result.counts[SKIPPED] += 1
                conn.commit()
            else:
                limiter.wait(recipient.email.rpartition("@")[2])
                try:
                    backend.send(composed.envelope_from, recipient.email, composed.data, composed.message_id)
                except TemporaryFailure as exc:
                    result.counts[_temporary(conn, settings, did, str(exc), now)] += 1
                    conn.commit()
                except PermanentFailure as exc:
                    _bounce(conn, edition, publication, did, recipient, exc, now)
                    result.counts[FAILED] += 1
                    conn.commit()
                else:
                    marks.sent(did, composed.message_id, now)  # durable before the next send
                    result.counts[SENT] += 1
            done += 1
    except RelayDown as exc:
        result.outcome = "relay_down"
        result.counts["relay_down"] = len(order) - done
        _set(conn, order[done:], last_error=str(exc)[:500])
    finally:
        backend.close()
        # Whatever we claimed and did not get to goes back, without costing an attempt
        # (or is skipped, when the edition was cancelled under us).
        if result.outcome == "cancelled":
            _set(conn, order[done:], status=SKIPPED, claimed_by="", last_error="edition cancelled")
        else:
            _set(conn, order[done:], status=PENDING, claimed_by="", queued_at=utcnow())
        conn.commit()
        marks.close()
    if result.outcome == "done":
        maybe_finish(conn, edition.id)
        conn.commit()
    return result


def _temporary(conn: Connection, settings: Settings, did: int, error: str, now: datetime) -> str:
    attempts = conn.scalar(select(deliveries.c.attempts).where(deliveries.c.id == did)) + 1
    if attempts >= settings.max_attempts:
        _set(conn, [did], status=FAILED, attempts=attempts, last_error=error[:500])
        return FAILED
    delay = settings.retry_base_seconds * (2 ** (attempts - 1))
    _set(conn, [did], status=RETRY, attempts=attempts, last_error=error[:500],
         next_attempt_at=now + timedelta(seconds=delay), claimed_by="")
    return RETRY


def _bounce(conn: Connection, edition: Edition, publication: Publication, did: int,
            recipient: Recipient, exc: PermanentFailure, now: datetime) -> None:
    """A 5xx for the recipient: failed, a hard-bounce event, suppressed everywhere, and
    their subscription to this publication ended (an unsubscribe by the "bounce" method)."""
    _set(conn, [did], status=FAILED, last_error=str(exc)[:500], attempts=deliveries.c.attempts + 1)
    conn.execute(Event.__table__.insert().values(
        kind=BOUNCE, method=SMTP, subscriber_id=recipient.subscriber_id,
        publication_id=publication.id, edition_id=edition.id, reason="hard",
        detail=str(exc)[:2000], created_at=now))
    sup = Suppression.__table__
    known = conn.scalar(select(sup.c.id).where(sup.c.email == recipient.email, sup.c.publication_id.is_(None)))
    if known is None:
        conn.execute(sup.insert().values(email=recipient.email, publication_id=None,
                                         reason="hard_bounce", created_at=now))
    subs = Subscription.__table__
    ended = conn.execute(update(subs).where(
        subs.c.subscriber_id == recipient.subscriber_id, subs.c.publication_id == publication.id,
        subs.c.status == ACTIVE).values(status=UNSUBSCRIBED, updated_at=now)).rowcount
    if ended:
        conn.execute(Event.__table__.insert().values(
            kind=UNSUBSCRIBE, method=BOUNCED, subscriber_id=recipient.subscriber_id,
            publication_id=publication.id, edition_id=edition.id, reason="hard-bounce",
            detail="", created_at=now))
