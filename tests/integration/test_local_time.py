"""Delivery at each subscriber's local time, driven hour by hour with an injectable clock.

A publication in Europe/Berlin sent "at 06:00 in each subscriber's zone", with readers
in Pacific/Auckland, Europe/Berlin, America/Los_Angeles and one without a zone, from
March 27 to April 6 2026: Berlin springs forward on March 29, Auckland falls back on
April 5. The scheduler (dispatcher, sweeper, inline batches; the same driver the
workers use) runs at each hour; every message the SMTP server receives is attributed
to the hour it arrived in. Each reader must get each edition once, nobody missing, at 06:00
on their own clock. One reader moves from Los Angeles to Auckland in the middle of a
send and still gets that edition once (the last wave takes whoever has no row yet).
"""
from __future__ import annotations

import email
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter.editions.models import Edition
from newsletter.scheduler import Scheduler
from newsletter.subscribers.import_sql import import_csv
from newsletter.subscribers.models import Subscriber
from tests.helpers import add_article
from tests.integration.servers import SMTPServer

AKL, BER, LAX = "Pacific/Auckland", "Europe/Berlin", "America/Los_Angeles"
READERS = {"akl1@example.org": AKL, "akl2@example.org": AKL, "ber1@example.org": BER,
           "lax1@example.org": LAX, "lax2@example.org": LAX, "nozone@example.org": ""}
MOVER, MOVES_AT = "lax2@example.org", datetime(2026, 3, 29, 0, 0, tzinfo=UTC)


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.handler.keep_messages = True
    server.start()
    yield server
    server.stop()


def local_six(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(6, 0), ZoneInfo(zone or BER)).astimezone(UTC)


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_each_reader_gets_each_edition_once_at_their_own_six_o_clock(settings, session, publication, smtp):
    publication.local_time, publication.timezone = True, BER
    lines = ["email,name,timezone"] + [f"{address},,{zone}" for address, zone in READERS.items()]
    assert import_csv(session, publication, "\n".join(lines) + "\n").added == len(READERS)
    session.commit()
    settings.delivery_backend, settings.smtp_port, settings.allow_http_links = "smtp", smtp.port, True
    clock = {"now": datetime(2026, 3, 27, 10, 0, tzinfo=UTC)}
    scheduler = Scheduler(settings, clock=lambda: clock["now"])

    arrived: list[tuple[str, str, datetime]] = []  # (reader, Message-ID, the hour it arrived in)
    end = datetime(2026, 4, 6, 17, 0, tzinfo=UTC)  # before April 7's first wave (Auckland, 18:00 UTC)
    while clock["now"] <= end:
        now = clock["now"]
        if now.hour == 10:  # each day's news, before the next day's first wave
            with Session(scheduler.engine) as s:
                add_article(s, "superpowers", f"News of {now:%B %d}", now)
                s.commit()
        if now == MOVES_AT:
            with Session(scheduler.engine) as s:
                s.execute(update(Subscriber).where(Subscriber.email == MOVER).values(timezone=AKL))
                s.commit()
        seen = len(smtp.handler.messages)
        scheduler.dispatch()
        scheduler.sweep()
        scheduler.work()
        for raw in smtp.handler.messages[seen:]:
            msg = email.message_from_bytes(raw, policy=policy.default)
            arrived.append((msg["To"].addresses[0].addr_spec, msg["Message-ID"], now))
        clock["now"] = now + timedelta(hours=1)

    with Session(scheduler.engine) as s:
        editions = {e.id: e.date for e in s.scalars(select(Edition).where(Edition.status == "sent"))}
    days = [date(2026, 3, 28) + timedelta(days=n) for n in range(10)]  # March 28 .. April 6
    assert sorted(editions.values()) == days
    by_pair = Counter((reader, editions[int(mid.split(".")[1])]) for reader, mid, _ in arrived)
    assert set(by_pair) == {(r, d) for r in READERS for d in days}
    assert set(by_pair.values()) == {1}, "a reader got an edition twice"
    for reader, mid, when in arrived:
        day = editions[int(mid.split(".")[1])]
        zone = READERS[reader]
        if reader == MOVER and day >= date(2026, 3, 29):
            # Moved after Auckland's wave of the 29th: that edition comes with the last wave
            # (Los Angeles time); from the 30th on, at Auckland's 06:00.
            zone = LAX if day == date(2026, 3, 29) else AKL
        assert when == local_six(day, zone), f"{reader} got {day} at {when}, not at 06:00 in {zone or BER}"
    # The clocks changed: Berlin's 06:00 moved an hour earlier in UTC, Auckland's an hour later.
    assert local_six(date(2026, 3, 29), BER) - local_six(date(2026, 3, 28), BER) == timedelta(hours=23)
    assert local_six(date(2026, 4, 5), AKL) - local_six(date(2026, 4, 4), AKL) == timedelta(hours=25)
