"""Fixed-window counters for sign-up: per client address and per email address.

Kept in Redis when configured (shared by every web process), else in this process.
"""
from __future__ import annotations

import threading
import time


class Counters:
    def __init__(self, redis_client=None, prefix: str = "nl:signup"):
        self.redis, self.prefix = redis_client, prefix
        self._local: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: int) -> bool:
        """Count one event; True while the count in this window is within `limit`."""
        if self.redis is not None:
            full = f"{self.prefix}:{key}:{int(time.time() // window)}"
            pipe = self.redis.pipeline()
            pipe.incr(full)
            pipe.expire(full, window * 2)
            count = pipe.execute()[0]
            return count <= limit
        with self._lock:
            start, count = self._local.get(key, (0.0, 0))
            now = time.monotonic()
            if now - start >= window:
                start, count = now, 0
            self._local[key] = (start, count + 1)
            return count + 1 <= limit
