"""`newsletter bounces reprocess --since DATE [--dry-run]`: reports read by an old, wrong
reading are read again with today's rules. A reader wrongly suppressed is listed, then
brought back, recorded in their history and the audit log; someone who left by themselves
is never brought back; a suppression that another report, or the relay while sending,
justifies stays; a dead address the old reading missed is suppressed now."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter.bounces import intake
from newsletter.bounces.models import BounceFinding
from newsletter.bounces.models import BounceKind as K
from newsletter.bounces.verdict import Verdict
from newsletter.db import utcnow
from newsletter.delivery.models import Delivery
from newsletter.errors import InvalidInput
from newsletter.staff.access import cli_actor
from newsletter.staff.models import AuditEntry
from newsletter.subscribers.lifecycle import unsubscribe
from newsletter.subscribers.models import Subscriber, Subscription, Suppression
from newsletter.tracking.models import Event, Method
from tests.bounce_samples import deliver
from tests.command_line import CommandLine

SPAM = ("550-5.7.1 [203.0.113.40] Our system has detected that this message is likely unsolicited mail. "
        "To reduce the amount of spam sent to Gmail, this message has been blocked.")
UNKNOWN = "550 5.1.1 <{}>: Recipient address rejected: User unknown in local recipient table"
NO_CODE = """From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: daily@spacewar.example.com
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {}
    user unknown
"""


def old_reading(action, status, texts):
    """The reader before issue 16: a permanent status was the address's end; no status, soft."""
    return Verdict(K.HARD if status.startswith("5") else K.SOFT, status)


@pytest.fixture
def misread(engine, settings, publication, monkeypatch):
    """Six readers, the reports about them processed by the old reading."""
    people = deliver(engine, settings, publication, [f"{n}@example.org" for n in
                                                      ("ann", "bob", "carol", "dave", "erin", "fred")])
    ann, bob, carol, dave, erin, fred = people
    with Session(engine) as s:  # bob leaves by himself before his report arrives
        unsubscribe(s, s.get(Subscriber, bob.subscriber_id), publication, Method.ONE_CLICK)
        s.commit()
    raws = [ann.report("exim_dsn_generic.eml", status="5.0.0", diagnostic=SPAM),
            bob.report("exim_dsn_generic.eml", status="5.0.0", diagnostic=SPAM),
            carol.report("exim_dsn_generic.eml", status="5.1.1", diagnostic=UNKNOWN.format(carol.email)),
            NO_CODE.format(dave.email).encode(),
            erin.report("exim_dsn_generic.eml", status="5.0.0", diagnostic=SPAM)]
    monkeypatch.setattr("newsletter.bounces.verdict.read", old_reading)
    ids = [intake.receive(engine, settings, raw, "http").report_id for raw in raws]
    assert intake.process_ids(engine, settings, ids) == {"parsed": 5}
    monkeypatch.undo()
    with Session(engine) as s:  # the relay refused erin while sending, too
        s.execute(update(Delivery).where(Delivery.id == erin.delivery_id).values(error_class="recipient_refused"))
        s.commit()
    return people


def state(engine, m):
    with Session(engine) as s:
        return (s.scalar(select(Subscription.status).where(Subscription.subscriber_id == m.subscriber_id)),
                sorted(s.scalars(select(Suppression.reason).where(Suppression.email == m.email))))


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_a_misread_bounce_is_listed_then_mended_and_recorded(engine, settings, misread):
    ann, bob, carol, dave, erin, fred = misread
    before = {m.email: state(engine, m) for m in misread}
    assert before == {"ann@example.org": ("unsubscribed", ["hard_bounce"]),
                      "bob@example.org": ("unsubscribed", ["hard_bounce", "unsubscribe"]),
                      "carol@example.org": ("unsubscribed", ["hard_bounce"]),
                      "dave@example.org": ("active", []),  # the old reading: soft
                      "erin@example.org": ("unsubscribed", ["hard_bounce"]),
                      "fred@example.org": ("active", [])}
    today = f"{utcnow():%Y-%m-%d}"

    dry = intake.reread(engine, settings, cli_actor(), today, dry_run=True)
    assert (dry.reports, dry.applied) == (5, False)
    assert [(c.recipient, c.before, c.after) for c in dry.changes] == [
        ("ann@example.org", "hard", "policy"), ("bob@example.org", "hard", "policy"),
        ("dave@example.org", "soft", "hard"), ("erin@example.org", "hard", "policy")]
    assert [c.email for c in dry.lifted] == ["ann@example.org", "bob@example.org"]
    assert "hard 5.0.0 -> policy 5.0.0" in dry.lifted[0].why
    assert [c.email for c in dry.suppressed] == ["dave@example.org"]
    assert {m.email: state(engine, m) for m in misread} == before  # a dry run changes nothing

    done = intake.reread(engine, settings, cli_actor(), today, dry_run=False)
    assert ([c.email for c in done.lifted], [c.email for c in done.suppressed], done.applied) == (
        ["ann@example.org", "bob@example.org"], ["dave@example.org"], True)
    assert state(engine, ann) == ("active", [])  # back
    assert state(engine, bob) == ("unsubscribed", ["unsubscribe"])  # he left by himself: stays out
    assert state(engine, carol) == ("unsubscribed", ["hard_bounce"])  # user unknown: read right the first time
    assert state(engine, dave) == ("unsubscribed", ["hard_bounce"])  # a dead address the old reading missed
    assert state(engine, erin) == ("unsubscribed", ["hard_bounce"])  # the relay refused her while sending
    assert state(engine, fred) == ("active", [])
    with Session(engine) as s:
        history = s.execute(select(Event.subscriber_id, Event.kind, Event.method)
                            .where(Event.method == "correction").order_by(Event.id)).all()
        audit = s.execute(select(AuditEntry.action, AuditEntry.target).order_by(AuditEntry.id)).all()
        flags = dict(s.execute(select(BounceFinding.subscriber_id, BounceFinding.suppressed)).all())
    assert history == [(ann.subscriber_id, "correction", "correction"),
                       (ann.subscriber_id, "resubscribe", "correction"),
                       (bob.subscriber_id, "correction", "correction")]
    assert audit == [("subscriber.bounce_corrected", f"subscriber:{ann.subscriber_id}"),
                     ("subscriber.bounce_corrected", f"subscriber:{bob.subscriber_id}"),
                     ("subscriber.bounce_suppressed", f"subscriber:{dave.subscriber_id}")]
    assert flags == {ann.subscriber_id: False, bob.subscriber_id: False, carol.subscriber_id: True,
                     dave.subscriber_id: True, erin.subscriber_id: True}

    again = intake.reread(engine, settings, cli_actor(), today, dry_run=False)  # nothing left to mend
    assert (again.changes, again.lifted, again.suppressed) == ([], [], [])


@pytest.mark.parametrize("since, why", [("yesterday", "YYYY-MM-DD"), ("2026-02-30", "YYYY-MM-DD"),
                                        ("2999-01-01", "in the future")])
def test_a_bad_date_is_refused(engine, settings, since, why):
    with pytest.raises(InvalidInput, match=why):
        intake.reread(engine, settings, cli_actor(), since, dry_run=True)


def test_the_command_lists_then_mends(engine, settings, misread):
    ann = misread[0]
    cli = CommandLine.for_settings(settings, COLUMNS="250")

    def run(*args, code=0):
        return cli("bounces", "reprocess", *args, code=code)

    today = f"{utcnow():%Y-%m-%d}"
    dry = run("--since", today, "--dry-run").stdout
    assert f"read again: 5 reports received since {today}; 4 recipients read differently" in dry
    assert "would no longer be suppressed: 2" in dry and f"subscriber {ann.subscriber_id} ann@example.org" in dry
    assert "would now be suppressed: 1" in dry and "dave@example.org" in dry and "dry run: nothing changed" in dry
    assert state(engine, ann) == ("unsubscribed", ["hard_bounce"])
    done = run("--since", today).stdout
    assert "no longer suppressed, brought back: 2" in done and "suppressed now: 1" in done
    assert state(engine, ann) == ("active", [])
    assert "--dry-run goes with --since" in run("--dry-run", code=2).stderr
    assert "not both" in run("1", "--since", today, code=2).stderr
    bad = run("--since", "last week", code=2).stderr
    assert "--since must be a day, YYYY-MM-DD" in bad and len(bad.strip().splitlines()) == 1
