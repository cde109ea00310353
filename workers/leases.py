"""A Redis lease, so that one drive of an edition runs at a time (its fan-out). Who sends a
delivery row is decided by claims in the database (newsletter/delivery/claims.py), not here."""
from __future__ import annotations

import time
import uuid

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0")


class Lease:
    def __init__(self, redis, key: str, seconds: int, renew_every: float):
        self.redis, self.key, self.ms, self.renew_every = redis, key, seconds * 1000, renew_every
        self.owner = uuid.uuid4().hex
        self._renewed = 0.0

    def acquire(self) -> bool:
        if self.redis is None:
            return True
        return bool(self.redis.set(self.key, self.owner, nx=True, px=self.ms))

    def renew(self) -> None:
        """Called between messages; talks to Redis at most every `renew_every` seconds."""
        if self.redis is None or time.monotonic() - self._renewed < self.renew_every:
            return
        self._renewed = time.monotonic()
        self.redis.eval(_RENEW, 1, self.key, self.owner, self.ms)

    def release(self) -> None:
        if self.redis is not None:
            self.redis.eval(_RELEASE, 1, self.key, self.owner)
