"""The waves of a local-time edition as people see them: every door calls this module.

For an edition of a publication sent at each subscriber's local time (waves.py plans
and walks the waves), `edition_waves` gives every wave: its zones, its local and UTC
time, its subscribers, how many were recorded and sent, and its state (waiting, due,
done). Before the edition starts, the waves are the ones it would get now (the same
rule, schedule.py:waves_on, over the zones of the active audience); once it has
started, the ones stored. `upcoming` gives the waves of the next sends of a
publication, the first wave being the "next send" (Auckland's 06:00 comes before the
publication's own zone's).

Subscribers are put in a wave by their stored zone; the last wave (the catch-all) also
takes those whose zone is in no wave (the schedule does not fire there that day, or
they moved zone during the send). Counts are by zone, in two grouped queries: no row
per subscriber is loaded.

The report (report.py) takes its progress from here: the subscribers of the waves
whose time has not come are `waiting` (to go, not due), the rate is that of the wave
being sent, and the time left is that of the waves that are due; the next wave's time
says when the rest starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.delivery.waves import waves_of
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.publications.schedule import Wave, cut_off, effective_zone, local_date, next_send_times, waves_on
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus

WAITING, DUE, DONE = "waiting", "due", "done"
editions = Edition.__table__
publications = Publication.__table__
deliveries = Delivery.__table__
subscriptions = Subscription.__table__
subscribers = Subscriber.__table__


@dataclass(frozen=True)
class WaveRow:
    position: int
    zones: tuple[str, ...]  # as stored; "" is the publication's own zone
    send_at: datetime  # UTC
    local: str  # the local wall-clock time of the send, in its first zone: "Fri 2026-03-27 06:00 NZDT"
    subscribers: int
    recorded: int  # delivery rows made
    sent: int
    state: str  # waiting (its time has not come), due (its time has come, not all recorded yet), done
    publication_zone: str = "UTC"

    @property
    def label(self) -> str:
        """"Pacific/Auckland", or "Europe/Berlin, Europe/Paris and 4 more"; "" is the publication's zone."""
        names = self.zone_names
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    @property
    def zone_names(self) -> list[str]:
        """The zones by name, "" (no zone of their own) as the publication's, each once."""
        return list(dict.fromkeys(z or self.publication_zone for z in self.zones))

    def as_dict(self) -> dict:
        return {"position": self.position, "zones": self.zone_names,
                "local_time": self.local, "send_at": self.send_at.isoformat(), "subscribers": self.subscribers,
                "recorded": self.recorded, "sent": self.sent, "state": self.state}


def _local(send_at: datetime, zones: tuple[str, ...], publication_zone: str) -> str:
    zone = effective_zone(zones[0] if zones else "", publication_zone)
    return f"{send_at.astimezone(ZoneInfo(zone)):%a %Y-%m-%d %H:%M %Z}"


def _by_zone(conn: Connection, publication_id: int, top: int | None) -> dict[str, int]:
    q = (select(subscribers.c.timezone, func.count())
         .join(subscriptions, subscriptions.c.subscriber_id == subscribers.c.id)
         .where(subscriptions.c.publication_id == publication_id, subscriptions.c.status == SubscriptionStatus.ACTIVE)
         .group_by(subscribers.c.timezone))
    if top is not None:
        q = q.where(subscriptions.c.subscriber_id <= top)
    return dict(conn.execute(q).all())


def _bucket(waves: list, per_zone: dict[str, int]) -> list[int]:
    """Per-zone counts summed into the waves; zones in no wave go to the last one."""
    where = {z: n for n, w in enumerate(waves) for z in w.zones}
    out = [0] * len(waves)
    for zone, count in per_zone.items():
        out[where.get(zone, len(waves) - 1)] += count
    return out


def edition_waves(conn: Connection, edition_id: int, now: datetime) -> list[WaveRow] | None:
    """Every wave of the edition (None: not a local-time edition)."""
    ed = conn.execute(select(editions.c.publication_id, editions.c.date, editions.c.max_subscriber_id,
                             editions.c.started_at).where(editions.c.id == edition_id)).one()
    pub = conn.execute(select(publications.c.local_time, publications.c.schedule_cron, publications.c.timezone)
                       .where(publications.c.id == ed.publication_id)).one()
    stored = waves_of(conn, edition_id)
    if not stored and (ed.started_at is not None or not pub.local_time):
        return None  # sent all at once (started before it was a local-time publication, or never one)
    if not stored:
        return upcoming_on(conn, ed.publication_id, pub.schedule_cron, pub.timezone, ed.date, now)
    top = ed.max_subscriber_id
    audience = _bucket(stored, _by_zone(conn, ed.publication_id, top))
    d = deliveries.c
    made: dict[str, int] = {}
    sent: dict[str, int] = {}
    for zone, status, n in conn.execute(
            select(subscribers.c.timezone, d.status, func.count())
            .join(subscribers, subscribers.c.id == d.subscriber_id)
            .where(d.edition_id == edition_id).group_by(subscribers.c.timezone, d.status)):
        made[zone] = made.get(zone, 0) + n
        if status == D.SENT:
            sent[zone] = sent.get(zone, 0) + n
    recorded, sent_by_wave = _bucket(stored, made), _bucket(stored, sent)
    rows = []
    for n, w in enumerate(stored):
        # A wave's audience is who was active in it when it was planned, or more if rows were
        # made for people who moved into it since (the catch-all takes them).
        size = max(audience[n], recorded[n])
        state = DONE if w.done else (DUE if w.send_at <= now else WAITING)
        rows.append(WaveRow(n, tuple(w.zones), w.send_at, _local(w.send_at, tuple(w.zones), pub.timezone), size,
                            recorded[n], sent_by_wave[n], state, pub.timezone))
    return rows


def upcoming_on(conn: Connection, publication_id: int, cron: str, zone: str, day: date,
                now: datetime) -> list[WaveRow]:
    """The waves an edition for local date `day` would have if it started now."""
    per_zone = _by_zone(conn, publication_id, None)
    planned: list[Wave] = waves_on(cron, zone, per_zone.keys(), day)
    sizes = _bucket(planned, per_zone) if planned else []
    return [WaveRow(n, w.zones, w.send_at, _local(w.send_at, w.zones, zone), sizes[n], 0, 0,
                    DUE if w.send_at <= now else WAITING, zone) for n, w in enumerate(planned)]


def upcoming(conn: Connection, pub, after: datetime, count: int = 5,
             taken: set[date] | None = None) -> list[list[WaveRow]]:
    """The waves of the next `count` local-time sends after `after`: each send's first wave
    is after `after` (a send whose first wave has passed is under way, not to come), and
    a date that has its edition (`taken`) is left out."""
    out: list[list[WaveRow]] = []
    day = local_date(pub.timezone, after) - timedelta(days=1)  # Auckland's date is ahead of the publication's
    for _ in range(400):
        if len(out) >= count:
            break
        if not taken or day not in taken:
            waves = upcoming_on(conn, pub.id, pub.schedule_cron, pub.timezone, day, after)
            if waves and waves[0].send_at > after:
                out.append(waves)
        day += timedelta(days=1)
    return out


def next_sends(conn: Connection, pub, now: datetime, count: int = 5,
               last_date: date | None = None) -> tuple[list[datetime], list[WaveRow]]:
    """A publication's next send times (UTC) and, sent at local time, the waves of the next
    one: its first wave is the next send (Auckland's 06:00, hours before the publication's
    own zone's). `last_date`: its newest edition's date; a date that has its edition
    already (sent early) is not a send to come. The command line, the console and the
    API all read this."""
    if not pub.active:
        return [], []
    if pub.local_time:
        coming = upcoming(conn, pub, now, count, {last_date} if last_date else set())
        return [waves[0].send_at for waves in coming], (coming[0] if coming else [])
    after = max(now, cut_off(pub.schedule_cron, pub.timezone, last_date)) if last_date else now
    return next_send_times(pub.schedule_cron, pub.timezone, after, count), []


@dataclass(frozen=True)
class WaveProgress:
    """What the report needs from the waves."""
    waiting: int  # subscribers of waves whose time has not come (and not recorded)
    due_since: datetime | None  # the send time of the latest wave that is due: the rate counts from it
    next_wave_at: datetime | None  # the first wave still waiting
    next_wave_subscribers: int
    last_wave_at: datetime | None


def progress_of(rows: list[WaveRow]) -> WaveProgress:
    waiting = [w for w in rows if w.state == WAITING]
    due = [w for w in rows if w.state != WAITING]
    return WaveProgress(sum(max(w.subscribers - w.recorded, 0) for w in waiting),
                        due[-1].send_at if due else None,
                        waiting[0].send_at if waiting else None, waiting[0].subscribers if waiting else 0,
                        rows[-1].send_at if rows else None)
