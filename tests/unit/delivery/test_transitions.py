"""The delivery state machine: each transition the code makes, made by the code that makes
it, and checked against the one table (states.TRANSITIONS)."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import holds, plan, send_acts
from newsletter.delivery.batch import send_batch
from newsletter.delivery.claims import Claim, claim
from newsletter.delivery.compose import Recipient
from newsletter.delivery.driver import load
from newsletter.delivery.marks import SentMarks
from newsletter.delivery.models import Delivery
from newsletter.delivery.outcomes import give_back, record_failure, set_status
from newsletter.delivery.states import TRANSITIONS, DeliveryStatus, can_move
from newsletter.editions.build import build_edition
from newsletter.subscribers.models import Subscriber
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.failures import FailureClass, SendFailure, Stage, refusal
from newsletter.transport.ratelimit import NoLimit
from tests.helpers import Scripted, add_article, at

D = DeliveryStatus
rows = Delivery.__table__


@pytest.fixture
def world(engine, session, publication, settings):
    add_article(session, "superpowers", "A headline", at("2026-11-26T10:00:00"))
    subs = [add_subscriber(session, publication, f"r{i}@example.org") for i in range(2)]
    add_subscriber(session, publication, "x@held.example")
    ed, _ = build_edition(session, publication, date(2026, 11, 26), now=at("2026-11-26T12:00:00"))
    session.commit()
    with engine.begin() as conn:
        plan.start(conn, ed.id)
        plan.next_batch(conn, ed.id, 100)
    return ed.id, publication.id, subs[0]


def status(conn, did):
    return conn.scalar(select(rows.c.status).where(rows.c.id == did))


def first(conn, edition_id):
    return conn.scalar(select(rows.c.id).where(rows.c.edition_id == edition_id).order_by(rows.c.id))


def move_and_check(conn, did, before, action, after):
    conn.execute(update(rows).where(rows.c.id == did).values(status=before, claimed_by="t",
                                                             next_attempt_at=utcnow() - timedelta(seconds=1)))
    action()
    assert status(conn, did) == after
    assert can_move(before, after), f"{before} -> {after} is not in the table"


def recipient(sub):
    return Recipient(sub.subscriber_id, sub.subscriber.email, "", None, sub.subscriber.token_key, 0)


@pytest.mark.parametrize("before", [D.PENDING, D.RETRY])
def test_claim(engine, world, before):
    edition_id, _, _ = world
    with engine.begin() as conn:
        did = first(conn, edition_id)
        move_and_check(conn, did, before, lambda: claim(conn, edition_id, 0, 10**9, "t2", utcnow()), D.SENDING)


def test_sent(engine, world):
    edition_id, _, _ = world
    with engine.connect() as conn:
        did = first(conn, edition_id)
        marks = SentMarks(conn, "t")
        move_and_check(conn, did, D.SENDING, lambda: marks.sent(did, "<m@x>", utcnow()), D.SENT)
        marks.close()
        conn.commit()


@pytest.mark.parametrize("failure, after", [
    (refusal(Stage.DATA, 451, "4.3.0 later"), D.RETRY),
    (refusal(Stage.DATA, 554, "5.7.1 spam"), D.RETRY),
    (refusal(Stage.RCPT, 550, "5.1.1 unknown"), D.FAILED),
    (SendFailure(FailureClass.UNDELIVERABLE, "no SMTPUTF8"), D.FAILED),
    (SendFailure(FailureClass.INTERNAL_ERROR, "boom"), D.FAILED),
], ids=["temporary", "message", "recipient", "undeliverable", "internal"])
def test_failures(engine, world, failure, after):
    edition_id, pub_id, sub = world
    settings = Settings(secret_key="k", database_url="sqlite://")
    with engine.connect() as conn:
        did = first(conn, edition_id)
        move_and_check(conn, did, D.SENDING, lambda: record_failure(
            conn, settings, edition_id, pub_id, did, "t", recipient(sub), failure, utcnow()), after)


def test_attempts_used_up_then_a_last_round_then_failed(engine, world):
    """Temporary failures: the attempts with back-off, then one last round after the
    long pause (NEWSLETTER_LAST_ROUND_SECONDS), and only then final."""
    edition_id, pub_id, sub = world
    settings = Settings(secret_key="k", database_url="sqlite://", max_attempts=1, last_round_seconds=3600)
    later = refusal(Stage.DATA, 451, "later")
    with engine.connect() as conn:
        did = first(conn, edition_id)
        now = utcnow()
        move_and_check(conn, did, D.SENDING, lambda: record_failure(
            conn, settings, edition_id, pub_id, did, "t", recipient(sub), later, now), D.RETRY)
        due = conn.scalar(select(rows.c.next_attempt_at).where(rows.c.id == did))
        assert abs((due - now).total_seconds() - 3600) < 1
        move_and_check(conn, did, D.SENDING, lambda: record_failure(
            conn, settings, edition_id, pub_id, did, "t", recipient(sub), later, utcnow()), D.FAILED)


def test_given_back_and_skipped(engine, world):
    edition_id, _, _ = world
    with engine.begin() as conn:
        did = first(conn, edition_id)
        move_and_check(conn, did, D.SENDING, lambda: give_back(conn, [did], "t", utcnow()), D.PENDING)
        move_and_check(conn, did, D.SENDING, lambda: set_status(conn, [did], "t", D.SKIPPED), D.SKIPPED)


@pytest.mark.parametrize("before", [D.PENDING, D.RETRY])
def test_held_and_released(engine, world, before):
    edition_id, _, _ = world
    with engine.begin() as conn:
        did = conn.scalar(select(rows.c.id).where(rows.c.edition_id == edition_id).order_by(rows.c.id.desc()))
        move_and_check(conn, did, before, lambda: holds.count_refusal(conn, edition_id, "held.example", "5.7.1", 1),
                       D.HELD)
        move_and_check(conn, did, D.HELD, lambda: holds.release(conn, edition_id, "held.example"), D.PENDING)


def test_a_policy_refusal_at_the_threshold_holds_the_one_being_sent(engine, world):
    edition_id, pub_id, _ = world
    settings = Settings(secret_key="k", database_url="sqlite://", policy_refusals_to_hold_domain=1)
    with engine.connect() as conn:
        did = conn.scalar(select(rows.c.id).where(rows.c.edition_id == edition_id).order_by(rows.c.id.desc()))
        sub = conn.execute(select(Subscriber).where(Subscriber.email == "x@held.example")).one()
        held = Recipient(sub.id, sub.email, "", None, sub.token_key, 0)
        move_and_check(conn, did, D.SENDING, lambda: record_failure(
            conn, settings, edition_id, pub_id, did, "t", held, refusal(Stage.RCPT, 550, "5.7.1 blocked"),
            utcnow()), D.HELD)


def test_a_policy_refusal_that_uses_up_the_attempts_is_failed_and_says_so(engine, world):
    """The hold comes at this refusal, but the row is out of attempts: it is failed, and
    what record_failure reports (what the command line adds up) says failed too."""
    edition_id, pub_id, _ = world
    settings = Settings(secret_key="k", database_url="sqlite://", policy_refusals_to_hold_domain=1, max_attempts=1)
    with engine.connect() as conn:
        did = conn.scalar(select(rows.c.id).where(rows.c.edition_id == edition_id).order_by(rows.c.id.desc()))
        sub = conn.execute(select(Subscriber).where(Subscriber.email == "x@held.example")).one()
        held = Recipient(sub.id, sub.email, "", None, sub.token_key, 0)
        recorded = []
        move_and_check(conn, did, D.SENDING, lambda: recorded.append(record_failure(
            conn, settings, edition_id, pub_id, did, "t", held, refusal(Stage.RCPT, 550, "5.7.1 blocked"),
            utcnow())), D.FAILED)
    assert (recorded[0].status, recorded[0].held_domain) == (D.FAILED, "held.example")


def test_a_claimed_row_of_a_held_domain_is_held_at_its_turn(engine, world, settings):
    """A hold made by another sender after this one claimed its rows: the row is held at
    its turn (sending -> held), the others go out."""
    edition_id, _, _ = world
    edition, pub = load(engine, edition_id)
    settings.pause_check_seconds = 0.001  # the gate reads the holds again before the next message
    did = None

    class HeldMeanwhile(Scripted):
        def send(self, sender, recipient, data, name_hint, **hooks):
            if not self.accepted:  # while this sender holds its rows, another one holds the domain
                with engine.begin() as other:
                    assert status(other, did) == D.SENDING
                    holds.count_refusal(other, edition_id, "held.example", "5.7.1 blocked", 1)
                    assert status(other, did) == D.SENDING  # claimed rows are not moved under their sender
            super().send(sender, recipient, data, name_hint, **hooks)

    backend = HeldMeanwhile()
    with engine.connect() as conn:
        did = conn.scalar(select(rows.c.id).where(rows.c.edition_id == edition_id).order_by(rows.c.id.desc()))
        send_batch(conn, settings, edition, pub, 0, 10**9, Claim("t", edition_id, 0, 10**9, 60), backend, NoLimit())
        assert status(conn, did) == D.HELD and can_move(D.SENDING, D.HELD)
    assert sorted(backend.accepted) == ["r0@example.org", "r1@example.org"]


@pytest.mark.parametrize("before", [D.PENDING, D.RETRY, D.HELD])
def test_cancelled(engine, world, before):
    edition_id, _, _ = world
    with engine.begin() as conn:
        did = first(conn, edition_id)
        move_and_check(conn, did, before, lambda: send_acts.cancel(conn, edition_id), D.SKIPPED)


def test_final_states_are_final():
    assert all(TRANSITIONS[s] == frozenset() for s in (D.SENT, D.SKIPPED))
    assert TRANSITIONS[D.FAILED] == frozenset({D.PENDING})  # only an operator's retry (send_acts.retry_failed)
