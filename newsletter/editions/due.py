"""Which editions are due now: the dispatcher's decision, in each publication's zone.

Run every minute (by beat, or by `newsletter run`). Creating an edition is idempotent
in the database (one per publication and date), so two beats, a restarted beat or a
redelivered task never make two. After downtime an edition is still built if its send
time passed less than the grace period ago; otherwise it is missed, and reported as
such (the caller records the alert once: delivery/alerts.py), not built. A publication
that has no edition before that date has not started yet: it has missed nothing.

A publication sent at each subscriber's local time (`local_time`) has one edition per
local date, built once at its earliest wave, the first zone among its subscribers to
reach the send time (Pacific/Auckland's 06:00 comes almost a day before Los Angeles's);
the waves themselves are the delivery's business (delivery/waves.py). Its lateness is
judged by that first wave: a send that has started always finishes its later waves.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.editions.build import build_edition, find_edition
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date, local_days_around, send_times_on, waves_on
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus

log = logging.getLogger(__name__)


@dataclass
class Due:
    publication_id: int
    edition_id: int
    created: bool
    status: str


@dataclass(frozen=True)
class Missed:
    publication_id: int
    day: date
    due_at: datetime
    late: timedelta


@dataclass
class Schedule:
    due: list[Due] = field(default_factory=list)
    missed: list[Missed] = field(default_factory=list)


def check_schedule(session: Session, now: datetime, grace: timedelta) -> Schedule:
    """The editions that are due (built now or before) and the ones missed by more than `grace`."""
    out = Schedule()
    for pub in session.scalars(select(Publication).where(Publication.active.is_(True)).order_by(Publication.id)):
        for day, first in _send_days(session, pub, now, grace):
            existing = find_edition(session, pub.id, day)
            if existing is not None:
                out.due.append(Due(pub.id, existing.id, False, existing.status))
                continue
            if now - first > grace:
                log.debug("not building %s edition of %s: due at %s (grace %s)", pub.slug, day, first, grace)
                if _has_sent_before(session, pub.id, day):  # a publication just added has missed nothing
                    out.missed.append(Missed(pub.id, day, first, now - first))
                continue
            # Built as of its cut-off: for waves, the first one (never later, however late we are).
            edition, created = build_edition(session, pub, day, min(now, first) if pub.local_time else now)
            out.due.append(Due(pub.id, edition.id, created, edition.status))
    return out


def _send_days(session: Session, pub: Publication, now: datetime, grace: timedelta) -> list[tuple[date, datetime]]:
    """(local date, first send instant) of the editions whose send time has come by `now`."""
    if not pub.local_time:
        today = local_date(pub.timezone, now)
        days = [today - timedelta(days=1), today]
        firsts = [send_times_on(pub.schedule_cron, pub.timezone, d) for d in days]
        return [(d, times[0]) for d, times in zip(days, firsts, strict=True) if times and times[0] <= now]
    # The zones are read each minute (one DISTINCT over the publication's subscribers):
    # the earliest wave moves when someone in a new zone subscribes.
    zones = _audience_zones(session, pub.id)
    out = []
    for day in sorted(set(local_days_around(now - grace)) | set(local_days_around(now))):
        waves = waves_on(pub.schedule_cron, pub.timezone, zones, day)
        if waves and waves[0].send_at <= now:
            out.append((day, waves[0].send_at))
    return out


def _has_sent_before(session: Session, publication_id: int, day: date) -> bool:
    return session.scalar(select(Edition.id).where(Edition.publication_id == publication_id, Edition.date < day)
                          .limit(1)) is not None


def _audience_zones(session: Session, publication_id: int) -> list[str]:
    return list(session.scalars(
        select(Subscriber.timezone).distinct()
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.publication_id == publication_id, Subscription.status == SubscriptionStatus.ACTIVE)))
