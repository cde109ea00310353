"""The send step on its own (SQLite, outbox or a scripted backend): claims, skips, retries."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from newsletter.delivery import plan
from newsletter.delivery.batch import send_batch
from newsletter.delivery.claims import Claim, claim, new_token
from newsletter.delivery.driver import load
from newsletter.delivery.models import Delivery
from newsletter.editions.build import build_edition
from newsletter.subscribers.models import Subscription, SubscriptionStatus
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import OutboxBackend
from newsletter.transport.failures import FailureClass, SendFailure, Stage, refusal
from newsletter.transport.ratelimit import NoLimit
from tests.helpers import Scripted, add_article, at


@pytest.fixture
def edition_id(session, publication):
    add_article(session, "superpowers", "A headline", at("2026-11-26T10:00:00"))
    for i in range(5):
        add_subscriber(session, publication, f"r{i}@example.org", f"R {i}")
    ed, _ = build_edition(session, publication, date(2026, 11, 26), now=at("2026-11-26T12:00:00"))
    session.commit()
    return ed.id


def _queue(engine, edition_id):
    with engine.begin() as conn:
        plan.start(conn, edition_id)
        return plan.next_batch(conn, edition_id, 100)


def run(edition_id, lo=0, hi=10**9, token="t"):
    """A batch run's claim, as the driver makes one."""
    return Claim(new_token(token), edition_id, lo, hi, 60)


def _statuses(session, edition_id):
    session.expire_all()
    rows = session.scalars(select(Delivery).where(Delivery.edition_id == edition_id))
    return {d.subscriber_id: d.status for d in rows}


def test_unsubscribed_after_queueing_is_skipped(engine, settings, session, edition_id):
    lo, hi = _queue(engine, edition_id)
    sub = session.scalars(select(Subscription)).first()
    sub.status = SubscriptionStatus.UNSUBSCRIBED
    session.commit()
    edition, pub = load(engine, edition_id)
    backend = Scripted()
    with engine.connect() as conn:
        send_batch(conn, settings, edition, pub, lo, hi, run(edition_id, lo, hi, "t1"), backend, NoLimit())
    assert len(backend.accepted) == 4 and "r0@example.org" not in backend.accepted
    assert _statuses(session, edition_id)[sub.subscriber_id] == "skipped"


def test_claims_are_exclusive_between_senders(engine, edition_id):
    lo, hi = _queue(engine, edition_id)
    t0 = at("2026-11-26T12:00:00")
    with engine.begin() as conn:
        first = claim(conn, edition_id, lo, hi, "a", t0)
        second = claim(conn, edition_id, lo, hi, "b", t0)
        again = claim(conn, edition_id, lo, hi, "a", t0)  # one owner at a time, itself included
    assert len(first) == 5 and second == [] and again == []


def test_a_live_sender_keeps_its_rows_however_long_since_its_last_message(engine, edition_id):
    """Ownership, not timing: rows claimed long ago (no message sent since) stay with a
    sender whose heartbeat is fresh; only a claim silent for a lease is taken over."""
    from newsletter.delivery.claims import claims as claim_rows

    lo, hi = _queue(engine, edition_id)
    t0 = at("2026-11-26T12:00:00")
    live = Claim("live", edition_id, lo, hi, 60)
    with engine.begin() as conn:
        live.register(conn, t0)
        assert len(claim(conn, edition_id, lo, hi, "live", t0)) == 5
        later = t0 + timedelta(minutes=10)  # a relay silent for ten minutes; the heartbeat went on
        conn.execute(claim_rows.update().where(claim_rows.c.token == "live").values(heartbeat_at=later))
        assert claim(conn, edition_id, lo, hi, "other", later + timedelta(seconds=30)) == []
        # Its heartbeat falls silent for a whole lease: dead, its rows are someone else's now.
        assert len(claim(conn, edition_id, lo, hi, "other", later + timedelta(seconds=61))) == 5


def test_temporary_permanent_and_relay_down(engine, settings, session, edition_id):
    lo, hi = _queue(engine, edition_id)
    edition, pub = load(engine, edition_id)
    backend = Scripted({"r1@example.org": refusal(Stage.DATA, 451, "later"),
                        "r2@example.org": refusal(Stage.RCPT, 550, "no such user"),
                        "r3@example.org": SendFailure(FailureClass.RELAY_DOWN,
                                                      "cannot connect to relay:25: Connection refused")})
    with engine.connect() as conn:
        result = send_batch(conn, settings, edition, pub, lo, hi, run(edition_id), backend, NoLimit())
    assert result.outcome == "relay_down"
    by_email = {s.subscriber.email: s.subscriber_id for s in session.scalars(select(Subscription))}
    st = _statuses(session, edition_id)
    assert st[by_email["r0@example.org"]] == "sent"
    assert st[by_email["r1@example.org"]] == "retry"
    assert st[by_email["r2@example.org"]] == "failed"
    # the relay went away at r3: r3 and r4 are handed back, without an attempt
    assert st[by_email["r3@example.org"]] == "pending" and st[by_email["r4@example.org"]] == "pending"
    rows = {d.subscriber_id: d for d in session.scalars(select(Delivery))}
    assert rows[by_email["r4@example.org"]].attempts == 0 and rows[by_email["r1@example.org"]].attempts == 1
    from newsletter.delivery.report import report

    with engine.connect() as conn:
        assert report(conn, edition_id).relay_error == "cannot connect to relay:25: Connection refused"


def test_retries_end_in_failed_after_max_attempts_and_a_last_round(engine, settings, session, edition_id):
    settings.max_attempts, settings.retry_base_seconds, settings.last_round_seconds = 2, 0, 0
    lo, hi = _queue(engine, edition_id)
    edition, pub = load(engine, edition_id)
    backend = Scripted({"r0@example.org": refusal(Stage.DATA, 451, "4.5.0 later")})
    with engine.connect() as conn:
        for _ in range(2):
            send_batch(conn, settings, edition, pub, lo, hi, run(edition_id), backend, NoLimit())
        assert sorted(_statuses(session, edition_id).values()) == ["retry", "sent", "sent", "sent", "sent"]
        send_batch(conn, settings, edition, pub, lo, hi, run(edition_id), backend, NoLimit())  # the last round
    st = _statuses(session, edition_id)
    assert sorted(st.values()) == ["failed", "sent", "sent", "sent", "sent"]


def test_paused_edition_sends_nothing(engine, settings, session, edition_id, tmp_path):
    from newsletter.delivery.send_acts import pause, resume

    lo, hi = _queue(engine, edition_id)
    with engine.begin() as conn:
        pause(conn, edition_id)
    edition, pub = load(engine, edition_id)
    outbox = tmp_path / "out"
    with engine.connect() as conn:
        result = send_batch(conn, settings, edition, pub, lo, hi, run(edition_id), OutboxBackend(outbox), NoLimit())
        assert result.outcome == "paused"
    assert not outbox.exists() or list(outbox.iterdir()) == []
    with engine.begin() as conn:
        resume(conn, edition_id)
    with engine.connect() as conn:
        send_batch(conn, settings, edition, pub, lo, hi, run(edition_id), OutboxBackend(outbox), NoLimit())
    assert len(list(outbox.glob("*.eml"))) == 5


def test_disabled_subscriber_is_never_mailed(engine, settings, session, edition_id):
    from newsletter.subscribers.models import Subscriber

    lo, hi = _queue(engine, edition_id)
    first = session.scalars(select(Subscriber).order_by(Subscriber.id)).first()
    first.status = "disabled"
    session.commit()
    edition, pub = load(engine, edition_id)
    backend = Scripted()
    with engine.connect() as conn:
        send_batch(conn, settings, edition, pub, lo, hi, run(edition_id, lo, hi, "t1"), backend, NoLimit())
    assert first.email not in backend.accepted and len(backend.accepted) == 4


def test_log_lines_carry_the_edition_the_batch_and_the_delivery(engine, settings, edition_id, caplog):
    """One line per batch (at WARNING when something failed, with counts by class) and one
    per failed delivery at DEBUG, with their ids (JSON keys in production), and no address:
    the relay's text, which may name one, stays on the row."""
    lo, hi = _queue(engine, edition_id)
    edition, pub = load(engine, edition_id)
    backend = Scripted({"r2@example.org": refusal(Stage.RCPT, 550, "5.1.1 <r2@example.org> no such user")})
    with caplog.at_level("DEBUG", logger="newsletter.delivery.batch"), engine.connect() as conn:
        send_batch(conn, settings, edition, pub, lo, hi, run(edition_id, lo, hi, "t1"), backend, NoLimit())
    (failed,) = [r for r in caplog.records if getattr(r, "delivery_id", None)]
    (batch,) = [r for r in caplog.records if getattr(r, "batch", None)]
    assert failed.edition_id == edition_id and "recipient_refused" in failed.getMessage()
    assert failed.levelname == "DEBUG" and batch.levelname == "WARNING"
    assert batch.edition_id == edition_id and batch.batch == f"{lo}-{hi}" and "4 sent" in batch.getMessage()
    assert "recipient_refused 1" in batch.getMessage()
    assert not any("@" in r.getMessage() for r in caplog.records)
