"""The services a process builds from its settings: an engine (migrated), the Redis
clients, a delivery backend, a rate limiter, sign-up counters. The front doors (the
command line, the web and its API, the Celery tasks) build them here and pass them
down; the in-process runners (jobs.py, scheduler.py) build theirs here too. Nothing in
this module knows about the work itself; which dispatcher runs it is dispatchers.py's."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from newsletter.config import Settings
from newsletter.db import get_engine
from newsletter.limits import Counters
from newsletter.schema import migrate
from newsletter.transport.backends import Backend, backend_from_settings
from newsletter.transport.ratelimit import Limiter, make_limiter


def engine_for(settings: Settings) -> Engine:
    url = settings.effective_database_url
    migrate(url)
    return get_engine(url)


def redis_client(settings: Settings):
    return _redis(settings.effective_redis_url) if settings.effective_redis_url else None


def redis_at(url: str):
    """The client for a Redis named by URL (the broker's own: delivery/queued.py)."""
    return _redis(url)


@lru_cache(maxsize=4)
def _redis(url: str):
    """One client (and connection pool) per process and URL."""
    import redis

    return redis.Redis.from_url(url)


def backend(settings: Settings) -> Backend:
    """The outbox, or the pool of relays (one relay unless NEWSLETTER_RELAYS names several)."""
    if settings.delivery_backend == "smtp":
        from newsletter.transport.relays import pool_from_settings

        return pool_from_settings(settings, redis_client(settings))
    return backend_from_settings(settings)


def limiter(settings: Settings, per_domain: float = 0) -> Limiter:
    return make_limiter(redis_client(settings), settings.rate_limit_per_second, per_domain)


def counters(settings: Settings) -> Counters:
    """Shared through Redis when configured; otherwise the caller keeps its own."""
    return Counters(redis_client(settings))
