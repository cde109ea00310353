"""What `editions status` and `editions show` show: counts by state, failures by class
(with the recipients and their errors), holds, pauses, the total, the rate over the real
elapsed time and an estimate of the time left.

Total: the audience frozen when sending started, counted before the fan-out has
recorded every row (rows recorded + active subscriptions the fan-out has not reached).
Rate: messages sent over the time since sending started: up to now while the edition
is sending (a relay that stalls brings the rate down, and the estimate up), up to the
last message sent otherwise. Time left: what is still to go at that rate, while sending
and while someone is sending it: not while the relay is unavailable (`relay_down_since`,
with its reason), nor when work is due and no sender holds a claim on the edition and
no task of it waits in the broker (`idle`: "no work queued: recovering"), nor when all
that is left waits for a retry (`next_retry_at`).

An edition sent in waves (each subscriber at their own local time) counts every wave in
its total and its "to go", the subscribers of waves whose time has not come as
`waiting`; its rate is that of the wave being sent (since its time), and its time left
that of the waves that are due (wave_view.py): a wave an hour away is not in it, and
`next_wave_at` says when the rest starts.

Relays: messages sent by each relay of the pool (the relay the sent mark recorded), and
the relays recorded down now (outage.py), whose mail goes through the others meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from newsletter.db import utcnow
from newsletter.delivery import claims, holds, outage, plan, tallies, wave_view
from newsletter.delivery import queued as queued_work
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import OPEN
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.delivery.wave_view import WaveProgress, WaveRow, progress_of
from newsletter.editions import lifecycle
from newsletter.editions.models import Edition, EditionStatus
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus
from newsletter.tracking.models import Event, EventKind

editions = Edition.__table__
deliveries = Delivery.__table__


@dataclass
class Report:
    edition_id: int
    status: str
    counts: dict[str, int]  # by delivery state, every state present
    failures: dict[str, int]  # failed rows by failure class
    hard_bounces: int
    started_at: datetime | None
    finished_at: datetime | None
    last_sent_at: datetime | None
    audience: int  # rows recorded so far (the fan-out may still be adding)
    pause_reason: str = ""
    relay_error: str = ""  # set while the edition waits for a relay (or outbox disk) that is unavailable
    held_domains: list[tuple[str, int, str]] = field(default_factory=list)
    not_yet_recorded: int = 0  # subscribers of the frozen audience the fan-out has not reached
    now: datetime = field(default_factory=utcnow)
    relay_down_since: datetime | None = None
    live_claims: int = 0  # senders alive on it now (claims.py)
    queued: int | None = None  # its batch tasks waiting in the broker; None: cannot be told (queued.py)
    due_now: bool = False  # rows that could go now (pending, or a retry that is due)
    next_retry_at: datetime | None = None
    waves: list[WaveRow] | None = None  # a local-time edition's waves (wave_view.py); None: all at once
    sent_since_wave: int = 0  # messages sent since the latest due wave's time

    @property
    def wave_progress(self) -> WaveProgress | None:
        return progress_of(self.waves) if self.waves else None

    @property
    def waiting(self) -> int:
        """To go, but in waves whose time has not come."""
        return self.wave_progress.waiting if self.waves else 0

    @property
    def due_remaining(self) -> int:
        """To go now: what is left of the waves that are due (everything, without waves)."""
        return self.remaining - self.waiting
    sent_by_relay: dict[str, int] = field(default_factory=dict)  # "" : the outbox, or before relays were recorded
    relays_down: list[tuple[str, datetime, str]] = field(default_factory=list)  # (relay, since, last answer)

    @property
    def idle(self) -> bool:
        """Sending, work is due, and nobody has it: no live claim, no task waiting."""
        return (self.status == EditionStatus.SENDING and self.due_now and not self.live_claims
                and self.queued == 0 and not self.relay_down_since)

    @property
    def only_retries_left(self) -> bool:
        """What is left waits for its retry (a back-off, or the last round)."""
        return self.status == EditionStatus.SENDING and not self.due_now and self.next_retry_at is not None \
            and self.remaining == self.counts[D.RETRY]

    @property
    def total(self) -> int:
        return self.audience + self.not_yet_recorded

    @property
    def duration(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or (self.now if self.status == EditionStatus.SENDING else self.last_sent_at) or self.now
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def rate(self) -> float:
        """Messages a second since sending started: up to now while sending, up to the last
        message sent otherwise."""
        if not self.started_at or not self.counts[D.SENT]:
            return 0.0
        end = self.now if self.status == EditionStatus.SENDING else (self.last_sent_at or self.now)
        since, sent = self.started_at, self.counts[D.SENT]
        progress = self.wave_progress
        if progress and progress.due_since and self.status == EditionStatus.SENDING and self.due_remaining:
            since, sent = max(progress.due_since, self.started_at), self.sent_since_wave  # the wave being sent
        span = (end - since).total_seconds()
        return sent / span if span > 0 else 0.0

    @property
    def remaining(self) -> int:
        return sum(self.counts[s] for s in OPEN if s != D.HELD) + self.not_yet_recorded

    @property
    def eta_seconds(self) -> float | None:
        if self.idle or self.relay_down_since or self.only_retries_left or not self.due_remaining:
            return None
        return self.due_remaining / self.rate if self.rate and self.status == EditionStatus.SENDING else None


def report(conn: Connection, edition_id: int, now: datetime | None = None, lease_seconds: float = 60,
           queued: int | None = None, relays: list[str] | None = None) -> Report:
    """`lease_seconds`: how long a claim may be silent and still count as alive; `queued`:
    the edition's tasks waiting in the broker (queued.py), when that can be told; `relays`:
    the pool's relays, whose outages are shown (None: every outage recorded)."""
    now = now or utcnow()
    lifecycle.status_of(conn, edition_id)  # NotFound for a wrong id
    ed = conn.execute(select(editions).where(editions.c.id == edition_id)).one()
    counts = {s.value: 0 for s in D}
    counts.update(conn.execute(select(deliveries.c.status, func.count())
                               .where(deliveries.c.edition_id == edition_id)
                               .group_by(deliveries.c.status)).all())
    failures = dict(conn.execute(select(deliveries.c.error_class, func.count()).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == D.FAILED)
        .group_by(deliveries.c.error_class)).all())
    # Erased people's rows are gone; their outcomes stay in the figures (tallies.py).
    tallies.add_counts(counts, tallies.counts(conn, [edition_id])[edition_id])
    tallies.add_counts(failures, tallies.failures(conn, edition_id))
    bounces = conn.scalar(select(func.count()).select_from(Event.__table__).where(
        Event.__table__.c.edition_id == edition_id, Event.__table__.c.kind == EventKind.BOUNCE))
    last = max(filter(None, (conn.scalar(select(func.max(deliveries.c.sent_at)).where(
        deliveries.c.edition_id == edition_id)), tallies.last_sent_at(conn, edition_id))), default=None)
    sending = ed.status == EditionStatus.SENDING
    waves = wave_view.edition_waves(conn, edition_id, now)
    if waves and ed.started_at is not None:
        # Every wave's subscribers without a row yet (the edition's own checkpoint is not
        # the waves' one), whether their wave is due or not.
        not_recorded = 0 if ed.fanout_done else sum(max(w.subscribers - w.recorded, 0) for w in waves)
        progress = progress_of(waves)
        since = max(progress.due_since, ed.started_at) if progress.due_since else ed.started_at
        sent_since = conn.scalar(select(func.count()).where(
            deliveries.c.edition_id == edition_id, deliveries.c.status == D.SENT, deliveries.c.sent_at >= since))
    else:
        not_recorded, sent_since = _not_yet_recorded(conn, ed), 0
    by_relay = tallies.add_counts(dict(conn.execute(select(deliveries.c.relay, func.count()).where(
        deliveries.c.edition_id == edition_id, deliveries.c.status == D.SENT).group_by(deliveries.c.relay)).all()),
        tallies.sent_by_relay(conn, edition_id))
    down = [o for o in outage.relay_outages(conn) if relays is None or o[0] in relays]
    return Report(edition_id, ed.status, counts, failures, bounces, ed.started_at, ed.finished_at, last,
                  sum(counts.values()), ed.pause_reason, ed.relay_down_reason if ed.relay_down_since else "",
                  holds.held(conn, edition_id), not_recorded, now, ed.relay_down_since,
                  claims.live_claims(conn, edition_id, now - claims.dead_after(lease_seconds)) if sending else 0,
                  queued, sending and plan.due_work(conn, edition_id, now),
                  plan.next_retry_at(conn, edition_id) if sending else None,
                  waves if ed.started_at is not None else None, sent_since or 0,
                  sent_by_relay=by_relay, relays_down=down)


def _not_yet_recorded(conn: Connection, ed) -> int:
    if ed.fanout_done or ed.max_subscriber_id is None:
        return 0
    s = Subscription.__table__.c
    return conn.scalar(select(func.count()).where(
        s.publication_id == ed.publication_id, s.status == SubscriptionStatus.ACTIVE,
        s.subscriber_id > ed.fanout_cursor, s.subscriber_id <= ed.max_subscriber_id)) or 0


def counts_by_edition(conn: Connection, edition_ids: list[int]) -> dict[int, dict[str, int]]:
    """Delivery rows by state for several editions at once (lists of editions)."""
    out: dict[int, dict[str, int]] = {i: {} for i in edition_ids}
    if edition_ids:
        for edition_id, status, n in conn.execute(
                select(deliveries.c.edition_id, deliveries.c.status, func.count())
                .where(deliveries.c.edition_id.in_(edition_ids))
                .group_by(deliveries.c.edition_id, deliveries.c.status)):
            out[edition_id][status] = n
        for edition_id, tallied in tallies.counts(conn, edition_ids).items():
            tallies.add_counts(out[edition_id], tallied)
    return out


@dataclass
class FailureGroup:
    failure_class: str  # a FailureClass value ("" for rows recorded before classes existed)
    count: int
    recipients: list[tuple[str, int, str]]  # (email, attempts, last error), the first few


def failures_by_class(conn: Connection, edition_id: int, per_class: int = 10) -> list[FailureGroup]:
    """Failed deliveries grouped by failure class, largest group first, each with its
    first `per_class` recipients and their errors."""
    lifecycle.status_of(conn, edition_id)
    d, sub = deliveries.c, Subscriber.__table__.c
    groups = []
    by_class = tallies.add_counts(dict(conn.execute(select(d.error_class, func.count()).where(
        d.edition_id == edition_id, d.status == D.FAILED).group_by(d.error_class)).all()),
        tallies.failures(conn, edition_id))
    for klass, count in sorted(by_class.items(), key=lambda kv: (-kv[1], kv[0] or "")):
        rows = conn.execute(select(sub.email, d.attempts, d.last_error).join(Subscriber.__table__,
                                                                              sub.id == d.subscriber_id)
                            .where(d.edition_id == edition_id, d.status == D.FAILED, d.error_class == klass)
                            .order_by(d.subscriber_id).limit(per_class)).all()
        groups.append(FailureGroup(klass, count, [tuple(r) for r in rows]))
    return groups


def report_now(conn: Connection, settings, edition_id: int) -> Report:
    """The report as operators see it (the command line, the console, the API): with the
    settings' lease, and what the broker can tell about the edition's queued tasks."""
    notes = queued_work.for_settings(settings) if settings.broker_url else None
    relays = [r.name for r in settings.relay_pool] if settings.delivery_backend == "smtp" else []
    return report(conn, edition_id, lease_seconds=settings.lease_seconds,
                  queued=notes.count(edition_id) if notes is not None else None, relays=relays)
