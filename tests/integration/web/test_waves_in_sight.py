"""Waves in plain sight (issue 20): a local-time publication with readers in three zones,
its first wave sent and two waiting, seen at every door while the waves go out: the
command line (`publications list`, `editions status|list|show`), the console and the
API show every wave and agree on the figures; the time left counts the due waves only.

The waves are planned as the product plans them (Auckland, Berlin, Los Angeles at 06:00
each), then moved to around the real clock (the doors read the real time): the first
due half an hour ago, the next in an hour and in two."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery import plan
from newsletter.delivery.models import EditionWave
from newsletter.delivery.report import report
from newsletter.editions.build import build_edition
from newsletter.publications.schedule import local_date, next_send_times
from newsletter.scheduler import Scheduler
from newsletter.subscribers.import_sql import import_csv
from tests.command_line import CommandLine
from tests.helpers import add_article
from tests.integration.web.console_helpers import sign_in
from tests.integration.web.staff_helpers import client, make_staff

AKL, BER, LAX = "Pacific/Auckland", "Europe/Berlin", "America/Los_Angeles"
READERS = [("akl1", AKL), ("akl2", AKL), ("ber1", BER), ("ber2", BER), ("ber3", BER), ("lax1", LAX),
           ("lax2", LAX), ("lax3", LAX), ("lax4", LAX)]


def cli(settings, *args) -> str:
    return CommandLine.for_settings(settings)(*args).stdout


@pytest.fixture
def sending(engine, web_settings, publication, server):
    now = utcnow()
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        pub.local_time, pub.timezone = True, BER
        lines = ["email,name,timezone"] + [f"{who}@example.org,,{zone}" for who, zone in READERS]
        import_csv(s, pub, "\n".join(lines) + "\n")
        published = now - timedelta(hours=2)
        add_article(s, "superpowers", "The news of the day", published)
        s.commit()
        # The edition whose window holds the article whatever the hour: the one of the
        # first send after it (a day fixed by the clock, such as Berlin's tomorrow, has
        # its window start after `published` once Berlin's midnight has passed).
        day = local_date(BER, next_send_times(pub.schedule_cron, BER, published, 1)[0])
        edition, _ = build_edition(s, pub, day, now)
        s.commit()
        edition_id = edition.id
    with engine.begin() as conn:
        plan.start(conn, edition_id)
        for position, minutes in ((0, -30), (1, 60), (2, 120)):  # Auckland due, Berlin and Los Angeles to come
            conn.execute(update(EditionWave).where(EditionWave.edition_id == edition_id,
                                                   EditionWave.position == position)
                         .values(send_at=now + timedelta(minutes=minutes)))
    scheduler = Scheduler(web_settings)
    for _ in range(3):
        scheduler.sweep()
        scheduler.work()
    return edition_id, now


def test_every_door_shows_the_waves_and_agrees(engine, web_settings, server, sending):
    edition_id, now = sending
    with engine.connect() as conn:
        zones = [w.zones for w in conn.execute(select(EditionWave).where(EditionWave.edition_id == edition_id)
                                               .order_by(EditionWave.position))]
        r = report(conn, edition_id)
    assert zones == [[AKL], ["", BER], [LAX]]  # "": no zone of their own, the publication's
    assert (r.total, r.counts["sent"], r.remaining, r.waiting, r.due_remaining) == (9, 2, 7, 7, 0)
    assert r.eta_seconds is None  # nothing is due: no time left to tell, the next wave's time instead
    assert [(w.subscribers, w.sent, w.state) for w in r.waves] == [(2, 2, "done"), (3, 0, "waiting"),
                                                                   (4, 0, "waiting")]

    status = cli(web_settings, "editions", "status", str(edition_id))
    assert "9 in total, 2 recorded, 7 to go (0 due now, 7 waiting for their wave)" in status
    assert "next wave at" in status and "(3 subscribers), the last at" in status
    for zone, subscribers, state in ((AKL, 2, "done"), (BER, 3, "waiting"), (LAX, 4, "waiting")):
        (line,) = [x for x in status.splitlines() if zone in x]
        assert f" {subscribers} " in line and line.rstrip().endswith(state)
    listing = cli(web_settings, "editions", "list", "spacewar-daily")
    row = next(x for x in listing.splitlines() if x.strip().startswith(str(edition_id)))
    assert row.split()[2] == "sending" and row.split()[4:8] == ["2", "0", "0", "7"]  # sent, fail, skip, to go
    show = cli(web_settings, "editions", "show", str(edition_id))
    assert "Pacific/Auckland" in show and "America/Los_Angeles" in show
    pubs = cli(web_settings, "publications", "list")
    assert "first wave: Pacific/Auckland" in pubs and "waves of the next send" in pubs

    staff = make_staff(engine, web_settings)
    api = client(server, staff.tokens["viewer"])
    progress = api.get(f"/api/v1/editions/{edition_id}").json()["progress"]
    assert (progress["remaining"], progress["waiting"], progress["due_remaining"]) == (7, 7, 0)
    assert [(w["zones"], w["subscribers"], w["sent"], w["state"]) for w in progress["waves"]][0] == (
        [AKL], 2, 2, "done")
    assert progress["eta_seconds"] is None and progress["next_wave_at"]
    publication = api.get("/api/v1/publications/spacewar-daily").json()
    assert publication["local_time"] and publication["next_waves"][0]["zones"] == [AKL]
    assert publication["next_sends"][0] == publication["next_waves"][0]["send_at"]  # the first wave is next
    api.close()
    console, _ = sign_in(server, staff.email("viewer"))
    page = console.get(f"/admin/editions/{edition_id}").text
    assert 'id="waves"' in page and "7 to go: 0 due now, 7 waiting for their wave" in page
    assert page.count("<td data-label=\"State\">") == 3 and "America/Los_Angeles" in page
    assert "waiting for their wave" in console.get("/admin").text  # the dashboard's meter
    pubs_page = console.get("/admin/publications").text
    assert 'id="waves-spacewar-daily"' in pubs_page and "each the first wave" in pubs_page
    console.close()


def test_the_time_left_counts_the_due_waves_only(engine, web_settings, server, sending):
    """Berlin's wave comes due: 3 due now, 4 still waiting; once it is sent, the rate is the
    wave's own (not diluted by the hour between waves), and `list` says what `status` says."""
    edition_id, now = sending
    with engine.begin() as conn:
        conn.execute(update(EditionWave).where(EditionWave.edition_id == edition_id, EditionWave.position == 1)
                     .values(send_at=utcnow() - timedelta(seconds=1)))
        r = report(conn, edition_id)
    assert (r.remaining, r.due_remaining, r.waiting) == (7, 3, 4)
    scheduler = Scheduler(web_settings)
    for _ in range(3):
        scheduler.sweep()
        scheduler.work()
    with engine.connect() as conn:
        r = report(conn, edition_id)
    assert (r.counts["sent"], r.remaining, r.due_remaining, r.waiting) == (5, 4, 0, 4)
    assert [w.state for w in r.waves][:2] in (["done", "done"], ["done", "due"]) and r.waves[2].state == "waiting"
    assert r.eta_seconds is None
    status = cli(web_settings, "editions", "status", str(edition_id))
    assert "4 to go (0 due now, 4 waiting for their wave)" in status
    row = next(x for x in cli(web_settings, "editions", "list", "spacewar-daily").splitlines()
               if x.strip().startswith(str(edition_id)))
    assert row.split()[4:8] == ["5", "0", "0", "4"]
