"""Fixed-window counters: sign-ups per client address, confirmation emails per address.

Kept in Redis when configured (shared by every process), else in this process. Keys
that name a person hold a keyed hash of the address, never the address itself.
"""
from __future__ import annotations

import hashlib
import hmac
import threading
import time


def person_key(secret: str, email: str) -> str:
    """The counter key for an email address: stable, unreadable, erasable by recomputing."""
    return hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()[:32]


class Counters:
    def __init__(self, redis_client=None, prefix: str = "nl:signup", clock=time.time):
        self.redis, self.prefix, self.clock = redis_client, prefix, clock
        self._local: dict[str, tuple[int, int]] = {}  # key -> (window index, count)
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: int) -> bool:
        """Count one event; True while the count in this window is within `limit`."""
        if self.redis is not None:
            full = f"{self.prefix}:{key}:{int(self.clock() // window)}"
            pipe = self.redis.pipeline()
            pipe.incr(full)
            pipe.expire(full, window * 2)
            count = pipe.execute()[0]
            return count <= limit
        with self._lock:  # the same fixed windows as in Redis
            index = int(self.clock() // window)
            start, count = self._local.get(key, (index, 0))
            if start != index:
                count = 0
            self._local[key] = (index, count + 1)
            return count + 1 <= limit

    def give_back(self, key: str, window: int, hit_at: float) -> None:
        """Take back a hit made at `hit_at` (the clock's reading before `hit`): a sign-in
        that succeeded counts as no attempt, and counting first then giving back keeps
        parallel guesses inside the limit. A window that has ended since is left alone,
        so a give-back never spends another window's count."""
        index = int(hit_at // window)
        if int(self.clock() // window) != index:
            return
        if self.redis is not None:
            full = f"{self.prefix}:{key}:{index}"
            if self.redis.decr(full) < 0:
                self.redis.set(full, 0, ex=window * 2)
            return
        with self._lock:
            start, count = self._local.get(key, (index, 0))
            if start == index and count:
                self._local[key] = (index, count - 1)

    def forget(self, key: str) -> None:
        """Erase every window of a key (GDPR erase of the person it names)."""
        if self.redis is not None:
            for name in self.redis.scan_iter(match=f"{self.prefix}:{key}:*"):
                self.redis.delete(name)
        with self._lock:
            self._local.pop(key, None)
