"""Wiring: from settings to an engine (migrated), a delivery backend, a rate limiter,
sign-up counters, and the dispatcher that runs jobs inline or hands them to workers."""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Protocol

from sqlalchemy import Engine

from newsletter.config import Settings
from newsletter.db import get_engine
from newsletter.limits import Counters
from newsletter.schema import migrate
from newsletter.subscribers.signup import SignupRequest
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


class Dispatcher(Protocol):
    """Starts work, inline or on workers. Every caller goes through these methods."""

    def deliver_edition(self, edition_id: int) -> str: ...
    def send_confirmation(self, subscription_id: int) -> None: ...
    def send_welcome(self, subscription_id: int) -> None: ...
    def send_address_change(self, change_id: int) -> None: ...
    def process_signup(self, request: SignupRequest) -> None: ...


def dispatcher(settings: Settings) -> Dispatcher:
    """Inline without a broker; with one, the Celery adapter from workers/ (loaded by name,
    so that this package never imports Celery itself)."""
    if not settings.broker_url:
        from newsletter.jobs import InlineDispatcher

        return InlineDispatcher(settings)
    module = importlib.import_module("workers.dispatch")
    return module.CeleryDispatcher(settings)
