"""A provider's event takes the path of a mailed report: stored raw with its provider (as
the webhook routes store it), each recipient a finding judged by the one rule
(bounces/verdict.py), matched and acted on on its own; a bounced confirmation settles
its request and nothing else; and `bounces reprocess --since` reads an event again with
its provider's reader, never counts a request's finding against anyone, and leaves mail
to an unsubscribe address alone."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces import intake, webhooks
from newsletter.bounces.models import BounceFinding, BounceKind, BounceReport
from newsletter.bounces.providers.common import Event
from newsletter.bounces.verdict import Verdict
from newsletter.db import utcnow
from newsletter.mail.confirmation import send_confirmation
from newsletter.staff.access import cli_actor
from newsletter.subscribers.models import Subscriber, Subscription, Suppression
from newsletter.subscribers.signup import sign_up, validate
from newsletter.tracking.models import Event as History
from tests.bounce_samples import deliver
from tests.personal_mail import Recorder, mailto_of, request
from tests.provider_events import ses_bounce, sns_notification

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)

SPAM = "smtp; 550 5.7.1 [198.51.100.7] Our system has detected that this message is likely unsolicited mail"
UNKNOWN = "smtp; 550 5.1.1 <{}>: Recipient address rejected: User unknown in local recipient table"


def ses_event(inner: dict, *more: tuple[str, str, str]) -> Event:
    """An SES bounce as SNS posts it; `more` adds recipients (address, status, diagnostic)."""
    for address, status, diagnostic in more:
        inner["bounce"]["bouncedRecipients"].append(
            {"emailAddress": address, "action": "failed", "status": status, "diagnosticCode": diagnostic})
    message = sns_notification(inner)
    return Event(message["MessageId"], json.dumps(message).encode())


def receive(engine, settings, event: Event) -> int:
    """Stored as /bounces/ses stores it, then processed; the report's id."""
    (report_id,) = webhooks.receive(engine, settings, "ses", [event]).new
    intake.process_ids(engine, settings, [report_id])
    return report_id


def findings(engine, report_id: int):
    with Session(engine) as s:
        return s.execute(select(BounceFinding.recipient, BounceFinding.kind, BounceFinding.matched_by,
                                BounceFinding.subscriber_id, BounceFinding.suppressed)
                         .where(BounceFinding.report_id == report_id).order_by(BounceFinding.position)).all()


def state(engine, email: str):
    with Session(engine) as s:
        return (s.scalar(select(Subscription.status).join(Subscriber).where(Subscriber.email == email)),
                s.scalar(select(Suppression.reason).where(Suppression.email == email)))


def test_each_recipient_of_an_ses_bounce_is_judged_by_the_rule(engine, settings, publication):
    """SES calls both failures Permanent: the one whose diagnostic says spam suppresses
    nobody, the one that says the user is unknown suppresses; a Transient one is soft."""
    hard, spam, later = deliver(engine, settings, publication,
                                ["hard@example.org", "spam@example.org", "later@example.org"])
    event = ses_event(ses_bounce(hard.email, status="5.1.1", diagnostic=UNKNOWN.format(hard.email),
                                 source=hard.verp, message_id=hard.message_id),
                      (spam.email, "5.7.1", SPAM))
    report_id = receive(engine, settings, event)
    assert findings(engine, report_id) == [
        (hard.email, "hard", "verp", hard.subscriber_id, True),
        (spam.email, "policy", "address", spam.subscriber_id, False)]
    assert state(engine, hard.email) == ("unsubscribed", "hard_bounce")
    assert state(engine, spam.email) == ("active", None)
    with Session(engine) as s:
        report = s.get(BounceReport, report_id)
        assert (report.provider, report.report_type, report.status) == ("ses", "ses", "parsed")
        assert s.scalar(select(History.method).where(History.subscriber_id == hard.subscriber_id,
                                                     History.kind == "bounce")) == "report"

    transient = receive(engine, settings, ses_event(ses_bounce(
        later.email, bounce_type="Transient", status="5.1.1", diagnostic=UNKNOWN.format(later.email),
        source=later.verp)))
    assert findings(engine, transient) == [(later.email, "soft", "verp", later.subscriber_id, False)]
    assert state(engine, later.email) == ("active", None)


def test_a_spam_refusal_alone_suppresses_nobody(engine, settings, publication):
    (ann,) = deliver(engine, settings, publication, ["ann@example.org"])
    report_id = receive(engine, settings, ses_event(ses_bounce(ann.email, status="5.7.1", diagnostic=SPAM,
                                                               source=ann.verp)))
    assert findings(engine, report_id) == [(ann.email, "policy", "verp", ann.subscriber_id, False)]
    assert state(engine, ann.email) == ("active", None)


def old_reading(action, status, texts):
    """The reader before issue 16: a permanent status was the address's end."""
    return Verdict(BounceKind.HARD if status.startswith("5") else BounceKind.SOFT, status)


def test_reading_again_reads_a_provider_event_with_its_reader(engine, settings, publication, monkeypatch):
    ann, bob = deliver(engine, settings, publication, ["ann@example.org", "bob@example.org"])
    monkeypatch.setattr("newsletter.bounces.verdict.read", old_reading)
    misread = receive(engine, settings, ses_event(ses_bounce(ann.email, status="5.7.1", diagnostic=SPAM,
                                                             source=ann.verp)))
    missed = receive(engine, settings, ses_event(ses_bounce(bob.email, status="", diagnostic="",
                                                            subtype="NoEmail", source=bob.verp)))
    monkeypatch.undo()
    assert [f[1] for f in findings(engine, misread) + findings(engine, missed)] == ["hard", "hard"]
    with Session(engine) as s:  # bob's event, as an older reader of ours read it: nothing said, soft
        s.execute(BounceFinding.__table__.update().where(BounceFinding.report_id == missed).values(kind="soft"))
        s.commit()
    today = f"{utcnow():%Y-%m-%d}"

    dry = intake.reread(engine, settings, cli_actor(), today, dry_run=True)
    assert [(c.recipient, c.before, c.after) for c in dry.changes] == [
        (ann.email, "hard", "policy"), (bob.email, "soft", "hard")]
    assert [c.email for c in dry.lifted] == [ann.email]
    assert state(engine, ann.email) == ("unsubscribed", "hard_bounce")

    done = intake.reread(engine, settings, cli_actor(), today, dry_run=False)
    assert ([c.email for c in done.lifted], done.applied) == ([ann.email], True)
    assert state(engine, ann.email) == ("active", None)
    assert findings(engine, misread) == [(ann.email, "policy", "verp", ann.subscriber_id, False)]


def test_a_bounced_confirmation_is_nobodys_when_read_again(engine, settings, session, publication):
    """The pending sign-up's address is a subscriber row: matched by address, a hard
    bounce of its confirmation would suppress it. Its VERP address says it was a
    request's email: the request ends, and reading it again suppresses nobody."""
    publication.bounce_domain = "bounces.spacewar.example.com"
    session.commit()
    decision = sign_up(session, publication, validate(publication, "typo@example.org"), settings.signing_key())
    session.commit()
    backend = Recorder()
    send_confirmation(session, settings, backend, decision.subscription_id)
    mail = backend.last()
    report_id = receive(engine, settings, ses_event(ses_bounce(
        "typo@example.org", status="5.1.1", diagnostic=UNKNOWN.format("typo@example.org"),
        source=mail.envelope_from)))
    assert findings(engine, report_id) == [("typo@example.org", "hard", "verp", None, False)]
    with Session(engine) as s:
        report = s.get(BounceReport, report_id)
        assert (report.subscriber_id, report.status) == (None, "parsed")
        assert "sign-up request ended (nobody suppressed)" in report.outcome
        assert s.get(Subscription, decision.subscription_id).confirm_nonce == 0
    assert state(engine, "typo@example.org") == ("pending", None)

    for dry_run in (True, False):
        result = intake.reread(engine, settings, cli_actor(), f"{utcnow():%Y-%m-%d}", dry_run=dry_run)
        assert (result.reports, result.changes, result.lifted, result.suppressed) == (1, [], [], [])
    assert findings(engine, report_id) == [("typo@example.org", "hard", "verp", None, False)]
    assert state(engine, "typo@example.org") == ("pending", None)


def test_mail_to_an_unsubscribe_address_is_not_read_again(engine, settings, publication):
    (ann,) = deliver(engine, settings, publication, ["ann@example.org"])
    stored = intake.receive(engine, settings, request(mailto_of(settings, ann)), "http")
    assert intake.process_ids(engine, settings, [stored.report_id]) == {"parsed": 1}
    result = intake.reread(engine, settings, cli_actor(), f"{utcnow():%Y-%m-%d}", dry_run=False)
    assert (result.reports, result.changes) == (0, [])
    with Session(engine) as s:
        report = s.get(BounceReport, stored.report_id)
        assert (report.status, report.report_type, report.attempts) == ("parsed", "mailto", 1)
