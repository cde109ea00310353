"""On PostgreSQL the sent mark brings the edition's state back with it: a pause or a
domain hold made by someone else reaches a sender at its very next message, though
its gate would not look on its own for another ten seconds. And the mark is settled
(committed) before the next message's end of data, though it travels while that message's
envelope and body are written; a message whose predecessor's mark did not go through is
never completed."""
from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from newsletter.delivery import holds, plan, send_acts
from newsletter.delivery.batch import send_batch
from newsletter.delivery.claims import Claim
from newsletter.delivery.driver import load
from newsletter.delivery.marks import EditionState, SentMarks
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import BatchOutcome
from newsletter.transport.backends import SMTPBackend
from newsletter.transport.ratelimit import NoLimit
from tests.integration.servers import OffersPipelining, free_port


class ActAfter:
    """The SMTP backend, and something done elsewhere right after the n-th message."""

    def __init__(self, inner, n, action):
        self.inner, self.n, self.action, self.count = inner, n, action, 0

    def open(self):
        self.inner.open()

    def send(self, *args, **hooks):
        self.inner.send(*args, **hooks)
        self.count += 1
        if self.count == self.n:
            self.action()

    def reset(self):
        self.inner.reset()

    def close(self):
        self.inner.close()


def _run(stack, edition_id, n, action, port=None):
    settings = stack.settings.model_copy(update={"pause_check_seconds": 10})
    with stack.engine.begin() as conn:
        plan.start(conn, edition_id)
        lo, hi = plan.next_batch(conn, edition_id, 1000)
    edition, pub = load(stack.engine, edition_id)
    backend = ActAfter(SMTPBackend("127.0.0.1", port or stack.smtp.port, timeout=5), n, action)
    with stack.engine.connect() as conn:
        result = send_batch(conn, settings, edition, pub, lo, hi, Claim("gate-test", edition_id, lo, hi, 60), backend,
                            NoLimit())
    with stack.engine.connect() as conn:
        counts = dict(conn.execute(select(Delivery.status, func.count()).where(Delivery.edition_id == edition_id)
                                   .group_by(Delivery.status)).all())
    return result, counts


def test_a_pause_reaches_the_sender_with_the_next_mark(stack):
    _, edition_id = stack.seed(200)

    def pause():
        with stack.engine.begin() as conn:
            send_acts.pause(conn, edition_id)

    result, counts = _run(stack, edition_id, 30, pause)
    assert result.outcome == BatchOutcome.PAUSED
    assert stack.smtp.handler.total() == 30 and counts == {"sent": 30, "pending": 170}


def test_a_domain_hold_reaches_the_sender_with_the_next_mark(stack):
    _, edition_id = stack.seed(200)

    def hold():
        with stack.engine.begin() as conn:
            assert holds.count_refusal(conn, edition_id, "example.org", "550 5.7.1 blocked", threshold=1)

    result, counts = _run(stack, edition_id, 30, hold)
    assert result.outcome == BatchOutcome.DONE
    assert stack.smtp.handler.total() == 30 and counts == {"sent": 30, "held": 170}


@pytest.mark.parametrize("synchronous", [False, True], ids=["async-commit", "synchronous-marks"])
def test_the_mark_returns_the_state_it_read_and_applies_to_its_own_claim_only(stack, synchronous):
    from newsletter.db import utcnow
    from newsletter.delivery import claims

    _, edition_id = stack.seed(3)
    with stack.engine.begin() as conn:
        plan.start(conn, edition_id)
        plan.next_batch(conn, edition_id, 10)
        holds.count_refusal(conn, edition_id, "b.example", "550 5.7.1", threshold=1)
        holds.count_refusal(conn, edition_id, "a.example", "550 5.7.1", threshold=1)
        holds.count_refusal(conn, edition_id, "counting.example", "550 5.7.1", threshold=5)  # not held yet
        first, second = claims.claim(conn, edition_id, 0, 10, "mine", utcnow())[:2]
    with stack.engine.connect() as conn:
        marks = SentMarks(conn, "mine", synchronous)
        try:
            assert marks.settle() is None  # nothing on its way yet
            marks.sent(first, "<m@x>", utcnow())
            assert marks.in_doubt is not None
            assert marks.settle() == EditionState("sending", ("a.example", "b.example"))
            assert marks.in_doubt is None and not marks.lost
            shown = marks.raw.driver_connection.execute("SHOW synchronous_commit").fetchone()[0]
            assert shown == ("on" if synchronous else "off")  # NEWSLETTER_SYNCHRONOUS_MARKS
            with stack.engine.connect() as other:  # committed, seen from elsewhere
                assert other.scalar(select(Delivery.status).where(Delivery.id == first)) == "sent"
            with stack.engine.begin() as other:  # taken from us (a sweep that judged us dead)
                other.execute(Delivery.__table__.update().where(Delivery.id == second).values(claimed_by="theirs"))
            marks.sent(second, "<m@x>", utcnow())
            assert marks.settle() is None and marks.lost  # fenced: nothing written, the sender stops
            with stack.engine.connect() as other:
                assert other.scalar(select(Delivery.status).where(Delivery.id == second)) == "sending"
        finally:
            marks.close()


class CountingSent(OffersPipelining):
    """At every MAIL and at every end of data (aiosmtpd's handle_DATA: the whole message
    is in, our final 250 not yet sent), counts the edition's rows already committed as
    sent; offers PIPELINING or not (aiosmtpd reads a pipelined group a line at a time)."""

    def __init__(self, engine, edition_id, pipelining: bool):
        self.engine, self.edition_id, self.pipelining = engine, edition_id, pipelining
        self.at_mail, self.at_data, self.grouped = [], [], []

    def _sent(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.edition_id == self.edition_id, Delivery.status == "sent"))

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.grouped.append(b"RCPT TO:" in bytes(server._reader._buffer))
        self.at_mail.append(self._sent())
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.at_data.append(self._sent())  # before our final 250: this message is not marked yet
        return "250 OK"


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "no-pipelining"])
def test_every_message_is_marked_after_its_final_reply_and_before_the_next_end_of_data(stack, pipelining):
    _, edition_id = stack.seed(150)
    handler = CountingSent(stack.engine, edition_id, pipelining)
    server = Controller(handler, hostname="127.0.0.1", port=free_port())
    server.start()
    try:
        result, counts = _run(stack, edition_id, 0, lambda: None, port=server.port)
    finally:
        server.stop()
    assert result.outcome == BatchOutcome.DONE and counts == {"sent": 150}
    assert handler.grouped[1:] == [pipelining] * 149  # the send path this run was meant to take
    # The k-th message's end of data came when exactly k messages were committed: every
    # message before it (its predecessor's mark was awaited), and not itself (no mark
    # before the relay's final reply).
    assert handler.at_data == list(range(150))
    # Its MAIL may come while its predecessor's mark is still on its way, never earlier.
    assert all(k - 1 <= seen <= k for k, seen in enumerate(handler.at_mail)), handler.at_mail


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "no-pipelining"])
def test_a_message_whose_predecessors_mark_failed_is_never_completed(stack, pipelining):
    _, edition_id = stack.seed(50)
    handler = CountingSent(stack.engine, edition_id, pipelining)
    server = Controller(handler, hostname="127.0.0.1", port=free_port())

    def taken():  # after the relay took the 20th message, before its mark: a sweep took the rows
        with stack.engine.begin() as conn:
            conn.execute(Delivery.__table__.update().where(Delivery.edition_id == edition_id)
                         .values(claimed_by="theirs"))

    server.start()
    try:
        result, counts = _run(stack, edition_id, 20, taken, port=server.port)
    finally:
        server.stop()
    assert result.outcome == BatchOutcome.LOST
    assert len(handler.at_mail) == 21  # the 21st message was under way when the 20th mark failed,
    assert handler.at_data == list(range(20))  # and its data never ended: the relay kept 20
    assert counts == {"sent": 19, "sending": 31}  # the 20th was the message in flight: the rows' new owner's
