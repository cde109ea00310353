"""Sign-in limits that slow an attacker without locking the owner out.

Failed attempts are counted under three keys, and each key past its free attempts makes
the next attempt wait, doubling with each further failure up to a ceiling (back-off, never
a lock that the right password cannot open after a while):

- the account from this client (`pair`): someone guessing one account from one place;
- the client, across accounts (`client`): someone trying many accounts from one place;
- the account from every client together (`account`): guessing spread over many
  places. This one holds only for clients the account has not signed in from before
  (`known`: a successful sign-in from that address, or a browser carrying the account's
  known-browser cookie), so that the owner, at their usual desk, is never made to wait
  by someone else's failures. Crossing its threshold alerts the owner once per window.

Counts live in Redis when configured (shared by every web process), else in this
process; keys that name an account hold a keyed hash of its address. A failure is
counted before the password is checked, so parallel guesses cannot all slip in under the
limit; a success gives its count back (the pair starts afresh).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from newsletter.config import Settings


@dataclass(frozen=True)
class Rule:
    free: int  # failures before any wait
    base: float  # the first wait, doubled with each further failure
    ceiling: float  # the longest wait
    window: int  # seconds without a failure after which the key is forgotten

    def wait(self, count: int, last: float, now: float) -> float:
        if count < self.free:
            return 0.0
        delay = min(self.ceiling, self.base * 2 ** min(count - self.free, 30))
        return max(0.0, last + delay - now)


class Store:
    """(count, time of the last counted attempt) per key, with an expiry."""

    def __init__(self, redis_client=None, prefix: str = "nl:signin", clock=time.time):
        self.redis, self.prefix, self.clock = redis_client, prefix, clock
        self._local: dict[str, tuple[int, float, float]] = {}  # key -> (count, last, expires)
        self._lock = threading.Lock()

    def _name(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def get(self, key: str) -> tuple[int, float]:
        if self.redis is not None:
            count, last = self.redis.hmget(self._name(key), "c", "l")
            return int(count or 0), float(last or 0)
        with self._lock:
            count, last, expires = self._local.get(key, (0, 0.0, 0.0))
            return (count, last) if expires > self.clock() else (0, 0.0)

    def add(self, key: str, delta: int, window: int) -> int:
        """Adds to the count (at least 0), stamps the time; returns the new count."""
        now = self.clock()
        if self.redis is not None:
            name = self._name(key)
            pipe = self.redis.pipeline()
            pipe.hincrby(name, "c", delta)
            if delta > 0:
                pipe.hset(name, "l", now)
            pipe.expire(name, window)
            count = pipe.execute()[0]
            if count < 0:
                self.redis.hset(name, "c", 0)
            return max(count, 0)
        with self._lock:
            count, last, expires = self._local.get(key, (0, 0.0, 0.0))
            if expires <= now:
                count, last = 0, 0.0
            count = max(0, count + delta)
            self._local[key] = (count, now if delta > 0 else last, now + window)
            return count

    def forget(self, key: str) -> None:
        if self.redis is not None:
            self.redis.delete(self._name(key))
        with self._lock:
            self._local.pop(key, None)

    def mark(self, key: str, seconds: int) -> None:
        """Remember a fact (a known client) for a while."""
        self.add(key, 1, seconds)

    def marked(self, key: str) -> bool:
        return self.get(key)[0] > 0


@dataclass
class Verdict:
    wait: float  # seconds before another attempt is taken (0: go ahead, and it was counted)
    alert: bool = False  # this attempt made the account cross its threshold: tell the owner


class SignInLimits:
    def __init__(self, store: Store, settings: Settings):
        window, base, ceiling = (settings.login_limit_window_seconds, settings.login_backoff_base_seconds,
                                 settings.login_backoff_max_seconds)
        self.store, self.known_for = store, settings.login_known_client_days * 86400
        self.pair = Rule(settings.login_limit_per_account, base, ceiling, window)
        self.client = Rule(settings.login_limit_per_client, base, ceiling, window)
        self.account = Rule(settings.login_limit_per_account_all_clients, base, ceiling, window)
        self.code = Rule(settings.login_limit_per_account, base, ceiling, window)  # wrong second-factor codes

    def _keys(self, account: str, client: str) -> list[tuple[str, Rule]]:
        return [(f"pair:{account}:{client}", self.pair), (f"ip:{client}", self.client),
                (f"acct:{account}", self.account)]

    def known(self, account: str, client: str) -> bool:
        return self.store.marked(f"known:{account}:{client}")

    def attempt(self, account: str, client: str, known: bool) -> Verdict:
        """Before a password is checked: how long to wait, or count the attempt."""
        now, wait = self.store.clock(), 0.0
        for key, rule in self._keys(account, client):
            if rule is self.account and known:
                continue  # the owner's usual client: others' failures never hold it back
            wait = max(wait, rule.wait(*self.store.get(key), now))
        if wait > 0:
            return Verdict(wait)
        counts = [self.store.add(key, 1, rule.window) for key, rule in self._keys(account, client)]
        return Verdict(0.0, alert=counts[2] == self.account.free)

    def succeeded(self, account: str, client: str) -> None:
        pair, client_key, account_key = (key for key, _ in self._keys(account, client))
        self.store.forget(pair)
        self.store.add(client_key, -1, self.client.window)
        self.store.add(account_key, -1, self.account.window)
        self.store.mark(f"known:{account}:{client}", self.known_for)

    def code_attempt(self, staff_id: int) -> float:
        """Before a second-factor code is checked: the wait, or 0 and the attempt counted.
        Per account, from anywhere: a million codes cannot be tried from many places."""
        key = f"code:{staff_id}"
        wait = self.code.wait(*self.store.get(key), self.store.clock())
        if not wait:
            self.store.add(key, 1, self.code.window)
        return wait

    def code_succeeded(self, staff_id: int) -> None:
        self.store.forget(f"code:{staff_id}")

    def forget_account(self, account: str) -> None:
        """After an admin resets the account (a new password): its counts start afresh."""
        self.store.forget(f"acct:{account}")
