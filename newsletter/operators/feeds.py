"""Feeds as operators see them (what their polls did, when the next one is due) and a
poll by hand, role-checked and audited. Polling itself is ingest/feeds.py's.

A role for named publications sees and polls the feeds of those publications' sections
(a feed without a section, whose entries name their own, feeds any publication: only a
role for every publication sees it)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.errors import NotFound
from newsletter.ingest import feeds as polling
from newsletter.ingest.models import Feed
from newsletter.publications.models import PublicationSection
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.audit import record
from newsletter.staff.scope import visible
from newsletter.store.models import Section


def _theirs(actor: Actor):
    """Feeds of the actor's publications' sections (every feed for a role everywhere)."""
    if actor.everywhere:
        return Feed.id.isnot(None)
    return Feed.section.in_(select(Section.slug).join(PublicationSection, PublicationSection.section_id == Section.id)
                            .where(visible(actor, PublicationSection.publication_id)))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def as_dict(f: Feed, now: datetime) -> dict:
    return {"name": f.name, "url": f.url, "active": f.active, "section": f.section or None,
            "interval_minutes": f.interval_seconds // 60, "last_polled_at": _iso(f.last_polled_at),
            "last_success_at": _iso(f.last_success_at), "last_error": f.last_error or None,
            "last_error_at": _iso(f.last_error_at), "consecutive_errors": f.consecutive_errors,
            "last_added": f.last_added, "total_added": f.total_added, "next_poll_at": _iso(f.next_poll_at),
            "due": f.active and (f.next_poll_at is None or f.next_poll_at <= now),
            "failing_since": _iso(f.failing_since), "alert_after_minutes": f.alert_after_minutes,
            "managed_by": f.managed_by}


def failing(session: Session, actor: Actor, now: datetime | None = None) -> list[dict]:
    """Active feeds whose last poll failed, failing longest first (the dashboard's top)."""
    require(actor, Permission.READ)
    now = now or utcnow()
    rows = session.scalars(select(Feed).where(_theirs(actor), Feed.active.is_(True), Feed.consecutive_errors > 0)
                           .order_by(Feed.failing_since.asc().nulls_last(), Feed.name))
    return [as_dict(f, now) | {"failing_minutes": int((now - (f.failing_since or now)).total_seconds() // 60),
                               "alerted": f.down_alerted_since is not None} for f in rows]


def status(session: Session, actor: Actor, now: datetime | None = None) -> list[dict]:
    """Every feed, active ones first."""
    require(actor, Permission.READ)
    now = now or utcnow()
    return [as_dict(f, now) for f in session.scalars(select(Feed).where(_theirs(actor))
                                                     .order_by(Feed.active.desc(), Feed.name))]


def poll(engine: Engine, settings: Settings, actor: Actor, name: str) -> polling.PollResult:
    """Poll one feed now, due or not (a conditional GET all the same). NotFound for an
    unknown feed, Conflict for an inactive one; a fetch error is in the result."""
    require(actor, Permission.EDITIONS)
    if not actor.everywhere:
        with Session(engine) as session:
            if session.scalar(select(Feed.id).where(Feed.name == name, _theirs(actor))) is None:
                raise NotFound(f"no feed {name!r}")
    result = polling.poll_feed(engine, settings, name, force=True)
    with Session(engine) as session:
        record(session, actor, "feed.poll", f"feed:{name}", {"outcome": result.outcome, "added": result.added,
                                                              "error": result.error[:200]})
        session.commit()
    return result


def poll_dict(r: polling.PollResult) -> dict:
    return {"name": r.name, "outcome": r.outcome, "added": r.added, "updated": r.updated, "skipped": r.skipped,
            "error": r.error or None, "next_poll_at": _iso(r.next_poll_at)}
