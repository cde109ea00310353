"""The cases of issue 16, received and processed as the product does (stored raw, then
read, matched and acted on): refusals that are not about the address suppress nobody,
evidence about the address suppresses, a report naming two unknown users suppresses
both, and a permanent failure that proves nothing suppresses only at the second."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces import intake
from newsletter.bounces.models import BounceFinding, BounceReport
from newsletter.db import utcnow
from newsletter.publications.schedule import local_date
from newsletter.subscribers.models import Subscription, Suppression
from newsletter.tracking.models import Event
from tests.bounce_samples import deliver

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
SPAM = ("550-5.7.1 [203.0.113.40] Our system has detected that this message is likely unsolicited mail. "
        "To reduce the amount of spam sent to Gmail, this message has been blocked.")
ACTIVE = ("active", None)
ENDED = ("unsubscribed", "hard_bounce")


def receive(engine, settings, raw: bytes) -> BounceReport:
    stored = intake.receive(engine, settings, raw, "http")
    intake.process_ids(engine, settings, [stored.report_id])
    with Session(engine, expire_on_commit=False) as s:
        return s.get(BounceReport, stored.report_id)


def state(engine, subscriber_id: int, email: str):
    with Session(engine) as s:
        return (s.scalar(select(Subscription.status).where(Subscription.subscriber_id == subscriber_id)),
                s.scalar(select(Suppression.reason).where(Suppression.email == email)))


@pytest.mark.parametrize("status, diagnostic, outcome", [
    ("5.0.0", SPAM, "policy refusal 5.0.0: nobody suppressed"),
    ("5.1.8", "501 5.1.8 <bounces@news.example.com>: Sender address rejected: Domain not found",
     "policy refusal 5.1.8: nobody suppressed"),
    ("5.2.0", "550 5.2.0 Message rejected by content filter: suspected spam",
     "policy refusal 5.2.0: nobody suppressed"),
])
def test_a_refusal_that_is_not_about_the_address_suppresses_nobody(engine, settings, publication, status,
                                                                    diagnostic, outcome):
    (m,) = deliver(engine, settings, publication, ["ann@example.org"])
    got = receive(engine, settings, m.report("exim_dsn_generic.eml", status=status, diagnostic=diagnostic))
    assert (got.status, got.kind, got.matched_by, got.outcome) == ("parsed", "policy", "verp", outcome)
    assert state(engine, m.subscriber_id, m.email) == ACTIVE


def test_a_generic_status_whose_diagnostic_says_user_unknown_suppresses(engine, settings, publication):
    (m,) = deliver(engine, settings, publication, ["ann@example.org"])
    got = receive(engine, settings, m.report(
        "exim_dsn_generic.eml", status="5.0.0",
        diagnostic="550 5.1.1 <ann@example.org>: Recipient address rejected: User unknown in local recipient table"))
    assert (got.kind, got.outcome) == ("hard", "hard: ann@example.org suppressed, subscription ended")
    assert state(engine, m.subscriber_id, m.email) == ENDED


def test_a_plain_text_bounce_naming_two_unknown_users_suppresses_both(engine, settings, publication):
    ann, bob, bystander = deliver(engine, settings, publication,
                                  ["ann@example.org", "bob@example.net", "carol@example.org"])
    # The returned message is ann's (its Message-ID); bob is named by address only.
    got = receive(engine, settings, ann.report("qmail_two_unknown_users.eml", rcpt2=bob.email))
    assert got.status == "parsed"
    assert got.outcome == ("ann@example.org: hard: ann@example.org suppressed, subscription ended; "
                           "bob@example.net: hard: bob@example.net suppressed, subscription ended")
    with Session(engine) as s:
        findings = s.execute(select(BounceFinding.recipient, BounceFinding.matched_by, BounceFinding.subscriber_id,
                                    BounceFinding.suppressed).where(BounceFinding.report_id == got.id)
                             .order_by(BounceFinding.position)).all()
        methods = set(s.scalars(select(Event.method).where(Event.kind == "bounce")))
    assert findings == [("ann@example.org", "message-id", ann.subscriber_id, True),
                        ("bob@example.net", "address", bob.subscriber_id, True)]
    assert methods == {"report"}
    assert state(engine, ann.subscriber_id, ann.email) == ENDED
    assert state(engine, bob.subscriber_id, bob.email) == ENDED
    assert state(engine, bystander.subscriber_id, bystander.email) == ACTIVE


def test_a_failure_that_proves_nothing_suppresses_at_the_second_edition_only(engine, settings, publication):
    bare = "550 Requested action not taken: mailbox unavailable"
    (first,) = deliver(engine, settings, publication, ["ann@example.org"])
    got = receive(engine, settings, first.report("exim_dsn_generic.eml", status="5.0.0", diagnostic=bare))
    assert (got.kind, got.outcome) == ("uncertain", "uncertain failure 1 of 2 within 14 days")
    again = receive(engine, settings, first.report("exim_dsn_generic.eml", status="5.0.0",
                                                   diagnostic=bare + " "))  # the same message: counts once
    assert again.outcome == f"already counted (report {got.id})"
    assert state(engine, first.subscriber_id, first.email) == ACTIVE
    (second,) = deliver(engine, settings, publication, ["ann@example.org"],
                        local_date(publication.timezone, utcnow()) - timedelta(days=1))
    got = receive(engine, settings, second.report("exim_dsn_generic.eml", status="5.0.0", diagnostic=bare))
    assert got.outcome == "uncertain failure 2 of 2 within 14 days: ann@example.org suppressed, subscription ended"
    assert state(engine, first.subscriber_id, first.email) == ENDED
