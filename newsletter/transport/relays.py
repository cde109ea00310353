"""A pool of SMTP relays: which relay takes each message, and what happens when one is down.

Routing. A relay that names domains serves them (and their subdomains): the big mailbox
providers through one relay, say. Relays that name none serve the rest. A message goes
through a relay serving its recipient's domain that is up and has a connection free;
among several, the one this sender is already connected to, else the next in this process's
rotation (which starts at a random place, so that workers do not all begin with the same
relay): successive batches take turns, so the load spreads even over two batches, where a
random pick per batch left one relay idle now and then. When no relay serving the domain is up, any relay that is
up takes it: the domains say where mail should go, not where it may never go.

A relay down. A relay that cannot take mail (failures.unavailable: no connection, no
greeting, 421, a 4xx to MAIL FROM, a refused login) did not take the message: the same
message goes at once through another relay, and no attempt is charged to anyone. The
relay is left alone for NEWSLETTER_RELAY_DOWN_RETRY_SECONDS, then tried again; every
sender learns of it at the start of its batch (`known_down`, from delivery/outage.py).
Only when every relay has refused in the same send does the pool say RELAY_DOWN, with
the last relay's answer: the batch gives its rows back and the edition waits
(delivery/outage.py), exactly as with one relay. A pool of one relay is today's relay.

Caps. `max_connections` counts a relay's open connections across every worker (a slot
in Redis, or in this process without it): a relay whose slots are taken is passed over
like one that is down, without being recorded as down; `rate_per_second` is that relay's
own sliding window (ratelimit.py), besides the overall and per-domain limits.

The pool reports what it learnt (`events`: a relay found down, a relay back) for the
batch to record, and which relay took the last message (`last_relay`): the sent mark
stores it, and `editions status` shows the split.
"""
from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from dataclasses import dataclass

from newsletter.config import RelaySettings
from newsletter.transport.backends import SMTPBackend
from newsletter.transport.failures import FailureClass, SendFailure, Stage
from newsletter.transport.ratelimit import Limiter, LocalLimiter, NoLimit, RedisLimiter

SLOT_SECONDS = 120.0  # a slot not renewed this long (its worker died) is free again

_turns = itertools.count(random.randrange(1 << 16))  # this process's rotation over relays


def take_turns(relays: list[Relay]) -> Relay:
    """The next relay in this process's rotation."""
    return relays[next(_turns) % len(relays)]


@dataclass(frozen=True)
class RelayEvent:
    relay: str
    down: bool  # True: found down (with its answer); False: it took a message again
    reason: str = ""


def serves(relay: RelaySettings, domain: str) -> bool:
    """Does the relay name this domain (or a parent of it)?"""
    return any(domain == d or domain.endswith("." + d) for d in relay.domains)


def _route(relays: list[Relay], domain: str) -> list[Relay]:
    """The relays that serve the domain, else those for the rest, else all of them."""
    return ([r for r in relays if serves(r.spec, domain)] or [r for r in relays if not r.spec.domains]
            or relays)


# KEYS: the relay's slot set; ARGV: now is Redis's, slot ttl (ms), member, cap.
_TAKE = """
local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
  return 1
end
return 0
"""


class Slots:
    """At most `cap` connections to one relay at a time: shared through Redis, else in this
    process. Each holder renews its slot as it sends; a dead holder's lapses."""

    _local: dict[str, set[str]] = {}
    _lock = threading.Lock()

    def __init__(self, name: str, cap: int, redis_client=None, ttl: float = SLOT_SECONDS):
        self.name, self.cap, self.ttl = name, cap, ttl
        self.member = uuid.uuid4().hex
        self.redis = redis_client
        self.key = f"nl:relay:{name}:connections"
        self._script = redis_client.register_script(_TAKE) if redis_client is not None else None
        self.held = False
        self._renewed = 0.0

    def take(self) -> bool:
        """Take (or renew) this holder's slot; False when the relay's are all taken."""
        now = time.monotonic()
        if self.held and now - self._renewed < self.ttl / 4:
            return True
        if self._script is not None:
            self.held = bool(self._script(keys=[self.key], args=[int(self.ttl * 1000), self.member, self.cap]))
        else:
            with self._lock:
                holders = self._local.setdefault(self.name, set())
                self.held = self.member in holders or len(holders) < self.cap
                if self.held:
                    holders.add(self.member)
        self._renewed = now
        return self.held

    def give_back(self) -> None:
        if not self.held:
            return
        self.held = False
        if self.redis is not None:
            self.redis.zrem(self.key, self.member)
        else:
            with self._lock:
                self._local.get(self.name, set()).discard(self.member)


class Relay:
    """One relay of the pool as one sender sees it: its connection, limits and state."""

    def __init__(self, spec: RelaySettings, backend, limiter: Limiter, slots: Slots | None = None):
        self.spec, self.name, self.backend, self.limiter, self.slots = spec, spec.name, backend, limiter, slots
        self.down_until = 0.0  # monotonic: left alone until then
        self.was_down = False  # known down (by us or another sender) when last seen

    def free(self) -> bool:
        return self.slots is None or self.slots.take()

    def close(self) -> None:
        try:
            self.backend.close()
        finally:
            if self.slots is not None:
                self.slots.give_back()


class RelayPool:
    """A delivery backend over several relays (the Backend protocol of backends.py)."""

    def __init__(self, relays: list[Relay], retry_seconds: float, slot_wait: float = 30.0, clock=time.monotonic,
                 sleep=time.sleep, pick=None):
        if not relays:
            raise ValueError("a pool needs at least one relay")
        self.relays, self.retry_seconds, self.slot_wait = relays, retry_seconds, slot_wait
        self.clock, self.sleep, self.pick = clock, sleep, pick or take_turns
        self.last_relay = ""
        self.events: list[RelayEvent] = []
        self._open: set[str] = set()  # relays this sender has sent through since it opened

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.relays]

    def known_down(self, down_for: dict[str, float]) -> None:
        """Relays other senders found down: {name: seconds left before trying it again}."""
        now = self.clock()
        for relay in self.relays:
            if relay.name in down_for:
                relay.was_down = True
                relay.down_until = max(relay.down_until, now + down_for[relay.name])

    def open(self) -> None:
        """Connections are opened by the first message that needs each."""

    def send(self, sender: str, recipient: str, data: bytes, name_hint: str,
             before_end=None, while_waiting=None, dot_safe: bool = False, while_envelope=None) -> None:
        domain = recipient.rpartition("@")[2].lower()
        tried: list[Relay] = []
        last: SendFailure | None = None
        waited_since = None
        while True:
            relay, capped = self._choose(domain, tried)
            if relay is None:
                if not capped:
                    break
                waited_since = waited_since if waited_since is not None else self.clock()
                if self.clock() - waited_since > self.slot_wait:
                    break
                self.sleep(0.05)  # the relays that are up are at their connection caps
                continue
            tried.append(relay)
            try:
                relay.limiter.wait(domain)
                relay.backend.send(sender, recipient, data, name_hint, before_end, while_waiting, dot_safe,
                                   while_envelope)
            except SendFailure as failure:
                if failure.failure_class != FailureClass.RELAY_DOWN:
                    self.last_relay = relay.name
                    raise
                self._found_down(relay, failure)
                last = failure
                continue
            self.last_relay = relay.name
            self._open.add(relay.name)
            if relay.was_down:
                relay.was_down, relay.down_until = False, 0.0
                self.events.append(RelayEvent(relay.name, False))
            return
        if last is None:  # nothing refused: the relays that are up stayed at their caps
            raise SendFailure(FailureClass.RELAY_DOWN, "every relay is at its connection cap: "
                              + ", ".join(f"{r.name} ({r.spec.max_connections})" for r in self.relays),
                              stage=Stage.CONNECT)
        if len(self.relays) == 1:
            raise last
        raise SendFailure(FailureClass.RELAY_DOWN, f"every relay is unavailable; {tried[-1].name}: {last}",
                          stage=Stage.CONNECT) from last

    def _choose(self, domain: str, tried: list[Relay]) -> tuple[Relay | None, bool]:
        """(relay, capped): among the relays that are up, one the routing gives the domain,
        with a connection free; when every relay is down, one not yet tried in this send,
        in the routing's order (a probe). `capped`: the relays the routing gives are up
        and at their connection caps: wait for one of them, never bypass them."""
        now = self.clock()
        untried = [r for r in self.relays if r not in tried]
        up = [r for r in untried if r.down_until <= now]
        if up:
            routed = _route(up, domain)
            connected = [r for r in routed if r.name in self._open]
            others = [r for r in routed if r.name not in self._open]
            if len(others) > 1:
                picked = self.pick(others)
                others = [picked] + [r for r in others if r is not picked]
            for relay in connected + others:  # a slot is taken by the relay returned only
                if relay.free():
                    return relay, False
            return None, True
        routed = _route(untried, domain)
        for relay in routed + [r for r in untried if r not in routed]:
            if relay.free():
                return relay, False
        return None, bool(untried)

    def _found_down(self, relay: Relay, failure: SendFailure) -> None:
        relay.backend.reset()
        self._open.discard(relay.name)
        if relay.slots is not None:
            relay.slots.give_back()
        relay.down_until = self.clock() + self.retry_seconds
        relay.was_down = True
        self.events.append(RelayEvent(relay.name, True, str(failure)))

    def take_events(self) -> list[RelayEvent]:
        events, self.events = self.events, []
        return events

    def reset(self) -> None:
        """After an unexpected error: the relay that had it starts clean (the others are fine)."""
        for relay in self.relays:
            if relay.name == self.last_relay:
                relay.backend.reset()
                self._open.discard(relay.name)

    def close(self) -> None:
        for relay in self.relays:
            try:
                relay.close()
            except Exception:  # noqa: BLE001 - one relay's QUIT must not keep the others' open
                pass
        self._open.clear()


def pool_from_settings(settings, redis_client=None) -> RelayPool:
    """The pool the settings name (NEWSLETTER_RELAYS, or the one NEWSLETTER_SMTP_* relay)."""
    relays = []
    for spec in settings.relay_pool:
        backend = SMTPBackend(spec.host, spec.port, starttls=spec.starttls, username=spec.username,
                              password=spec.password, timeout=settings.smtp_timeout,
                              ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
        slots = Slots(spec.name, spec.max_connections, redis_client) if spec.max_connections else None
        relays.append(Relay(spec, backend, _limiter(spec, redis_client), slots))
    return RelayPool(relays, settings.relay_down_retry_seconds, slot_wait=settings.smtp_timeout)


_local_limiters: dict[tuple[str, float], LocalLimiter] = {}


def _limiter(spec: RelaySettings, redis_client) -> Limiter:
    """The relay's own messages a second: in Redis for every worker, else this process's
    (kept across batches: a pool is made for each)."""
    if not spec.rate_per_second:
        return NoLimit()
    if redis_client is not None:
        return RedisLimiter(redis_client, spec.rate_per_second, prefix=f"nl:rate:relay:{spec.name}")
    return _local_limiters.setdefault((spec.name, spec.rate_per_second), LocalLimiter(spec.rate_per_second))
