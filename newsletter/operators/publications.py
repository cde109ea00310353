"""Publications as operators read them: sections, schedule, the next send times (for a
publication sent at each reader's local time: its first wave, and the waves of the next
send: delivery/wave_view.py), and subscription counts."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery import wave_view
from newsletter.delivery.wave_view import WaveRow
from newsletter.editions.models import Edition
from newsletter.editions.overview import EditionSummary, editions_of
from newsletter.errors import NotFound
from newsletter.publications.models import Publication
from newsletter.publications.schedule import describe
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.scope import visible
from newsletter.subscribers.models import Subscription, SubscriptionStatus


@dataclass
class PublicationSummary:
    slug: str
    name: str
    active: bool
    cron: str
    schedule: str  # in words, local wall-clock time
    timezone: str
    next_sends: list[datetime]  # UTC; empty for an inactive publication
    subscribers: int  # active subscriptions
    last_edition: EditionSummary | None
    local_time: bool = False  # sent at the schedule's time in each subscriber's own zone, in waves
    next_waves: list[WaveRow] = field(default_factory=list)  # local time: the waves of the next send


def publications_overview(session: Session, now: datetime, count: int = 5) -> list[PublicationSummary]:
    """Every publication for `newsletter publications list` (the command line acts as an admin)."""
    subscribers = dict(session.execute(
        select(Subscription.publication_id, func.count()).where(Subscription.status == SubscriptionStatus.ACTIVE)
        .group_by(Subscription.publication_id)).all())
    out = []
    for pub in session.scalars(select(Publication).order_by(Publication.slug)):
        last = editions_of(session, pub.id, limit=1)
        sends, waves = wave_view.next_sends(session.connection(), pub, now, count, last[0].date if last else None)
        out.append(PublicationSummary(
            pub.slug, pub.name, pub.active, pub.schedule_cron, describe(pub.schedule_cron), pub.timezone,
            sends, subscribers.get(pub.id, 0), last[0] if last else None, bool(pub.local_time), waves))
    return out


def _last_date(session: Session, pub: Publication):
    return session.scalar(select(Edition.date).where(Edition.publication_id == pub.id)
                          .order_by(Edition.date.desc()).limit(1))


def _describe(session: Session, pub: Publication, counts: dict[str, int], now: datetime) -> dict:
    sends, waves = wave_view.next_sends(session.connection(), pub, now, 3, _last_date(session, pub))
    return {"id": pub.id, "slug": pub.slug, "name": pub.name, "active": pub.active, "timezone": pub.timezone,
            "schedule": pub.schedule_cron, "sender": f"{pub.sender_name} <{pub.sender_address}>",
            "site_url": pub.site_url, "cap_per_section": pub.cap_per_section,
            "sections": [{"slug": s.slug, "name": s.name} for s in pub.ordered_sections()],
            "next_sends": [t.isoformat() for t in sends], "local_time": bool(pub.local_time),
            "next_waves": [w.as_dict() for w in waves],
            "subscriptions": counts, "dkim": bool(pub.dkim_domain), "verp": pub.verp,
            "managed_by": pub.managed_by}


def _counts(session: Session) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for pid, status, n in session.execute(select(Subscription.publication_id, Subscription.status, func.count())
                                          .group_by(Subscription.publication_id, Subscription.status)):
        out.setdefault(pid, {})[status] = n
    return out


def publications(session: Session, actor: Actor, now: datetime | None = None) -> list[dict]:
    require(actor, Permission.READ)
    now, counts = now or utcnow(), _counts(session)
    return [_describe(session, p, counts.get(p.id, {}), now)
            for p in session.scalars(select(Publication).where(visible(actor, Publication.id))
                                     .order_by(Publication.slug))]


def publication(session: Session, actor: Actor, slug: str, now: datetime | None = None) -> dict:
    require(actor, Permission.READ)
    pub = session.scalar(select(Publication).where(Publication.slug == slug))
    if pub is None or not actor.sees(pub.id):
        raise NotFound(f"no publication {slug!r}")
    return _describe(session, pub, _counts(session).get(pub.id, {}), now or utcnow())
