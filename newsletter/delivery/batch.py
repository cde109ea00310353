"""Send one batch: claim its deliveries, send over one connection, record each outcome.

The at-most-once argument, step by step:
1. Claim: one UPDATE moves the batch's pending (or due retry) rows to `sending`,
   stamped with this sender's token. A row can be claimed by one sender only.
2. Each message is sent, and as soon as the relay accepts it its row is
   committed as `sent` before the next message goes out (marks.py: the mark's
   statement is sent at once, and its commit awaited before the next MAIL).
3. If the sender dies, its rows still `sending` are handed out again (by the
   redelivered task, which has the same token, or by the sweeper once the token
   shows no life). Of those rows, only the one that was on the wire at the
   moment of death can have reached the relay: at most one duplicate per
   connection that was open at the kill, and nobody is left out.
No exception from one recipient stops the batch: a refusal is recorded by its class
(outcomes.py), and anything unexpected fails that one delivery with its error.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from time import perf_counter

from sqlalchemy import Connection, and_, exists, or_, select, update

from newsletter import metrics
from newsletter.addresses import wire_address
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery.backends import Backend
from newsletter.delivery.compose import Composer, Recipient
from newsletter.delivery.failures import FailureClass, SendFailure
from newsletter.delivery.gate import EditionGate
from newsletter.delivery.holds import email_domain
from newsletter.delivery.marks import SentMarks
from newsletter.delivery.models import Delivery
from newsletter.delivery.outcomes import give_back, record_failure, set_status
from newsletter.delivery.ratelimit import Limiter
from newsletter.delivery.states import BatchOutcome
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.models import Edition, EditionStatus
from newsletter.publications.models import Publication
from newsletter.subscribers.address_hash import address_hasher
from newsletter.subscribers.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from newsletter.subscribers.order import sender_orders

log = logging.getLogger(__name__)
deliveries = Delivery.__table__
editions = Edition.__table__


@dataclass
class BatchResult:
    outcome: BatchOutcome = BatchOutcome.DONE
    counts: Counter = field(default_factory=Counter)


def claim(conn: Connection, edition_id: int, lo: int, hi: int, token: str, now) -> list[int]:
    """Take the range's open rows. Only while the edition is sending: once a pause or a
    cancel has committed, nothing new is claimed anywhere, and what is already claimed
    is given back within one gate interval."""
    d = deliveries.c
    sending = exists().where(editions.c.id == edition_id, editions.c.status == EditionStatus.SENDING)
    return conn.scalars(
        update(deliveries)
        .where(d.edition_id == edition_id, d.subscriber_id > lo, d.subscriber_id <= hi, sending,
               or_(d.status == D.PENDING,
                   and_(d.status == D.RETRY, d.next_attempt_at <= now),
                   and_(d.status == D.SENDING, d.claimed_by == token)))  # our own, redelivered
        .values(status=D.SENDING, claimed_by=token, claimed_at=now)
        .returning(d.id)).all()


def recipients(conn: Connection, delivery_ids: list[int], publication_id: int, secret: str | None = None):
    """(delivery id, Recipient, still wanted) for the claimed rows, in subscriber order.
    Wanted: subscribed, not disabled, not suppressed, checked now (not at queueing); with
    the secret key, not erased either (an erased address is suppressed by its keyed hash)."""
    sub, s, sup = Subscriber.__table__, Subscription.__table__, Suppression.__table__
    suppressed = exists().where(sup.c.email == sub.c.email,
                                or_(sup.c.publication_id.is_(None), sup.c.publication_id == publication_id))
    rows = conn.execute(
        select(deliveries.c.id, sub.c.id, sub.c.email, sub.c.name, s.c.status, s.c.sections,
               suppressed.label("suppressed"), sub.c.status.label("subscriber_status"), sub.c.token_key,
               s.c.section_order, s.c.click_order, s.c.most_clicked_first, s.c.click_history_since)
        .join(sub, sub.c.id == deliveries.c.subscriber_id)
        .outerjoin(s, and_(s.c.subscriber_id == sub.c.id, s.c.publication_id == publication_id))
        .where(deliveries.c.id.in_(delivery_ids))
        .order_by(deliveries.c.subscriber_id)).all()
    digest = address_hasher(secret) if secret is not None and rows else None
    hashes = {r.email: digest(r.email) for r in rows} if digest else {}
    erased = set(conn.scalars(select(sup.c.email_hash).where(sup.c.email_hash.in_(set(hashes.values()))))) \
        if hashes else set()
    for did, sid, email, name, status, sections, is_suppressed, subscriber_status, key, *reading in rows:
        wanted = (status == SubscriptionStatus.ACTIVE and subscriber_status == SubscriberStatus.ACTIVE
                  and not is_suppressed and hashes.get(email) not in erased)
        order, click_order = sender_orders(*reading)  # the reader's own order (subscribers/order.py)
        yield did, Recipient(sid, email, name or "", tuple(sections) if sections else None, key, did,
                             clicks_named=reading[3] is not None, order=order, click_order=click_order), wanted


def send_batch(conn: Connection, settings: Settings, edition: Edition, publication: Publication,
               lo: int, hi: int, token: str, backend: Backend, limiter: Limiter,
               composer: Composer | None = None, heartbeat=lambda: None) -> BatchResult:
    """`conn` is a connection of our own, outside any transaction; we commit as we go.
    `heartbeat` is called between messages (the Celery adapter renews its lease there)."""
    result = BatchResult()
    gate = EditionGate(conn, edition.id, settings.pause_check_seconds)
    if gate.stopped():
        result.outcome = _stopped(gate.status)
        return result
    claimed = claim(conn, edition.id, lo, hi, token, utcnow())
    conn.commit()
    if not claimed:
        return result
    composer = composer or Composer(settings, edition, publication)
    todo, unwanted = [], []
    for did, recipient, wanted in recipients(conn, claimed, publication.id, settings.signing_key()):
        (todo if wanted else unwanted).append((did, recipient))
    set_status(conn, [d for d, _ in unwanted], D.SKIPPED, "unsubscribed, disabled or suppressed")
    result.counts[D.SKIPPED] += len(unwanted)
    conn.commit()
    order = [d for d, _ in todo]
    done = 0  # order[:done] have an outcome; the rest are still ours to give back
    marks = SentMarks(conn)
    try:
        backend.open()
        for did, recipient in todo:
            if gate.stopped():
                result.outcome = _stopped(gate.status)
                break
            heartbeat()
            status = _send_one(conn, settings, edition, publication, backend, limiter, composer, marks, gate,
                               did, recipient)
            if status is None:  # the last message's mark said stop
                result.outcome = _stopped(gate.status)
                break
            result.counts[status] += 1
            done += 1
    except SendFailure as exc:  # only RELAY_DOWN leaves _send_one
        result.outcome = BatchOutcome.RELAY_DOWN
        result.counts["relay_down"] = len(order) - done
        give_back(conn, order[done:], utcnow(), exc)
    finally:
        backend.close()
        # Whatever we claimed and did not get to goes back without costing an attempt,
        # or is skipped when the edition was cancelled under us.
        if result.outcome == BatchOutcome.CANCELLED:
            set_status(conn, order[done:], D.SKIPPED, "edition cancelled")
        else:
            give_back(conn, order[done:], utcnow())
        conn.commit()
        marks.close()
    log.info("batch %s-%s of edition %s: %s, %s", lo, hi, edition.id, result.outcome,
             ", ".join(f"{n} {k}" for k, n in sorted(result.counts.items())) or "nothing to send",
             extra={"edition_id": edition.id, "batch": f"{lo}-{hi}"})
    return result


def _send_one(conn, settings, edition, publication, backend, limiter, composer, marks, gate,
              did: int, recipient: Recipient) -> str | None:
    """One message, start to recorded outcome; None when the edition stopped before it
    went out. Raises only for a relay that is down.

    The message is composed while the last one's sent mark is on its way to the
    database; the mark is settled (committed) before anything of this one is sent."""
    now = utcnow()
    try:
        composed, problem = composer.compose(recipient, now), None
    except Exception as exc:  # noqa: BLE001 - recorded below, as any unexpected error
        composed, problem = None, exc
    gate.observe(marks.settle())
    if gate.status != EditionStatus.SENDING:
        return None
    if email_domain(recipient.email) in gate.held_domains:
        set_status(conn, [did], D.HELD, "domain held after policy refusals", FailureClass.POLICY_REFUSED)
        conn.commit()
        return D.HELD
    try:
        if problem is not None:
            raise problem
        if composed is None:  # their sections have nothing today
            set_status(conn, [did], D.SKIPPED, "no headlines in chosen sections")
            conn.commit()
            return D.SKIPPED
        limiter.wait(wire_address(recipient.email).domain)
        started = perf_counter()
        backend.send(composed.envelope_from, recipient.email, composed.data, composed.message_id)
        metrics.message_sent(perf_counter() - started)
    except SendFailure as failure:
        if failure.failure_class == FailureClass.RELAY_DOWN:
            raise
        recorded = record_failure(conn, settings, edition.id, publication.id, did, recipient, failure, now)
        # Class, stage and code: enough to follow; the relay's text (it may name the address) is on the row.
        log.info("delivery %s: %s at %s (%s): %s", did, failure.failure_class, failure.stage, failure.code or "-",
                 recorded.status, extra={"edition_id": edition.id, "delivery_id": did})
        if recorded.paused_edition:
            gate.force(EditionStatus.PAUSED)
        if recorded.held_domain:
            gate.hold(recorded.held_domain)
        return recorded.status
    except Exception as exc:  # noqa: BLE001 - one recipient never stops the batch
        log.warning("delivery %s failed unexpectedly: %s", did, type(exc).__name__,
                    extra={"edition_id": edition.id, "delivery_id": did})
        backend.reset()  # the connection's state is unknown now
        failure = SendFailure(FailureClass.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
        return record_failure(conn, settings, edition.id, publication.id, did, recipient, failure, now).status
    marks.sent(did, composed.message_id, now)  # committed before the next send (settle above)
    return D.SENT


def _stopped(status: EditionStatus) -> BatchOutcome:
    if status == EditionStatus.PAUSED:
        return BatchOutcome.PAUSED
    if status == EditionStatus.CANCELLED:
        return BatchOutcome.CANCELLED
    return BatchOutcome.NOT_SENDING
