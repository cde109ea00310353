"""Which batch tasks of an edition are waiting in the broker: so that work nobody will do
is noticed in seconds, not after the visibility timeout.

The Celery adapter notes each batch task it hands to the broker (and each retry) in a
sorted set per edition in the broker's own Redis, scored by when the task is due, and
crosses it off when the task starts; the task's claim (claims.py) speaks for it from
then on. The notes live and die with the broker's queue: a Redis that is flushed or
restarted empty loses both at once. A note older than the visibility timeout is
ignored (its task was lost, or redelivered long ago).

The sweeper asks `count`: an edition with work that is due, no live claim and no task
waiting is recovering, and its work is handed out at once (sweeper.py). Without a
Redis broker nothing can be known (`count` is None) and the sweeper keeps to the
visibility timeout. `editions status` says "no work queued: recovering" from the same.
"""
from __future__ import annotations

import logging
import time

from newsletter import runtime

log = logging.getLogger(__name__)


def _key(edition_id: int) -> str:
    return f"nl:queued:{int(edition_id)}"


class QueuedWork:
    def __init__(self, redis, horizon_seconds: float):
        self.redis, self.horizon = redis, float(horizon_seconds)

    def add(self, edition_id: int, task_id: str, due_in: float = 0.0) -> None:
        """Before the task is published: a note that outlives a failed publish is stale
        after the horizon, a task published without its note would be taken for lost."""
        due = time.time() + max(due_in or 0.0, 0.0)
        try:
            pipe = self.redis.pipeline()
            pipe.zadd(_key(edition_id), {task_id: due})
            pipe.expire(_key(edition_id), int(self.horizon + max(due_in or 0.0, 0.0)) + 60)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - the broker is down too: the publish says so
            log.debug("queued work: noting %s failed: %s", task_id, exc)

    def started(self, edition_id: int, task_id: str) -> None:
        try:
            self.redis.zrem(_key(edition_id), task_id)
        except Exception as exc:  # noqa: BLE001 - a stale note only delays a sweep, never sends twice
            log.debug("queued work: crossing off %s failed: %s", task_id, exc)

    def count(self, edition_id: int) -> int | None:
        """Batch tasks of the edition waiting in the broker; None when it cannot be told."""
        try:
            self.redis.zremrangebyscore(_key(edition_id), "-inf", time.time() - self.horizon)
            return int(self.redis.zcard(_key(edition_id)))
        except Exception as exc:  # noqa: BLE001 - unknown: the sweeper keeps to the visibility timeout
            log.debug("queued work: count for edition %s failed: %s", edition_id, exc)
            return None


def for_settings(settings) -> QueuedWork | None:
    """The notes for a Redis broker (in the broker's own Redis); None for any other."""
    if not settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
        return None
    return QueuedWork(runtime.redis_at(settings.broker_url), settings.visibility_timeout)
