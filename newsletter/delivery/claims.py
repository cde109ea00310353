"""Who sends a delivery row: ownership, not timing.

A batch run holds its rows through a claim: a row of `send_claims` whose token is its
own ("<task id>/<generation>": a task redelivered by the broker, or retried, is a new
generation), and every delivery row it claimed carries that token (`claimed_by`).

The rule:
1. Liveness is the sender's own heartbeat, never its last success. A thread refreshes
   the claim's `heartbeat_at` every quarter lease while the batch runs, whatever the
   sender is doing: composing, waiting for the rate limiter, or waiting a minute and
   more on a silent relay, or waiting for the database to come back. A claim is dead
   when neither its heartbeat nor its rows' `claimed_at` is younger than a lease
   (`NEWSLETTER_LEASE_SECONDS`), and (PostgreSQL) the server has been up for a lease:
   after a restart everyone gets a lease to beat again. Only then may the sweeper or
   another batch take its rows (`dead`, used by `claim` and plan.stale_ranges).
2. Fencing. Every write a sender makes to its rows (the sent mark, the failure record,
   the give-back, a skip) applies only WHERE claimed_by = its token AND status =
   'sending'. A write that finds nothing tells the sender its rows were taken: it stops.
3. A sender goes on to its next MAIL only while its last heartbeat that the database
   confirmed is less than half a lease old (`fresh`). A sweeper elsewhere needs the
   heartbeat a whole lease old to take the rows, so a sender cut off from the database
   (while the sweeper still reaches it) stops before anyone may take its rows over.

What this bounds (the README's guarantee says the same):
- A slow or silent relay, however long: 0 duplicates. The heartbeat goes on, the claim
  stays alive, nobody takes the rows; the relay's own timeout ends the wait.
- A worker killed (SIGKILL, out of memory, power): at most one duplicate per SMTP
  connection open at the kill: the last message it completed, whose mark may not be
  committed (a message is completed only once its predecessor's mark is: completion.py).
  Nobody is missing: the dead claim's rows go back after a lease.
- The database restarted: 0. The batch stops, and waits the outage out in its own
  process with its claim beating (driver.run_batch); a message the relay accepted whose
  mark could not be written is handed to the batch's next run (`Handover`), which marks
  it before it sends anything. If the worker is killed meanwhile, the bound above.
- The database unreachable (not restarted) from every sender for longer than a lease:
  at most one duplicate per connection interrupted, and only if a sweep runs in the
  second between the database coming back and that sender's heartbeat (retried every
  second while it fails).
- A crash of the database server itself (not a restart): marks are committed with
  synchronous_commit off (marks.py), so the marks it acknowledged in its last moments
  (up to three times wal_writer_delay: 0.6 s by default) can be lost and those messages
  go again. With NEWSLETTER_SYNCHRONOUS_MARKS=true: 0, every acknowledged mark is durable.
- One sender cut off from a database that the others still reach, for longer than a
  lease: at most one duplicate per connection of that sender (the message in flight
  when its heartbeat lapsed; it sends no other).
Clocks: heartbeats are written with the sender's clock and judged with the sweeper's;
machines kept in time (NTP) agree to far less than a lease.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, delete, exists, func, insert, or_, select, update

from newsletter.db import utcnow
from newsletter.delivery.models import Delivery, SendClaim
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.models import Edition, EditionStatus

log = logging.getLogger(__name__)
claims = SendClaim.__table__
deliveries = Delivery.__table__
editions = Edition.__table__


def new_token(prefix: str) -> str:
    """A claim's token: the task (or process) it belongs to, and a generation of its own."""
    return f"{prefix[:50]}/{uuid.uuid4().hex[:12]}"


def dead(cut: datetime, dialect: str = ""):
    """The condition on a `sending` delivery row whose claim shows no life since `cut`.
    On PostgreSQL, never within a lease of the server's start: a restart stopped every
    heartbeat, and they need a moment to beat again."""
    d = deliveries.c
    alive = select(claims.c.token).where(claims.c.heartbeat_at > cut)
    condition = and_(d.status == D.SENDING, or_(d.claimed_at.is_(None), d.claimed_at <= cut),
                     d.claimed_by.not_in(alive))
    if dialect == "postgresql":
        condition = and_(condition, func.pg_postmaster_start_time() <= cut)
    return condition


def claim(conn: Connection, edition_id: int, lo: int, hi: int, token: str, now,
          dead_after: timedelta = timedelta(seconds=60)) -> list[int]:
    """Take the range's open rows: pending, due retries, and rows whose claim is dead
    (claims.dead). Only while the edition is sending: once a pause or a cancel has
    committed, nothing new is claimed anywhere, and what is already claimed is given
    back within one gate interval."""
    d = deliveries.c
    sending = exists().where(editions.c.id == edition_id, editions.c.status == EditionStatus.SENDING)
    return conn.scalars(
        update(deliveries)
        .where(d.edition_id == edition_id, d.subscriber_id > lo, d.subscriber_id <= hi, sending,
               or_(d.status == D.PENDING,
                   and_(d.status == D.RETRY, d.next_attempt_at <= now),
                   dead(now - dead_after, conn.dialect.name)))
        .values(status=D.SENDING, claimed_by=token, claimed_at=now)
        .returning(d.id)).all()


def live_claims(conn: Connection, edition_id: int, cut: datetime) -> int:
    """How many claims on the edition showed life since `cut`."""
    return len(conn.scalars(select(claims.c.token).where(claims.c.edition_id == edition_id,
                                                         claims.c.heartbeat_at > cut)).all())


def forget_dead(conn: Connection, cut: datetime) -> int:
    """Claims silent since `cut` whose rows have all been taken back or finished."""
    held = select(deliveries.c.claimed_by).where(deliveries.c.status == D.SENDING,
                                                 deliveries.c.claimed_by == claims.c.token).exists()
    return conn.execute(delete(claims).where(claims.c.heartbeat_at <= cut, ~held)).rowcount


@dataclass
class Handover:
    """What an interrupted run leaves to the batch's next run: its token (its rows still
    `sending` are given back, without costing an attempt), the messages the relay
    accepted whose sent mark could not be written (marked sent), and the claim itself,
    whose heartbeat goes on until that is settled, so that no sweep takes its rows meanwhile."""

    token: str
    unmarked: list[tuple] = field(default_factory=list)  # (delivery id, message id, when, relay)
    claim: Claim | None = None

    def settled(self) -> None:
        if self.claim is not None:
            self.claim.stop_heartbeat()


def take_over(conn: Connection, edition_id: int, handover: Handover, now: datetime) -> tuple[int, int]:
    """A retry settles what its interrupted run left: marks its unmarked messages sent and
    gives back its other rows, only where they are still that run's own. (marked, given back)."""
    d = deliveries.c
    mine = and_(d.edition_id == edition_id, d.claimed_by == handover.token, d.status == D.SENDING)
    marked = 0
    for delivery_id, message_id, sent_at, *relay in handover.unmarked:
        marked += conn.execute(update(deliveries).where(d.id == delivery_id, mine).values(
            status=D.SENT, sent_at=sent_at, claimed_at=sent_at, message_id=message_id, last_error="",
            error_class="", relay=relay[0] if relay else "")).rowcount
    given = conn.execute(update(deliveries).where(mine).values(status=D.PENDING, claimed_by="",
                                                                queued_at=now)).rowcount
    conn.execute(delete(claims).where(claims.c.token == handover.token))
    return marked, given


class Claim:
    """One batch run's claim: its token, its heartbeat thread, and what the sender asks of
    it before each message (`fresh`)."""

    def __init__(self, token: str, edition_id: int, lo: int, hi: int, lease_seconds: float):
        self.token, self.edition_id, self.lo, self.hi = token, edition_id, lo, hi
        self.lease = float(lease_seconds)
        self.lost = False  # a fenced write (or the heartbeat) found the rows taken
        self._confirmed = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, conn: Connection, now: datetime) -> None:
        """Record the claim (in the transaction that claims its rows)."""
        self._confirmed = time.monotonic()
        conn.execute(insert(claims).values(token=self.token, edition_id=self.edition_id, lo=self.lo, hi=self.hi,
                                           started_at=now, heartbeat_at=now))

    def fresh(self) -> bool:
        """May this sender start another message: its rows are still its own and its last
        confirmed heartbeat is less than half a lease old."""
        return not self.lost and time.monotonic() - self._confirmed < self.lease / 2

    def silent_for(self) -> float:
        return time.monotonic() - self._confirmed

    def start_heartbeat(self, engine: Engine) -> None:
        self._thread = threading.Thread(target=self._beat, args=(engine,), name=f"heartbeat {self.token}",
                                        daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lease)
            self._thread = None

    def release(self, conn: Connection) -> None:
        """The run is over: its claim goes (its rows have an outcome or were given back)."""
        conn.execute(delete(claims).where(claims.c.token == self.token))

    def _beat(self, engine: Engine) -> None:
        failing = False
        while not self._stop.wait(min(self.lease / 4, 1.0) if failing else self.lease / 4):
            started = time.monotonic()
            try:
                with engine.begin() as conn:
                    found = conn.execute(update(claims).where(claims.c.token == self.token)
                                         .values(heartbeat_at=utcnow())).rowcount
            except Exception as exc:  # noqa: BLE001 - the sender sees it through fresh()
                if not failing:
                    log.warning("claim %s: heartbeat not written (%s); tried again every second", self.token,
                                type(exc).__name__)
                failing = True
                continue
            if not found:  # taken over: only a sweep that found us dead deletes our claim
                self.lost = True
                return
            failing = False
            self._confirmed = started


def dead_after(lease_seconds: float) -> timedelta:
    return timedelta(seconds=lease_seconds)
