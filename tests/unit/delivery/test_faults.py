"""Faults cost time, never readers (issue 17), on SQLite: what an unavailable relay is, the
outage's alert and recovery note, a batch's handover to its next run, the last round, the
alert for readers lost to temporary failures, and sending failed deliveries again."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from newsletter.delivery import claims, outage, plan, send_acts
from newsletter.delivery.alerts import check_failures
from newsletter.delivery.claims import Handover
from newsletter.delivery.models import Alert, Delivery
from newsletter.editions import lifecycle
from newsletter.editions.build import build_edition
from newsletter.errors import Conflict, InvalidInput
from newsletter.subscribers.models import Suppression
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.failures import FailureClass as F
from newsletter.transport.failures import Stage, refusal
from tests.helpers import add_article, at

T0 = at("2026-11-26T12:00:00")
rows = Delivery.__table__


@pytest.mark.parametrize("stage, code, text, expected", [
    (Stage.MAIL, 421, "4.3.0 Service not available", F.RELAY_DOWN),  # closing the channel: the relay's
    (Stage.RCPT, 421, "4.4.5 Too busy", F.RELAY_DOWN),
    (Stage.DATA, 421, "closing", F.RELAY_DOWN),
    (Stage.MAIL, 451, "4.7.1 Sender rate limited", F.RELAY_DOWN),  # a 4xx to MAIL FROM: about us, not the reader
    (Stage.RCPT, 452, "4.3.1 Insufficient system storage", F.RELAY_DOWN),
    (Stage.RCPT, 450, "4.2.0 Greylisted", F.TEMPORARY),  # the recipient's: keeps its attempts
    (Stage.RCPT, 451, "4.3.0 Try again later", F.TEMPORARY),
    (Stage.DATA, 452, "4.2.2 Mailbox full", F.TEMPORARY),
    (Stage.MAIL, 550, "5.7.1 Sender rejected", F.MESSAGE_REFUSED),
    (Stage.RCPT, 550, "5.1.1 No such user", F.RECIPIENT_REFUSED),
])
def test_what_the_sender_meets_at_smtp_time(stage, code, text, expected):
    assert refusal(stage, code, text).failure_class == expected


@pytest.fixture
def edition_id(session, publication):
    add_article(session, "superpowers", "A headline", at("2026-11-26T10:00:00"))
    for i in range(4):
        add_subscriber(session, publication, f"r{i}@example.org", f"R {i}")
    ed, _ = build_edition(session, publication, date(2026, 11, 26), now=T0)
    session.commit()
    return ed.id


def _started(engine, edition_id):
    with engine.begin() as conn:
        plan.start(conn, edition_id)
        plan.next_batch(conn, edition_id, 100)
        plan.next_batch(conn, edition_id, 100)


def _alerts(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Alert.kind, Alert.ref).order_by(Alert.id))]


def test_an_outage_is_alerted_once_past_the_threshold_and_its_end_is_told(engine, settings, edition_id):
    settings.relay_down_alert_seconds = 600
    _started(engine, edition_id)
    with engine.begin() as conn:
        outage.begin(conn, edition_id, "421 4.3.0 try later", T0)
        outage.begin(conn, edition_id, "cannot connect to relay:25", T0 + timedelta(minutes=5))  # still the same
        assert outage.check(conn, settings, edition_id, T0 + timedelta(minutes=9)) is None  # not yet
        assert outage.check(conn, settings, edition_id, T0 + timedelta(minutes=10)) is not None
        assert outage.check(conn, settings, edition_id, T0 + timedelta(minutes=11)) is None  # once
        assert outage.end(conn, edition_id, T0 + timedelta(minutes=12)) is not None  # the recovery note
        assert outage.end(conn, edition_id, T0 + timedelta(minutes=13)) is None  # over already
        # A second outage the same day: its own alert and note. A short one: no alert at all.
        outage.begin(conn, edition_id, "421", T0 + timedelta(hours=1))
        assert outage.check(conn, settings, edition_id, T0 + timedelta(hours=1, minutes=10)) is not None
        assert outage.end(conn, edition_id, T0 + timedelta(hours=1, minutes=20)) is not None
        outage.begin(conn, edition_id, "421", T0 + timedelta(hours=2))
        assert outage.end(conn, edition_id, T0 + timedelta(hours=2, minutes=1)) is None
    first, second = "outage 2026-11-26T12:00:00+00:00", "outage 2026-11-26T13:00:00+00:00"
    assert _alerts(engine) == [("relay_down", first), ("relay_back", first),
                               ("relay_down", second), ("relay_back", second)]
    with engine.connect() as conn:
        detail = conn.scalar(select(Alert.detail).order_by(Alert.id).limit(1))
    assert "cannot connect to relay:25" in detail and "No attempt is charged" in detail


def test_a_retry_marks_what_the_relay_took_and_gives_back_the_rest(engine, edition_id):
    from newsletter.delivery.claims import claim

    _started(engine, edition_id)
    with engine.begin() as conn:
        ids = sorted(claim(conn, edition_id, 0, 10**9, "run/1", T0))
        conn.execute(update(rows).where(rows.c.id == ids[0]).values(status="sent"))  # marked before the failure
        taken = ids[3]  # taken over by someone else meanwhile: not ours to touch
        conn.execute(update(rows).where(rows.c.id == taken).values(claimed_by="other/2"))
    handover = Handover("run/1", [(ids[1], "<m1@x>", T0), (taken, "<m3@x>", T0)])
    with engine.begin() as conn:
        assert claims.take_over(conn, edition_id, handover, T0) == (1, 1)
        got = dict(conn.execute(select(rows.c.id, rows.c.status)).all())
        assert conn.scalar(select(rows.c.message_id).where(rows.c.id == ids[1])) == "<m1@x>"
    assert [got[i] for i in ids] == ["sent", "sent", "pending", "sending"]


def test_readers_lost_to_temporary_failures_are_alerted_whatever_the_threshold(engine, settings, edition_id):
    settings.alert_failure_percent = 50
    _started(engine, edition_id)
    with engine.begin() as conn:
        first = conn.scalar(select(func.min(rows.c.id)))
        conn.execute(update(rows).values(status="sent"))
        conn.execute(update(rows).where(rows.c.id == first).values(status="failed", error_class="temporary"))
        lifecycle.finish(conn, edition_id)
        assert check_failures(conn, settings, edition_id) is not None  # 1 of 4: under 50%, but a reader lost
        detail = conn.scalar(select(Alert.detail))
    assert "temporary 1" in detail and f"editions retry {edition_id} --class temporary" in detail


def test_retry_sends_failed_deliveries_again_never_to_anyone_who_left(engine, session, edition_id):
    _started(engine, edition_id)
    with engine.begin() as conn:
        ids = sorted(conn.scalars(select(rows.c.id)))
        conn.execute(update(rows).values(status="sent"))
        conn.execute(update(rows).where(rows.c.id.in_(ids[:3])).values(status="failed", error_class="temporary",
                                                                        attempts=6))
        conn.execute(update(rows).where(rows.c.id == ids[2]).values(error_class="recipient_refused"))
        lifecycle.finish(conn, edition_id)
    with engine.begin() as conn:
        with pytest.raises(InvalidInput):
            send_acts.retry_failed(conn, edition_id, "nonsense")
    session.add(Suppression(email="r1@example.org", reason="admin"))  # suppressed since
    session.commit()
    with engine.begin() as conn:
        done = send_acts.retry_failed(conn, edition_id, "temporary")
        assert (done.reopened, done.left, done.status) == (1, 1, "sending")
        row = conn.execute(select(rows).where(rows.c.id == ids[0])).one()
        assert (row.status, row.attempts, row.queued_at) == ("pending", 0, None)
        assert conn.scalar(select(rows.c.status).where(rows.c.id == ids[1])) == "failed"
        # the sweeper's recovery hands it out (never queued), and the edition finishes again
        assert plan.stale_ranges(conn, edition_id, 100, T0, timedelta(seconds=60)) != []
    with engine.begin() as conn:
        lifecycle.cancel(conn, edition_id)
        with pytest.raises(Conflict):
            send_acts.retry_failed(conn, edition_id)

