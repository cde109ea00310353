"""Sliding-window rate limits: messages a second, overall and per recipient domain.

With Redis configured the windows live in Redis and are shared by every worker on
every machine; without it they are kept in the process (the embedded default).
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from typing import Protocol

WINDOW = 1.0  # seconds

# KEYS: window keys; ARGV: unused, window (ms), member, then one limit per key.
# The clock is Redis's own, so workers on machines with skewed clocks agree.
# Adds the member to every window if all have room; otherwise returns the wait in ms.
_LUA = """
local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2]); local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local limit = tonumber(ARGV[3 + i])
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window * 2)
end
return 0
"""


class Limiter(Protocol):
    def wait(self, domain: str) -> None: ...


class NoLimit:
    def wait(self, domain: str) -> None:
        return None


class LocalLimiter:
    """In this process. The clock and the sleep are injectable (tests pass a fake pair)."""

    def __init__(self, per_second: float, per_domain: float = 0, clock=time.monotonic, sleep=time.sleep):
        self.per_second, self.per_domain = per_second, per_domain
        self.clock, self.sleep = clock, sleep
        self._all: deque[float] = deque()
        self._domains: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait(self, domain: str) -> None:
        while True:
            with self._lock:
                now = self.clock()
                windows = [(self._all, self.per_second)] if self.per_second else []
                if self.per_domain:
                    windows.append((self._domains[domain], self.per_domain))
                delay = 0.0
                for q, limit in windows:
                    while q and q[0] <= now - WINDOW:
                        q.popleft()
                    if len(q) >= limit:
                        delay = max(delay, q[0] + WINDOW - now)
                if delay <= 0:
                    for q, _ in windows:
                        q.append(now)
                    return
            self.sleep(delay)


class RedisLimiter:
    """Shared by all workers: one atomic script call per message."""

    def __init__(self, client, per_second: float, per_domain: float = 0, prefix: str = "nl:rate",
                 window: float = WINDOW):
        """At most per_second * window messages in any `window` seconds (per domain likewise)."""
        self.client, self.per_second, self.per_domain = client, per_second, per_domain
        self.prefix, self.window = prefix, window
        self._script = client.register_script(_LUA)

    def try_acquire(self, domain: str) -> float:
        """Take a slot if every window has room and return 0; else the seconds to wait."""
        keys, limits = [], []
        if self.per_second:
            keys.append(f"{self.prefix}:all")
            limits.append(max(int(self.per_second * self.window), 1))
        if self.per_domain:
            keys.append(f"{self.prefix}:domain:{domain.lower()}")
            limits.append(max(int(self.per_domain * self.window), 1))
        if not keys:
            return 0.0
        wait_ms = int(self._script(keys=keys, args=[0, int(self.window * 1000), uuid.uuid4().hex, *limits]))
        return max(wait_ms, 0) / 1000.0

    def wait(self, domain: str) -> None:
        while (delay := self.try_acquire(domain)) > 0:
            time.sleep(delay)


def make_limiter(redis_client, per_second: float, per_domain: float = 0) -> Limiter:
    if not per_second and not per_domain:
        return NoLimit()
    if redis_client is not None:
        return RedisLimiter(redis_client, per_second, per_domain)
    return LocalLimiter(per_second, per_domain)
