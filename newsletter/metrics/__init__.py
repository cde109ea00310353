"""Prometheus metrics: the counters and the histogram that the code moves.

| metric                                   | moved where                                         |
|------------------------------------------|-----------------------------------------------------|
| newsletter_messages_sent_total           | delivery/batch.py, once per message the relay took  |
| newsletter_send_seconds (histogram)      | delivery/batch.py, around backend.send              |
| newsletter_messages_failed_total{class}  | delivery/outcomes.py, a delivery failed, by class   |
| newsletter_messages_retried_total        | delivery/outcomes.py, another attempt scheduled     |
| newsletter_bounces_total{kind,source}    | outcomes.py (source=smtp), bounces/process.py       |
| newsletter_complaints_total              | bounces/process.py                                  |
| newsletter_bounce_reports_total{source}  | bounces/intake.py, a new report stored              |
| newsletter_signups_total                 | subscribers/signup.py, a sign-up recorded           |
| newsletter_confirmations_total           | subscribers/signup.py, a subscription confirmed     |

Gauges that describe the database and the broker (editions by state, progress,
batches in flight, queue depth) are computed when scraped: web/metrics_state.py. So
are the feeds' counters (newsletter_feed_polls_total, newsletter_feed_poll_errors_total,
counted on each feed row by whichever process polled) and the alerts
(newsletter_alerts_total{kind}): a web's /metrics tells them truly even when workers
poll and nobody scrapes the workers.

Multiprocess mode: Celery's prefork children each count in their own files under a
directory (prometheus_client's PROMETHEUS_MULTIPROC_DIR, set from
NEWSLETTER_METRICS_DIR), which is chosen when prometheus_client is imported, so it is
put into the environment here, before that import. The metrics themselves are made
on first use, so that a worker can clear the directory at start before any process
has opened a file in it (metrics/expose.py).

The hot path costs one counter increment and one histogram observation per message
(bench/metrics_cost.py measures it).
"""
from __future__ import annotations

import os
from pathlib import Path


def _multiprocess_dir_into_environment() -> str:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("NEWSLETTER_METRICS_DIR", "")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory


MULTIPROCESS_DIR = _multiprocess_dir_into_environment()

from prometheus_client import Counter, Histogram  # noqa: E402 - after the environment is set

# Relay answers on loopback take ~0.1 ms, over a network 1-50 ms, a slow relay seconds.
SEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Metrics:
    def __init__(self) -> None:
        self.sent = Counter("newsletter_messages_sent", "Messages the relay accepted.")
        self.send_seconds = Histogram("newsletter_send_seconds", "Time to hand one message to the relay.",
                                      buckets=SEND_BUCKETS)
        self.failed = Counter("newsletter_messages_failed", "Deliveries that failed for good, by failure class.",
                              ["failure_class"])
        self.retried = Counter("newsletter_messages_retried", "Messages scheduled for another attempt.")
        self.bounces = Counter("newsletter_bounces", "Bounces: hard, uncertain, soft or policy; while sending (smtp) "
                               "or reported later (report).", ["kind", "source"])
        self.complaints = Counter("newsletter_complaints", "Complaints (ARF abuse reports) processed.")
        self.reports = Counter("newsletter_bounce_reports", "Bounce and complaint reports stored, by source.",
                               ["source"])
        self.signups = Counter("newsletter_signups", "Sign-up requests processed, whatever the address's state.")
        self.confirmations = Counter("newsletter_confirmations", "Subscriptions confirmed.")


_metrics: _Metrics | None = None


def get() -> _Metrics:
    """The metrics of this process, made on first use."""
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
    return _metrics


def message_sent(seconds: float) -> None:
    """The hot path: one increment, one observation."""
    m = _metrics or get()
    m.sent.inc()
    m.send_seconds.observe(seconds)


def message_not_sent(failure_class: str, retried: bool) -> None:
    """A refusal or an error: another attempt scheduled (retried), or the delivery failed."""
    m = get()
    if retried:
        m.retried.inc()
    else:
        m.failed.labels(failure_class).inc()
    if failure_class == "recipient_refused":
        m.bounces.labels("hard", "smtp").inc()


def bounced(kind: str, source: str) -> None:
    get().bounces.labels(kind, source).inc()


def complained() -> None:
    get().complaints.inc()


def bounce_report_received(source: str) -> None:
    get().reports.labels(source).inc()


def signed_up() -> None:
    get().signups.inc()


def confirmed() -> None:
    get().confirmations.inc()

