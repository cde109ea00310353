"""Delivery on real Celery workers, Redis, PostgreSQL and an SMTP server on loopback."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.delivery.models import Delivery
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.subscribers.models import Suppression
from newsletter.tracking.models import Event
from tests.integration.servers import wait_for

EVERYONE = {f"reader{i:06d}@example.org" for i in range(2000)}


def emails(n):
    return {f"reader{i:06d}@example.org" for i in range(n)}


def test_scheduled_edition_is_built_by_the_dispatcher_and_delivered_once(stack):
    pub_id, _ = stack.seed(2000)
    with Session(stack.engine) as s:  # start from nothing: the dispatcher builds the edition
        s.query(Edition).delete()
        s.commit()
        pub = s.get(Publication, pub_id)
        cron, tz = pub.schedule_cron, pub.timezone
    from newsletter.db import utcnow
    from newsletter.publications.schedule import local_date, send_times_on

    due_at = send_times_on(cron, tz, local_date(tz, utcnow()))[0]
    stack.worker(concurrency=2)
    now = (due_at + timedelta(minutes=1)).isoformat()
    stack.send("dispatch_due", now)
    stack.send("dispatch_due", now)  # a second beat in the same minute
    edition_id = wait_for(lambda: _edition_id(stack), 60, what="the dispatcher's edition")
    stack.wait_sent(edition_id)
    assert stack.smtp.handler.received == {e: 1 for e in EVERYONE}
    with Session(stack.engine) as s:
        assert s.scalar(select(func.count()).select_from(Edition)) == 1


def _edition_id(stack):
    with Session(stack.engine) as s:
        return s.scalar(select(Edition.id).where(Edition.status.in_(("sending", "sent"))))


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "no-pipelining"])
def test_killed_worker_loses_nobody_and_duplicates_stay_within_the_bound(stack, pipelining):
    stack.smtp.handler.pipelining = pipelining  # both send paths keep the guarantee
    _, edition_id = stack.seed(2000)
    worker = stack.worker(concurrency=2)
    stack.send("drive", edition_id)
    wait_for(lambda: stack.smtp.handler.total() >= 400, 60, interval=0.01, what="the send to be under way")
    worker.kill()
    killed_at = stack.smtp.handler.total()
    assert killed_at < 2000, "the kill came too late to test anything"
    stack.worker(concurrency=2)
    stack.wait_sent(edition_id)
    received = stack.smtp.handler.received
    assert set(received) == EVERYONE  # nobody missing
    duplicates = sum(n - 1 for n in received.values())
    print(f"killed after {killed_at} messages; {duplicates} duplicate(s) after the restart")
    assert duplicates <= 2, f"{duplicates} duplicates, bound is one per open connection (2)"


def test_temporary_failures_are_retried_until_delivered(stack):
    _, edition_id = stack.seed(300)
    stack.smtp.handler.defer_once = lambda rcpt: int(rcpt[6:12]) % 10 == 0
    stack.worker()
    stack.send("drive", edition_id)
    stack.wait_sent(edition_id)
    assert stack.smtp.handler.received == {e: 1 for e in emails(300)}
    assert len(stack.smtp.handler.deferred) == 30


def test_permanent_failures_bounce_and_suppress(stack):
    pub_id, edition_id = stack.seed(200)
    bad = {f"reader{i:06d}@example.org" for i in (3, 50, 199)}
    stack.smtp.handler.reject = set(bad)
    stack.worker()
    stack.send("drive", edition_id)
    stack.wait_sent(edition_id)
    assert set(stack.smtp.handler.received) == emails(200) - bad
    with Session(stack.engine) as s:
        failed = s.scalars(select(Delivery.subscriber_id).where(Delivery.status == "failed")).all()
        assert len(failed) == 3
        assert {e.reason for e in s.scalars(select(Event).where(Event.kind == "bounce"))} == {"hard"}
        left = s.scalars(select(Event).where(Event.kind == "unsubscribe")).all()
        assert {(e.method, e.edition_id) for e in left} == {("bounce", edition_id)} and len(left) == 3
        assert set(s.scalars(select(Suppression.email))) == bad
        # The next edition skips them.
        ed = s.get(Edition, edition_id)
        nxt = Edition(publication_id=pub_id, date=ed.date + timedelta(days=1), status="built",
                      window_start=ed.window_start, window_end=ed.window_end,
                      items=[_copy(i) for i in ed.items])
        s.add(nxt)
        s.commit()
        next_id = nxt.id
    stack.smtp.handler.received.clear()
    stack.send("drive", next_id)
    stack.wait_sent(next_id)
    assert set(stack.smtp.handler.received) == emails(200) - bad
    with Session(stack.engine) as s:
        # They are no longer subscribed, and suppressed: the next edition does not even queue them.
        queued = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.edition_id == next_id))
        assert queued == 197


def _copy(item):
    from newsletter.editions.models import EditionItem

    return EditionItem(**{c: getattr(item, c) for c in (
        "position", "section_slug", "section_name", "article_id", "url", "headline", "teaser",
        "source", "byline", "dateline", "published_at")})


def test_relay_down_pauses_progress_and_the_edition_completes(stack):
    _, edition_id = stack.seed(1500)
    stack.worker()
    stack.send("drive", edition_id)
    wait_for(lambda: stack.smtp.handler.total() >= 200, 60, interval=0.01, what="the send to start")
    stack.smtp.stop()
    wait_for(lambda: _relay_wait(stack, edition_id), 60, what="senders to wait for the relay")
    with Session(stack.engine) as s:
        attempts = s.scalar(select(func.max(Delivery.attempts)))
        assert attempts <= 2  # a relay that is down burns no attempts (at most the message on the wire)
    stack.smtp.start()
    stack.wait_sent(edition_id)
    received = stack.smtp.handler.received
    assert set(received) == emails(1500)
    assert sum(n - 1 for n in received.values()) <= 2


def _relay_wait(stack, edition_id) -> str:
    from newsletter.delivery.report import report

    with stack.engine.connect() as conn:
        return report(conn, edition_id).relay_error


def _quiet(stack, edition_id) -> bool:
    """Nothing claimed: after a pause or cancel has committed nothing new can be claimed,
    so once the claimed rows are given back (or marked), no message can go out."""
    with stack.engine.connect() as c:
        return not c.exec_driver_sql(
            f"SELECT count(*) FROM deliveries WHERE edition_id = {int(edition_id)} AND status = 'sending'").scalar()


def _sent_rows(stack, edition_id) -> int:
    with stack.engine.connect() as c:
        return c.exec_driver_sql(
            f"SELECT count(*) FROM deliveries WHERE edition_id = {int(edition_id)} AND status = 'sent'").scalar()


def _slow_send_under_way(stack) -> int:
    """1,500 subscribers at 300 a second, 150 already sent: slow enough to stop mid-way."""
    _, edition_id = stack.seed(1500)
    stack.env["NEWSLETTER_RATE_LIMIT_PER_SECOND"] = "300"
    stack.worker()
    stack.send("drive", edition_id)
    wait_for(lambda: stack.smtp.handler.total() >= 150, 60, interval=0.01, what="the send to start")
    return edition_id


def test_pause_resume_and_cancel(stack):
    edition_id = _slow_send_under_way(stack)
    _control(stack, edition_id, "pause")
    wait_for(lambda: _quiet(stack, edition_id), 30, what="the senders to give back their rows")
    at_pause = stack.smtp.handler.total()
    assert at_pause == _sent_rows(stack, edition_id) < 1500  # stopped, mid-send, every send recorded
    assert stack.status(edition_id) == "paused"
    _control(stack, edition_id, "resume")
    stack.send("drive", edition_id)
    stack.wait_sent(edition_id)
    assert stack.smtp.handler.received == {e: 1 for e in emails(1500)}


def test_cancel_sends_nothing_more(stack):
    edition_id = _slow_send_under_way(stack)
    _control(stack, edition_id, "cancel")
    wait_for(lambda: _quiet(stack, edition_id), 30, what="the senders to stop")
    after = stack.smtp.handler.total()
    assert after == _sent_rows(stack, edition_id) < 1500
    with stack.engine.connect() as c:  # nothing is left that anyone could still send
        assert not c.exec_driver_sql(f"SELECT count(*) FROM deliveries WHERE edition_id = {int(edition_id)} "
                                     "AND status IN ('pending', 'retry', 'held')").scalar()
    assert max(stack.smtp.handler.received.values()) == 1
    assert stack.status(edition_id) == "cancelled"


def _control(stack, edition_id, action):
    from newsletter.delivery import send_acts

    with stack.engine.begin() as conn:
        getattr(send_acts, action)(conn, edition_id)


def test_the_command_line_enqueues_when_a_broker_is_configured(stack):
    _, edition_id = stack.seed(150)
    stack.worker()
    out = stack.cli("send", "spacewar-daily")
    assert "queued for the workers" in out.stdout
    stack.wait_sent(edition_id)
    assert stack.smtp.handler.received == {e: 1 for e in emails(150)}
    status = stack.cli("editions", "status", str(edition_id))
    assert f"edition {edition_id}: sent" in status.stdout and "150" in status.stdout


def test_lost_tasks_are_recovered_by_the_sweeper(stack):
    """A drive that died after committing some batches but before enqueuing them: the
    rows are pending, no task exists. The sweeper (beat) re-drives and re-hands them."""
    from newsletter.delivery import plan

    _, edition_id = stack.seed(450)
    with stack.engine.begin() as conn:
        plan.start(conn, edition_id)
        for _ in range(2):
            plan.next_batch(conn, edition_id, 100)  # committed, never enqueued
    stack.worker()
    stack.wait_sent(edition_id)  # sends "sweep" every few seconds, as beat would
    assert stack.smtp.handler.received == {e: 1 for e in emails(450)}


def test_a_refused_message_pauses_the_edition_on_workers_and_resumes_exactly_once(stack):
    """A relay refusing the content: nobody suppressed, the edition paused with the reason;
    resumed with a relay that accepts, everyone gets it once (nobody missing, nobody twice)."""
    from newsletter.delivery.report import report
    from newsletter.tracking.models import Event

    _, edition_id = stack.seed(300)
    stack.smtp.handler.data_reply = lambda envelope: "554 5.7.1 Message content rejected"
    stack.worker()
    stack.send("drive", edition_id)
    wait_for(lambda: stack.status(edition_id) == "paused", 60, what="the edition to pause itself")
    wait_for(lambda: _quiet(stack, edition_id), 30, what="the senders to stop")
    with stack.engine.connect() as conn:
        assert "554 5.7.1" in report(conn, edition_id).pause_reason
    with Session(stack.engine) as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 0
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind.in_(("bounce", "unsubscribe")))) == 0
    assert stack.smtp.handler.total() == 0
    stack.smtp.handler.data_reply = lambda envelope: None
    _control(stack, edition_id, "resume")
    stack.send("drive", edition_id)
    stack.wait_sent(edition_id)
    assert stack.smtp.handler.received == {e: 1 for e in emails(300)}


def test_non_ascii_and_idn_addresses_do_not_stall_the_workers(stack):
    from newsletter.subscribers.service import add_subscriber

    pub_id, edition_id = stack.seed(0)
    with Session(stack.engine) as s:
        pub = s.get(Publication, pub_id)
        for address in ("jörg@example.org", "a@example.org", "x@bücher.example", "b@example.org"):
            add_subscriber(s, pub, address, "Someone")
        s.commit()
    stack.worker()
    stack.send("drive", edition_id)
    stack.wait_sent(edition_id)  # aiosmtpd here does not offer SMTPUTF8
    assert stack.smtp.handler.received == {"a@example.org": 1, "b@example.org": 1, "x@xn--bcher-kva.example": 1}
    with Session(stack.engine) as s:
        assert s.scalars(select(Delivery.error_class).where(Delivery.status == "failed")).all() == ["undeliverable"]
