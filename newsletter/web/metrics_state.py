"""Gauges computed when Prometheus scrapes: the state of the database and the broker.

Cheap by construction: editions are few (one per publication and day); per-edition
figures are read only for editions that are sending or paused, through the
(edition_id, status) index; the queue depth is one LLEN per priority list. A source
that does not answer is reported as newsletter_scrape_up{source} 0, never as an error
of the whole scrape. Counts only: no address or name ever appears in a label.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Engine, distinct, func, select

from newsletter.bounces.models import BounceReport, ReportStatus
from newsletter.delivery.alerts import AlertKind
from newsletter.delivery.models import Alert, Delivery
from newsletter.delivery.states import DeliveryStatus
from newsletter.editions.models import Edition, EditionStatus
from newsletter.ingest.models import Feed
from newsletter.publications.models import Publication

log = logging.getLogger(__name__)

QUEUE = "newsletter"  # workers/app.py: task_default_queue
# Kombu's Redis transport keeps one list per priority step besides the plain one.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
_OPEN = (EditionStatus.SENDING, EditionStatus.PAUSED)


class StateCollector:
    """A prometheus_client collector (only `collect`: registered without describing)."""

    def __init__(self, engine: Engine, redis_client=None, queue: str = QUEUE):
        self.engine, self.redis, self.queue = engine, redis_client, queue

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("newsletter_scrape_up", "Whether a source of the scrape-time gauges answered.",
                               labels=["source"])
        for name, probe in (("database", self._database), ("broker", self._broker)):
            if name == "broker" and self.redis is None:
                continue
            try:
                families = list(probe())
            except Exception as exc:  # noqa: BLE001 - a scrape never fails because one source is down
                log.warning("metrics: %s did not answer: %s: %s", name, type(exc).__name__, exc)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up

    def _database(self) -> Iterator[Metric]:
        e, d = Edition.__table__.c, Delivery.__table__.c
        with self.engine.connect() as conn:
            by_state = dict(conn.execute(select(e.status, func.count()).group_by(e.status)).all())
            open_editions = conn.execute(
                select(e.id, Publication.__table__.c.slug, e.fanout_cursor, e.max_subscriber_id, e.fanout_done)
                .join(Publication.__table__, Publication.__table__.c.id == e.publication_id)
                .where(e.status.in_(list(_OPEN)))).all()
            ids = [row.id for row in open_editions]
            counts = conn.execute(select(d.edition_id, d.status, func.count()).where(d.edition_id.in_(ids))
                                  .group_by(d.edition_id, d.status)).all() if ids else []
            in_flight = conn.scalar(select(func.count(distinct(d.claimed_by))).where(
                d.edition_id.in_(ids), d.status == DeliveryStatus.SENDING)) if ids else 0
            r = BounceReport.__table__.c
            waiting = dict(conn.execute(select(r.status, func.count()).where(
                r.status.in_([ReportStatus.RECEIVED, ReportStatus.FAILED])).group_by(r.status)).all())
            f, a = Feed.__table__.c, Alert.__table__.c
            polls, errors, failing = conn.execute(select(
                func.coalesce(func.sum(f.total_polls), 0), func.coalesce(func.sum(f.total_errors), 0),
                func.count().filter(f.active.is_(True), f.consecutive_errors > 0))).one()
            alerts = dict(conn.execute(select(a.kind, func.count()).group_by(a.kind)).all())
        editions = GaugeMetricFamily("newsletter_editions", "Editions by state.", labels=["state"])
        for state in EditionStatus:
            editions.add_metric([state.value], by_state.get(state.value, 0))
        yield editions
        slug = {row.id: row.slug for row in open_editions}
        progress = GaugeMetricFamily("newsletter_edition_deliveries",
                                     "Deliveries of the editions sending or paused, by delivery state.",
                                     labels=["edition_id", "publication", "state"])
        seen = {(edition_id, status): n for edition_id, status, n in counts}
        for edition_id in ids:
            for state in DeliveryStatus:
                progress.add_metric([str(edition_id), slug[edition_id], state.value],
                                    seen.get((edition_id, state.value), 0))
        yield progress
        fanout = GaugeMetricFamily("newsletter_edition_fanout_ratio",
                                   "Share of the audience recorded by the fan-out (1: all batches queued).",
                                   labels=["edition_id", "publication"])
        for row in open_editions:
            ratio = 1.0 if row.fanout_done else (row.fanout_cursor / row.max_subscriber_id
                                                 if row.max_subscriber_id else 0.0)
            fanout.add_metric([str(row.id), row.slug], min(ratio, 1.0))
        yield fanout
        yield GaugeMetricFamily("newsletter_batches_in_flight", "Batches claimed by a sender and being sent.",
                                value=in_flight or 0)
        reports = GaugeMetricFamily("newsletter_bounce_reports_waiting",
                                    "Bounce reports not processed yet (received) or that failed.", labels=["status"])
        for status in (ReportStatus.RECEIVED, ReportStatus.FAILED):
            reports.add_metric([status.value], waiting.get(status.value, 0))
        yield reports
        # Counted on the feed rows by whichever process polled (a worker, `newsletter run`).
        yield CounterMetricFamily("newsletter_feed_polls", "Feed polls made (every process).", value=polls)
        yield CounterMetricFamily("newsletter_feed_poll_errors", "Feed polls that failed (every process).",
                                  value=errors)
        yield GaugeMetricFamily("newsletter_feeds_failing", "Active feeds whose last poll failed.", value=failing)
        raised = CounterMetricFamily("newsletter_alerts", "Alerts raised to the operators, by kind.", labels=["kind"])
        for kind in AlertKind:
            raised.add_metric([kind.value], alerts.get(kind.value, 0))
        yield raised

    def _broker(self) -> Iterator[Metric]:
        with self.redis.pipeline(transaction=False) as pipe:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(self.queue + suffix)
            depth = sum(pipe.execute())
        yield _depth(self.queue, depth)


def _depth(queue: str, depth: int) -> Metric:
    family = GaugeMetricFamily("newsletter_queue_depth", "Tasks waiting in the broker's queue.", labels=["queue"])
    family.add_metric([queue], depth)
    return family
