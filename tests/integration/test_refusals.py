"""Refusals that are not about the recipient never punish the recipient (issue 7, item 1).

A real SMTP server on loopback refuses MAIL FROM, refuses DATA with 554 5.7.1, answers
552, or refuses one domain with 5.7.1 policy codes; the delivery runs inline through
the same driver the workers use, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery import send_acts
from newsletter.delivery.models import Delivery
from newsletter.delivery.report import report
from newsletter.jobs import InlineDispatcher
from newsletter.operators import editions as operator_editions
from newsletter.staff.access import cli_actor
from newsletter.staff.models import AuditEntry
from newsletter.subscribers.models import Subscription, SubscriptionStatus, Suppression
from newsletter.tracking.models import Event
from newsletter.transport.backends import SMTPBackend
from tests.command_line import CommandLine
from tests.helpers import seed_edition as seed
from tests.integration.servers import SMTPServer

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


def deliver(settings, smtp, edition_id):
    return InlineDispatcher(settings, SMTPBackend("127.0.0.1", smtp.port, timeout=5)).run_edition(edition_id)


def status_lines(settings, edition_id) -> str:
    """What `newsletter editions status` prints to the operator."""
    return CommandLine.for_settings(settings)("editions", "status", str(edition_id)).stdout


def punished(engine) -> tuple[int, int, int]:
    """(suppressions, unsubscribe events, bounce events)"""
    with Session(engine) as s:
        return (s.scalar(select(func.count()).select_from(Suppression)),
                s.scalar(select(func.count()).select_from(Event).where(Event.kind == "unsubscribe")),
                s.scalar(select(func.count()).select_from(Event).where(Event.kind == "bounce")))


EVERYONE = [f"r{i}@example.org" for i in range(12)]


@pytest.mark.parametrize("where", ["data", "mail"])
def test_a_refused_message_pauses_the_edition_and_suppresses_nobody(engine, settings, publication, smtp, where):
    settings.retry_base_seconds = 0
    settings.message_refusals_to_pause = 2  # not the default (3): the setting is what counts
    edition_id = seed(engine, publication, EVERYONE)
    if where == "data":
        smtp.handler.data_reply = lambda envelope: "554 5.7.1 Message content rejected as spam"
    else:
        smtp.handler.mail_reply = lambda sender: "550 5.7.1 Sender address rejected"
    status, counts = deliver(settings, smtp, edition_id)
    assert status == "paused"
    assert punished(engine) == (0, 0, 0)
    with engine.connect() as conn:
        r = report(conn, edition_id)
    assert "refusals of the message" in r.pause_reason and "5.7.1" in r.pause_reason
    with Session(engine) as s:
        refused = s.scalars(select(Delivery).where(Delivery.error_class == "message_refused")).all()
        assert len(refused) == 2
        assert all(d.attempts >= 1 and "5.7.1" in d.last_error for d in refused)
        assert all(sub.status == SubscriptionStatus.ACTIVE for sub in s.scalars(select(Subscription)))
    shown = status_lines(settings, edition_id)
    assert f"edition {edition_id}: paused" in shown
    assert "paused: after 2 refusals of the message by the relay (nobody was suppressed)" in shown, shown
    assert "5.7.1" in shown
    assert "failed by class" not in shown  # nobody failed for good: they wait for the resume
    # The operator fixes the cause and resumes: everyone gets it once (nobody missing, nobody twice).
    smtp.handler.data_reply = smtp.handler.mail_reply = lambda _: None
    with engine.begin() as conn:
        send_acts.resume(conn, edition_id)
    status, _ = deliver(settings, smtp, edition_id)
    assert status == "sent"
    assert smtp.handler.received == {a: 1 for a in EVERYONE}
    assert punished(engine) == (0, 0, 0)


def test_a_full_mailbox_is_temporary(engine, settings, publication, smtp):
    settings.retry_base_seconds = 0.05
    edition_id = seed(engine, publication, EVERYONE[:4])
    full = {"r1@example.org": 2}  # two refusals, then room in the mailbox

    def mailbox_full(envelope):
        rcpt = envelope.rcpt_tos[0]
        if full.get(rcpt):
            full[rcpt] -= 1
            return "552 5.2.2 Mailbox full"
        return None
    smtp.handler.data_reply = mailbox_full
    status, counts = deliver(settings, smtp, edition_id)
    assert status == "sent" and smtp.handler.received == {a: 1 for a in EVERYONE[:4]}
    assert punished(engine) == (0, 0, 0)
    with Session(engine) as s:
        assert s.scalar(select(Delivery.attempts).where(Delivery.message_id != "").order_by(
            Delivery.attempts.desc()).limit(1)) == 2


def test_policy_refusals_from_one_domain_hold_that_domain_only(engine, settings, publication, smtp):
    settings.policy_refusals_to_hold_domain = 2
    blocked = [f"b{i}@blocked.example" for i in range(5)]
    edition_id = seed(engine, publication, EVERYONE[:6] + blocked)
    smtp.handler.rcpt_reply = lambda a: "550 5.7.1 Refused by policy" if a.endswith("@blocked.example") else None
    status, _ = deliver(settings, smtp, edition_id)
    assert status == "sending"  # the held domain keeps it open
    assert smtp.handler.received == {a: 1 for a in EVERYONE[:6]}
    assert punished(engine) == (0, 0, 0)
    with engine.connect() as conn:
        r = report(conn, edition_id)
    assert [d for d, _, _ in r.held_domains] == ["blocked.example"]
    assert r.counts["held"] + r.counts["retry"] == 5 and r.counts["held"] >= 3
    shown = status_lines(settings, edition_id)
    assert "held domain blocked.example after 2 policy refusals (last: " in shown and "5.7.1" in shown, shown
    assert f"`newsletter editions release-domain {edition_id} blocked.example` when fixed" in shown
    # Released after the cause is fixed: they get it, once.
    smtp.handler.rcpt_reply = lambda a: None
    with Session(engine) as s:  # as the CLI, the console and the API do it: role-checked and audited
        assert operator_editions.release_domain(s, cli_actor(), edition_id, "Blocked.Example ",
                                               deliver=lambda _: None) >= 3  # driven below
        s.commit()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "edition.release_domain")).one()
        assert entry.target == f"edition:{edition_id}" and '"blocked.example"' in entry.detail
    settings.retry_base_seconds = 0
    with Session(engine) as s:  # the two that were refused wait for their back-off: make them due
        for d in s.scalars(select(Delivery).where(Delivery.status == "retry")):
            d.next_attempt_at = utcnow()
        s.commit()
    status, _ = deliver(settings, smtp, edition_id)
    assert status == "sent"
    assert smtp.handler.received == {a: 1 for a in EVERYONE[:6] + blocked}


def test_recipient_refusals_still_bounce(engine, settings, publication, smtp):
    edition_id = seed(engine, publication, EVERYONE[:3])
    smtp.handler.reject = {"r1@example.org"}
    status, _ = deliver(settings, smtp, edition_id)
    assert status == "sent"
    assert punished(engine) == (1, 1, 1)
    with engine.connect() as conn:
        assert report(conn, edition_id).failures == {"recipient_refused": 1}
