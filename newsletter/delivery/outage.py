"""An edition waiting for its relay (or its outbox's disk): recorded, shown, alerted once
past a threshold, and told again when it is back.

A relay that cannot take mail (failures.unavailable: no connection, 421, a 4xx to MAIL
FROM, a refused login; the outbox's disk full) says nothing about the readers: the batch
gives its rows back without charging an attempt, records the outage here (since when,
and the last answer), and comes back after NEWSLETTER_RELAY_DOWN_RETRY_SECONDS, whether
the outage lasts a minute or an hour. `editions status` shows the wait and its reason.
Past NEWSLETTER_RELAY_DOWN_ALERT_SECONDS (ten minutes) the operators get one alert (the
next batch or the sweeper notices, whichever comes first); the first message that goes
out again ends the outage and, if it was alerted, they get one note that it is over.
Each outage has its own pair of alerts (`ref`: when it began).

With a pool of relays (transport/relays.py) the edition waits only when every relay is
down; one relay down is recorded here too (`relay_events`), for every sender to leave it
alone for NEWSLETTER_RELAY_DOWN_RETRY_SECONDS (`relays_down`) and for `editions status`
to show (`relay_outages`), while its mail goes through the others at no attempt's cost.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import alerts
from newsletter.delivery.models import RelayOutage
from newsletter.editions.models import Edition
from newsletter.transport.relays import RelayPool

log = logging.getLogger(__name__)
editions = Edition.__table__
outages = RelayOutage.__table__


def begin(conn: Connection, edition_id: int, reason: str, now: datetime) -> None:
    """Record that the relay is unavailable (since the first time; the reason is the last)."""
    e = editions.c
    started = conn.execute(update(editions).where(e.id == edition_id, e.relay_down_since.is_(None))
                           .values(relay_down_since=now, relay_down_reason=reason[:2000])).rowcount
    if not started:
        conn.execute(update(editions).where(e.id == edition_id).values(relay_down_reason=reason[:2000]))
    else:
        log.warning("edition %s: the relay is unavailable, sending waits (no attempt is charged): %s",
                    edition_id, reason, extra={"edition_id": edition_id})


def check(conn: Connection, settings: Settings, edition_id: int, now: datetime) -> int | None:
    """Alert the operators once when the outage has lasted past the threshold; the new
    alert's id, or None."""
    e = editions.c
    row = conn.execute(update(editions).where(
        e.id == edition_id, e.relay_down_since <= now - timedelta(seconds=settings.relay_down_alert_seconds),
        e.relay_down_alerted.is_(False)).values(relay_down_alerted=True)
        .returning(e.relay_down_since, e.relay_down_reason, e.publication_id, e.date)).first()
    if row is None:
        return None
    minutes = (now - row.relay_down_since).total_seconds() / 60
    return alerts.raise_alert(
        conn, row.publication_id, row.date, alerts.AlertKind.RELAY_DOWN,
        f"no message of this edition has gone out since {row.relay_down_since:%Y-%m-%d %H:%M:%S} UTC "
        f"({minutes:.0f} min): the relay (or the outbox's disk) is unavailable. Last answer: "
        f"{row.relay_down_reason}. No attempt is charged to anyone; sending resumes by itself when it answers.",
        edition_id, ref=_ref(row.relay_down_since))


def end(conn: Connection, edition_id: int, now: datetime) -> int | None:
    """A message went out: the outage is over. The recovery note's alert id when the
    outage had been alerted, else None."""
    e = editions.c
    query = select(e.relay_down_since, e.relay_down_alerted, e.publication_id, e.date).where(e.id == edition_id)
    row = conn.execute(query.with_for_update() if conn.dialect.name == "postgresql" else query).first()
    if row is None or row.relay_down_since is None:
        return None
    conn.execute(update(editions).where(e.id == edition_id, e.relay_down_since == row.relay_down_since)
                 .values(relay_down_since=None, relay_down_reason="", relay_down_alerted=False))
    minutes = (now - row.relay_down_since).total_seconds() / 60
    log.warning("edition %s: the relay answers again after %.1f min; sending resumed", edition_id, minutes,
                extra={"edition_id": edition_id})
    if not row.relay_down_alerted:
        return None
    return alerts.raise_alert(
        conn, row.publication_id, row.date, alerts.AlertKind.RELAY_BACK,
        f"the relay answers again: sending resumed at {now:%Y-%m-%d %H:%M:%S} UTC, after {minutes:.0f} min "
        f"(since {row.relay_down_since:%Y-%m-%d %H:%M:%S} UTC). Nobody lost an attempt to the outage.",
        edition_id, ref=_ref(row.relay_down_since))


def _ref(since: datetime) -> str:
    return f"outage {since.isoformat(timespec='seconds')}"


def record_relays(conn: Connection, backend) -> None:
    """What a pool of relays learnt while sending (one found down, one back), recorded and
    committed for every sender and `editions status`; nothing in the common case."""
    events = backend.take_events() if isinstance(backend, RelayPool) else []
    if events:
        relay_events(conn, events, utcnow())
        conn.commit()


def relay_events(conn: Connection, events, now: datetime) -> None:
    """Record what a pool learnt (transport/relays.RelayEvent): relays found down (since
    the first time; the last answer), relays that took a message again."""
    o = outages.c
    for event in events:
        if not event.down:
            if conn.execute(delete(outages).where(o.relay == event.relay)).rowcount:
                log.warning("relay %s takes mail again", event.relay)
            continue
        if conn.execute(update(outages).where(o.relay == event.relay)
                        .values(failed_at=now, reason=event.reason[:2000])).rowcount:
            continue
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        conn.execute(insert(outages).values(relay=event.relay, since=now, failed_at=now, reason=event.reason[:2000])
                     .on_conflict_do_update(index_elements=["relay"],
                                            set_={"failed_at": now, "reason": event.reason[:2000]}))
        log.warning("relay %s is unavailable; its mail goes through the others (no attempt is charged): %s",
                    event.relay, event.reason)


def relays_down(conn: Connection, settings: Settings, now: datetime) -> dict[str, float]:
    """Relays to leave alone for now: {name: seconds before trying it again}."""
    retry = timedelta(seconds=settings.relay_down_retry_seconds)
    return {r.relay: (r.failed_at + retry - now).total_seconds()
            for r in conn.execute(select(outages.c.relay, outages.c.failed_at)
                                  .where(outages.c.failed_at > now - retry))}


def relay_outages(conn: Connection) -> list[tuple[str, datetime, str]]:
    """(relay, down since, last answer) of each relay recorded down, by name."""
    o = outages.c
    return [tuple(r) for r in conn.execute(select(o.relay, o.since, o.reason).order_by(o.relay))]
