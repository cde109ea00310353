"""What runs on its own and what the service tells its operators: failure alerts, feed
polling, outgoing webhooks, the dispatcher, retention, metrics and logs.

Part of newsletter.config.Settings (import from there).
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator


class BackgroundSettings(BaseModel):
    """Failure alerts, feeds, outgoing webhooks and the dispatcher (a group of Settings'
    fields)."""

    # Operators are alerted (delivery/alerts.py) when an edition finishes with more failed
    # deliveries than this percentage of the messages attempted.
    alert_failure_percent: float = Field(default=5.0, ge=0, le=100)
    # Feeds (ingest/feeds.py): how often beat (or `newsletter run`) looks for feeds that are
    # due, and what one fetch may take; errors back off up to feed_max_backoff_seconds.
    feed_check_seconds: int = Field(default=60, ge=1, le=3600)
    feed_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    feed_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    feed_max_backoff_seconds: int = Field(default=6 * 3600, ge=60)
    # Outgoing webhooks (webhooks/): how often beat (or `newsletter run`) posts what is due;
    # a failed attempt is retried after base x 2^(attempts - 1) seconds (at most max_backoff),
    # up to max_attempts; a target on a loopback, private or link-local address is refused
    # unless webhooks_allow_private (development and tests).
    webhook_check_seconds: int = Field(default=10, ge=1, le=3600)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_backoff_seconds: int = Field(default=30, ge=1)
    webhook_max_backoff_seconds: int = Field(default=6 * 3600, ge=1)
    webhooks_allow_private: bool = False
    # `newsletter run` (scheduler.py): how often it looks for editions that are due.
    dispatch_interval_seconds: int = Field(default=60, ge=1, le=3600)


class RetentionSettings(BaseModel):
    """How long each kind of record is kept (a group of Settings' fields)."""

    # Retention (newsletter/retention/, `newsletter retention`, daily on beat): days kept.
    # Delivery rows of editions older than this are rolled up into per-edition tallies and
    # removed: 90 days outlives late bounces and complaints (days), a quarter's reporting
    # and an operator's look into a failed edition; after that only the totals are read.
    retention_delivery_days: int = Field(default=90, ge=7, le=36500)
    # Raw bounce reports (their parsed findings stay): long enough for `bounces reprocess
    # --since` to read a season's reports again after a fix in reading them.
    retention_bounce_raw_days: int = Field(default=90, ge=7, le=36500)
    # Staff audit log: two years, what a newsroom's security review usually looks back on.
    retention_audit_days: int = Field(default=730, ge=30, le=36500)
    # Outbox .eml files (the embedded default's "sent mail"): a month to look at what went out.
    retention_outbox_days: int = Field(default=30, ge=1, le=36500)
    # Outgoing webhook deliveries taken or given up, and their attempts: a month of the
    # console's delivery log (pending ones stay until they are over).
    retention_webhook_days: int = Field(default=30, ge=1, le=36500)
    # Rows removed per transaction: short transactions, no long locks.
    retention_batch_rows: int = Field(default=5000, ge=100, le=100_000)


class ObservabilitySettings(BaseModel):
    """Metrics and logs (a group of Settings' fields)."""

    # Metrics (newsletter/metrics/): the web serves /metrics (with a bearer token when
    # metrics_token is set). Celery workers count in prometheus_client's multiprocess files
    # under metrics_dir and the worker's main process serves them on metrics_port (0: off).
    metrics_token: str = ""
    metrics_dir: Path | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)

    # Logs (newsletter/logs.py): one line per event, JSON lines for log collectors.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value):
        return value.upper() if isinstance(value, str) else value
