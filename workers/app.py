"""The Celery application, configured from the project's settings.

Reliability settings, and why:
- acks_late + prefetch 1: a task is acknowledged only when it has finished, and each
  process holds one task at a time; a worker killed mid-task leaves its task in the
  broker, which hands it out again (after the visibility timeout on Redis).
- task_reject_on_worker_lost: a child process killed by a signal requeues its task too.
- JSON only: tasks take ids and plain values, never pickled objects.
"""
from __future__ import annotations

from datetime import timedelta

from celery import Celery
from celery.schedules import crontab
from celery.signals import setup_logging, worker_init, worker_process_shutdown

from newsletter.config import get_settings
from newsletter.logs import configure_logging

settings = get_settings()

app = Celery("newsletter", include=["newsletter.workers.tasks"])
app.conf.update(
    broker_url=settings.broker_url or "memory://",
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_transport_options={"visibility_timeout": settings.visibility_timeout},
    broker_connection_retry_on_startup=True,
    task_default_queue="newsletter",
    timezone="UTC",
    beat_schedule={
        # Every minute: is an edition due anywhere? Idempotent in the database.
        "dispatch-due-editions": {"task": "newsletter.dispatch_due",
                                  "schedule": timedelta(seconds=settings.dispatch_interval_seconds)},
        # Re-hand work that nobody is doing (lost tasks, dead workers, due retries).
        "sweep-sending-editions": {"task": "newsletter.sweep",
                                   "schedule": timedelta(seconds=settings.sweep_interval_seconds)},
        # Bounces and complaints that arrived later: the configured mailbox, and posted reports
        # whose processing did not run.
        "process-bounces": {"task": "newsletter.process_bounces",
                            "schedule": timedelta(seconds=settings.bounce_poll_seconds)},
        # Which feeds are due (each has its own interval); one poll_feed task per feed.
        "poll-due-feeds": {"task": "newsletter.poll_feeds",
                           "schedule": timedelta(seconds=settings.feed_check_seconds)},
        # Outgoing webhooks that are due (new ones, and retries whose back-off is over).
        "deliver-due-webhooks": {"task": "newsletter.webhooks_due",
                                 "schedule": timedelta(seconds=settings.webhook_check_seconds)},
        # Old delivery rows rolled up, old raw reports, audit entries and outbox files removed:
        # daily, at 03:30 UTC, before most newsrooms' morning editions; batches keep it gentle.
        "retention": {"task": "newsletter.retention", "schedule": crontab(hour=3, minute=30)},
    },
)


# The default app in every thread: the web sends tasks from its threadpool (background
# tasks after an answer), and a shared task looked up in a thread that did not make this
# app would fall back to Celery's unconfigured default (amqp://localhost): a sign-up's
# task would go to whatever listens there, or nowhere.
app.set_default()


@setup_logging.connect
def _configure_logging(**_kwargs) -> None:
    """Worker and beat log like the web: one line per event, tokens redacted (a receiver
    here tells Celery to leave the logging setup to us)."""
    configure_logging(get_settings())


@worker_init.connect
def _serve_metrics(**_kwargs) -> None:
    """The worker's main process serves its pool's metrics (newsletter/metrics/expose.py)."""
    from newsletter.metrics import expose

    expose.start_worker_server(get_settings())


@worker_process_shutdown.connect
def _pool_process_gone(pid=None, **_kwargs) -> None:
    from newsletter.metrics import expose

    expose.process_exited(pid)
