"""Holding one recipient domain of one edition after repeated policy refusals.

Many 5.7.x refusals to RCPT from one domain (say, gmail.com blocking us for a while)
say something about us and that domain, not about its users: nobody is suppressed,
the edition goes on for everyone else, and that domain's deliveries wait (`held`)
until an operator releases them, after fixing the cause.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from newsletter.db import utcnow
from newsletter.delivery.models import Delivery, DomainHold
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.errors import NotFound
from newsletter.subscribers.models import Subscriber

holds = DomainHold.__table__
deliveries = Delivery.__table__
subscribers = Subscriber.__table__


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def _of_domain(domain: str):
    escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return select(subscribers.c.id).where(subscribers.c.email.like(f"%@{escaped}", escape="\\"))


def count_refusal(conn: Connection, edition_id: int, domain: str, error: str, threshold: int,
                  now: datetime | None = None) -> bool:
    """Count one policy refusal; at the threshold, hold the domain. True when it is held now."""
    now = now or utcnow()
    row = conn.execute(select(holds.c.id, holds.c.refusals, holds.c.held_at).where(
        holds.c.edition_id == edition_id, holds.c.domain == domain)).first()
    if row is None:
        conn.execute(holds.insert().values(edition_id=edition_id, domain=domain, reason=error[:2000],
                                           refusals=1, held_at=None, created_at=now))
        refusals, held = 1, False
    else:
        refusals, held = row.refusals + 1, row.held_at is not None
        conn.execute(update(holds).where(holds.c.id == row.id).values(refusals=refusals, reason=error[:2000]))
    if not held and refusals < threshold:
        return False
    if not held:
        conn.execute(update(holds).where(holds.c.edition_id == edition_id, holds.c.domain == domain)
                     .values(held_at=now))
    # What is waiting for that domain (this refusal's row included) waits for the operator;
    # rows other senders are sending now are held at their next message (the gate reads holds).
    conn.execute(update(deliveries).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status.in_((D.PENDING, D.RETRY)),
        deliveries.c.subscriber_id.in_(_of_domain(domain))).values(status=D.HELD, claimed_by=""))
    return True


def release(conn: Connection, edition_id: int, domain: str) -> int:
    """Lift the hold: the domain's held rows are pending again. Returns how many."""
    domain = domain.strip().lower()
    found = conn.execute(delete(holds).where(holds.c.edition_id == edition_id, holds.c.domain == domain)).rowcount
    if not found:
        raise NotFound(f"edition {edition_id} has no hold on {domain!r}")
    return conn.execute(update(deliveries).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == D.HELD,
        deliveries.c.subscriber_id.in_(_of_domain(domain)))
        .values(status=D.PENDING, queued_at=None, next_attempt_at=None)).rowcount


def held(conn: Connection, edition_id: int) -> list[tuple[str, int, str]]:
    """(domain, refusals, last refusal) of each held domain."""
    return [tuple(r) for r in conn.execute(
        select(holds.c.domain, holds.c.refusals, holds.c.reason)
        .where(holds.c.edition_id == edition_id, holds.c.held_at.is_not(None)).order_by(holds.c.domain))]
