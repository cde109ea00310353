"""Serving the metrics: the web's /metrics, and the Celery worker's own small server.

Decision: each Celery worker's main process serves its pool's metrics on
NEWSLETTER_METRICS_PORT, reading the multiprocess files of its children from
NEWSLETTER_METRICS_DIR (cleared when the worker starts, so give each worker its own
directory). The web serves its own process's metrics plus the scrape-time gauges
(web/metrics_state.py) at /metrics. Prometheus scrapes both; the worker's figures stay
on the host that made them, and nothing depends on a volume shared between
containers. (A web process that has NEWSLETTER_METRICS_DIR set reads that directory
instead, which covers a web run with several uvicorn processes.)
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess, start_http_server
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from newsletter import metrics
from newsletter.config import Settings

log = logging.getLogger(__name__)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def process_registry() -> CollectorRegistry:
    """This process's metrics, or in multiprocess mode those of every process of the directory."""
    if not metrics.MULTIPROCESS_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def exposition(*collectors) -> bytes:
    """The text format: the process (or pool) metrics, then the given collectors' gauges."""
    metrics.get()  # every counter shows, at 0, from the first scrape on
    extra = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        extra.register(collector)
    return generate_latest(process_registry()) + generate_latest(extra)


def clear_directory() -> None:
    """At a worker's start: counts of a previous run would be added to this run's."""
    if metrics.MULTIPROCESS_DIR:
        for path in Path(metrics.MULTIPROCESS_DIR).glob("*.db"):
            path.unlink(missing_ok=True)


def start_worker_server(settings: Settings):
    """The worker's main process serves its pool's metrics; None when no port is set."""
    if not settings.metrics_port:
        return None
    if not metrics.MULTIPROCESS_DIR:
        log.warning("NEWSLETTER_METRICS_PORT is set without NEWSLETTER_METRICS_DIR: only this process's metrics "
                    "are served, not those of its pool's processes")
    clear_directory()
    try:
        server, _thread = start_http_server(settings.metrics_port, addr=settings.metrics_host,
                                            registry=process_registry())
    except OSError as exc:  # the worker works without its metrics; say so loudly
        log.error("metrics server on %s:%s did not start: %s", settings.metrics_host, settings.metrics_port, exc)
        return None
    log.info("metrics on http://%s:%s/metrics", settings.metrics_host, settings.metrics_port)
    return server


def process_exited(pid: int | None = None) -> None:
    """A pool process ended: its live gauges (if any) stop counting."""
    if metrics.MULTIPROCESS_DIR:
        multiprocess.mark_process_dead(pid or os.getpid())
