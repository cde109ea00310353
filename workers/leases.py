"""A Redis lease, so that one drive of an edition runs at a time (its fan-out): redis-py's
`Lock` (SET NX PX with a token, released and renewed by the token's owner only), with
what a lost lease means to us.

A lease is lost when the drive stalled longer than the lease (a pause of the process, a
Redis that did not answer in time) and it expired, or another drive took it since. The
drive notices at its next renewal, says so in the log, and stops (`LeaseLost`): the
other drive carries on. The guard against a delivery sent twice is not this lease but
the claims of delivery rows in the database (newsletter/delivery/claims.py: a run whose
claim was taken over cannot record, and stops at its next message); the lease only
keeps two fan-outs of one edition from working side by side.
"""
from __future__ import annotations

import logging
import time

from redis.exceptions import LockNotOwnedError

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The lease expired or another holder took it: stop the work it guarded."""


class Lease:
    """`key` held for `seconds`, renewed by `renew()` at most every `renew_every` seconds.
    Without Redis (no broker: one process) it is always held."""

    def __init__(self, redis, key: str, seconds: int, renew_every: float):
        self.key, self.renew_every = key, renew_every
        self._lock = None if redis is None else redis.lock(key, timeout=seconds, blocking=False,
                                                            thread_local=False)
        self._renewed = 0.0

    def acquire(self) -> bool:
        if self._lock is None:
            return True
        if not self._lock.acquire(blocking=False):
            return False
        self._renewed = time.monotonic()
        return True

    def renew(self) -> None:
        """Called between steps of the work; talks to Redis at most every `renew_every`
        seconds. Raises LeaseLost when the lease is no longer ours."""
        if self._lock is None or time.monotonic() - self._renewed < self.renew_every:
            return
        self._renewed = time.monotonic()
        try:
            self._lock.reacquire()  # back to the full lease, if the token is still ours
        except LockNotOwnedError:
            log.warning("lease %s lost (expired or taken over): stopping this work", self.key)
            raise LeaseLost(self.key) from None

    def release(self) -> None:
        if self._lock is None:
            return
        try:
            self._lock.release()
        except LockNotOwnedError:  # already expired or taken: nothing of ours to release
            log.warning("lease %s was no longer held when released", self.key)
