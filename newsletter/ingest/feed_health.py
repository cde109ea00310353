"""Feed health: a feed that keeps failing is an alert to people, once, and a note when it
works again.

Each feed counts from its first failed poll in a row (`failing_since`); a failed poll at
least `alert_after_minutes` (the publications file, per feed; default 60) after that
raises a `feed_down` alert, and the first poll that works after it a `feed_back` note.
The threshold is a time, seen at the polls: a feed is only known to be failing when a
poll fails, so the alert comes with the first failed poll past the threshold (with the
default 15-minute interval and its back-off: the third failed poll, 90 minutes after the
first; a feed polled once a day: its second failed poll). One failed poll alone is never
an alert, whatever the threshold: a server restarting for a minute is not news.

The alerts go the way edition alerts go (delivery/alerts.py): recorded once (the
outage's `ref` names the feed and when it began), logged, emailed by the sweeper to
`operator_address` of the publications the feed fills (its default section and the
sections its categories map to; every active publication when it names none), and
counted on /metrics (newsletter_alerts_total{kind}, metrics/scrape.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from newsletter.delivery.alerts import AlertKind, raise_alert
from newsletter.ingest.fetch import shown
from newsletter.ingest.models import Feed
from newsletter.publications.models import Publication, PublicationSection
from newsletter.store.models import Section

publications = Publication.__table__


def outage_ref(feed: Feed) -> str:
    """One outage of one feed: the same for its alert and its note."""
    return f"feed:{feed.id}:{int(feed.failing_since.timestamp())}"


def publications_fed(conn: Connection, feed: Feed) -> list[int]:
    """The active publications whose sections this feed fills (all active ones when it names none)."""
    slugs = {s for s in [feed.section, *(feed.categories or {}).values()] if s}
    q = select(publications.c.id).where(publications.c.active.is_(True)).order_by(publications.c.id)
    if slugs:
        ps, sections = PublicationSection.__table__, Section.__table__
        q = q.where(publications.c.id.in_(select(ps.c.publication_id).join(sections, sections.c.id == ps.c.section_id)
                                          .where(sections.c.slug.in_(sorted(slugs)))))
    return list(conn.scalars(q))


def poll_failed(conn: Connection, feed: Feed, now: datetime) -> list[int]:
    """After a failed poll (its error already on the feed): start counting, or raise the
    alert once the feed has failed for its threshold. The ids of alerts raised now."""
    if feed.failing_since is None:
        feed.failing_since = now
        return []
    if not alert_due(feed, now):
        return []
    minutes = int((now - feed.failing_since).total_seconds() // 60)
    detail = (f"feed {feed.name!r} ({shown(feed.url)}) has failed since {feed.failing_since:%Y-%m-%d %H:%M} UTC "
              f"({minutes} minutes, {feed.consecutive_errors} polls in a row; alert after "
              f"{feed.alert_after_minutes} minutes). Last error: {feed.last_error}. "
              f"Next poll at {feed.next_poll_at:%H:%M} UTC. Its publications get no new headlines from it "
              f"meanwhile.")
    return _raise(conn, feed, AlertKind.FEED_DOWN, detail)


def alert_due(feed: Feed, failed_at: datetime | None) -> bool:
    """Whether a poll failing at `failed_at` finds the feed failing past its threshold."""
    return (feed.failing_since is not None and failed_at is not None and failed_at > feed.failing_since
            and failed_at - feed.failing_since >= timedelta(minutes=feed.alert_after_minutes))


def poll_worked(conn: Connection, feed: Feed, now: datetime) -> list[int]:
    """After a poll that worked: the note that it is back, if its outage was alerted;
    the count starts again either way."""
    if feed.failing_since is None:
        return []
    raised = []
    if _alerted(conn, feed):
        minutes = int((now - feed.failing_since).total_seconds() // 60)
        detail = (f"feed {feed.name!r} ({shown(feed.url)}) works again at {now:%Y-%m-%d %H:%M} UTC, after failing "
                  f"for {minutes} minutes (since {feed.failing_since:%Y-%m-%d %H:%M} UTC).")
        raised = _raise(conn, feed, AlertKind.FEED_BACK, detail)
    feed.failing_since = None
    return raised


def _alerted(conn: Connection, feed: Feed) -> bool:
    from newsletter.delivery.models import Alert
    alerts = Alert.__table__
    return conn.scalar(select(alerts.c.id).where(alerts.c.kind == AlertKind.FEED_DOWN,
                                                 alerts.c.ref == outage_ref(feed)).limit(1)) is not None


def _raise(conn: Connection, feed: Feed, kind: AlertKind, detail: str) -> list[int]:
    day, ref = feed.failing_since.date(), outage_ref(feed)
    ids = [raise_alert(conn, pub_id, day, kind, detail, ref=ref) for pub_id in publications_fed(conn, feed)]
    return [i for i in ids if i is not None]
