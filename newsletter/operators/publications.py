"""Publications as operators read them: sections, schedule, the next send times in the
publication's own time zone, and subscription counts."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.errors import NotFound
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date, send_times_on
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.scope import visible
from newsletter.subscribers.models import Subscription


def next_sends(pub: Publication, now: datetime, count: int = 3) -> list[datetime]:
    """The next `count` send times (UTC), daylight-saving changes included (schedule.py)."""
    out: list[datetime] = []
    day = local_date(pub.timezone, now)
    for offset in range(0, 60):
        out.extend(t for t in send_times_on(pub.schedule_cron, pub.timezone, day + timedelta(days=offset)) if t > now)
        if len(out) >= count:
            break
    return out[:count]


def _describe(pub: Publication, counts: dict[str, int], now: datetime) -> dict:
    return {"id": pub.id, "slug": pub.slug, "name": pub.name, "active": pub.active, "timezone": pub.timezone,
            "schedule": pub.schedule_cron, "sender": f"{pub.sender_name} <{pub.sender_address}>",
            "site_url": pub.site_url, "cap_per_section": pub.cap_per_section,
            "sections": [{"slug": s.slug, "name": s.name} for s in pub.ordered_sections()],
            "next_sends": [t.isoformat() for t in next_sends(pub, now)] if pub.active else [],
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
    return [_describe(p, counts.get(p.id, {}), now)
            for p in session.scalars(select(Publication).where(visible(actor, Publication.id))
                                     .order_by(Publication.slug))]


def publication(session: Session, actor: Actor, slug: str, now: datetime | None = None) -> dict:
    require(actor, Permission.READ)
    pub = session.scalar(select(Publication).where(Publication.slug == slug))
    if pub is None or not actor.sees(pub.id):
        raise NotFound(f"no publication {slug!r}")
    return _describe(pub, _counts(session).get(pub.id, {}), now or utcnow())
