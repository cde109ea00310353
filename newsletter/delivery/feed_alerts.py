"""Feed health that reaches people: a feed failing past its threshold is an alert, once,
and a note when it works again, by the edition alerts' path (alerts.py: recorded once,
logged, emailed by the sweeper to `operator_address`, counted on /metrics).

Polling (ingest/feeds.py) keeps the facts on the feed: `failing_since`, its first failed
poll of the errors in a row (cleared by a poll that works), and `last_error_at`. The
sweeper (every few seconds, on the workers' beat or in `newsletter run`) calls `check`:

- a feed whose failed polls span at least its `alert_after_minutes` (per feed in the
  publications file, 60 by default) is an alert; the threshold is a time, seen at the
  polls: the alert comes with the first failed poll past it (with the default 15-minute
  interval and its back-off, the third failed poll, 90 minutes after the first; a feed
  polled daily, its second). A single failed poll is never one: a server restarting for
  a minute is not news;
- an alerted outage that has ended (a poll worked: `failing_since` cleared, or another
  outage began) gets its note. `down_alerted_since` remembers which outage was told.

They go to the operators of the publications the feed fills (its default section and the
sections its categories map to; every active publication when it names none).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update

from newsletter.delivery.alerts import AlertKind, raise_alert
from newsletter.ingest.fetch import shown
from newsletter.ingest.models import Feed
from newsletter.publications.models import Publication, PublicationSection
from newsletter.store.models import Section

feeds = Feed.__table__
publications = Publication.__table__


def alert_due(failing_since: datetime | None, last_error_at: datetime | None, alert_after_minutes: int) -> bool:
    """Whether the failed polls of a feed span its threshold."""
    return (failing_since is not None and last_error_at is not None and last_error_at > failing_since
            and last_error_at - failing_since >= timedelta(minutes=alert_after_minutes))


def check(conn: Connection, now: datetime) -> list[int]:
    """Raise the alerts and notes that are due; the ids of those raised now."""
    raised: list[int] = []
    f = feeds.c
    told = or_(f.down_alerted_since.is_(None), f.down_alerted_since != f.failing_since)
    for feed in conn.execute(select(feeds).where(f.failing_since.isnot(None), told)).all():
        if not feed.active or not alert_due(feed.failing_since, feed.last_error_at, feed.alert_after_minutes):
            continue
        if feed.down_alerted_since is not None:  # an earlier outage, told and ended: its note first
            raised += _back(conn, feed, now)
        minutes = int((feed.last_error_at - feed.failing_since).total_seconds() // 60)
        detail = (f"feed {feed.name!r} ({shown(feed.url)}) has failed since {feed.failing_since:%Y-%m-%d %H:%M} UTC "
                  f"({minutes} minutes, {feed.consecutive_errors} polls in a row; alert after "
                  f"{feed.alert_after_minutes} minutes). Last error: {feed.last_error}. Its publications get no "
                  "new headlines from it meanwhile.")
        raised += _raise(conn, feed, AlertKind.FEED_DOWN, feed.failing_since, detail)
        conn.execute(update(feeds).where(f.id == feed.id).values(down_alerted_since=feed.failing_since))
    for feed in conn.execute(select(feeds).where(f.down_alerted_since.isnot(None), f.failing_since.is_(None))).all():
        raised += _back(conn, feed, now)
    return raised


def _back(conn: Connection, feed, now: datetime) -> list[int]:
    since = feed.down_alerted_since
    works = feed.last_success_at if feed.last_success_at and feed.last_success_at > since else now
    detail = (f"feed {feed.name!r} ({shown(feed.url)}) works again at {works:%Y-%m-%d %H:%M} UTC, after failing "
              f"for {int((works - since).total_seconds() // 60)} minutes (since {since:%Y-%m-%d %H:%M} UTC).")
    raised = _raise(conn, feed, AlertKind.FEED_BACK, since, detail)
    conn.execute(update(feeds).where(feeds.c.id == feed.id, feeds.c.down_alerted_since == since)
                 .values(down_alerted_since=None))
    return raised


def _raise(conn: Connection, feed, kind: AlertKind, since: datetime, detail: str) -> list[int]:
    ref = f"feed:{feed.id}:{int(since.timestamp())}"  # one outage of one feed: its alert and its note
    ids = [raise_alert(conn, pub_id, since.date(), kind, detail, ref=ref) for pub_id in publications_fed(conn, feed)]
    return [i for i in ids if i is not None]


def publications_fed(conn: Connection, feed) -> list[int]:
    """The active publications whose sections this feed fills (all active ones when it names none)."""
    slugs = {s for s in [feed.section, *(feed.categories or {}).values()] if s}
    q = select(publications.c.id).where(publications.c.active.is_(True)).order_by(publications.c.id)
    if slugs:
        ps, sections = PublicationSection.__table__, Section.__table__
        q = q.where(publications.c.id.in_(select(ps.c.publication_id).join(sections, sections.c.id == ps.c.section_id)
                                          .where(sections.c.slug.in_(sorted(slugs)))))
    return list(conn.scalars(q))
