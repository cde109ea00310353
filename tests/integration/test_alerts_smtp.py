"""Alerts from a send through a real SMTP server (aiosmtpd on loopback): an edition the
relay refuses is paused and its operators are told once; an edition that finishes with
failed deliveries over the threshold is told, one under it is not; an alert the relay
did not take is sent by a later sweep, once."""
from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery import alerts
from newsletter.delivery.models import Alert
from newsletter.editions.build import build_edition
from newsletter.jobs import InlineDispatcher
from newsletter.scheduler import Scheduler
from newsletter.subscribers.import_sql import import_csv
from newsletter.transport.backends import backend_from_settings
from tests.helpers import add_article, at
from tests.integration.servers import Handler, SMTPServer, free_port

OPERATOR = "desk@spacewar.example.com"
NOW = at("2026-11-26T15:00:00")


class RefusingHandler(Handler):
    """Refuses every message after DATA as a policy matter (554 5.7.1), except the operators'."""

    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos != [OPERATOR]:
            return "554 5.7.1 Message rejected: sender reputation"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.handler = RefusingHandler()
    server.handler.keep_messages = True
    server.start()
    yield server
    server.stop()


def setup_edition(settings, session, publication, smtp, readers: int) -> int:
    publication.operator_address = OPERATOR
    add_article(session, "superpowers", "A headline", at("2026-11-26T10:00:00"))
    import_csv(session, publication, "email\n" + "".join(f"r{i:02d}@example.org\n" for i in range(readers)))
    edition, _ = build_edition(session, publication, NOW.date(), NOW)
    session.commit()
    settings.delivery_backend, settings.smtp_port = "smtp", smtp.port
    return edition.id


def to_operator(smtp) -> list:
    messages = [email.message_from_bytes(m, policy=policy.default) for m in smtp.handler.messages]
    return [m for m in messages if m["To"].addresses[0].addr_spec == OPERATOR]


def test_paused_by_refusals_is_told_once(settings, session, publication, smtp):
    edition_id = setup_edition(settings, session, publication, smtp, readers=6)
    status, counts = InlineDispatcher(settings).run_edition(edition_id)
    assert status == "paused" and counts["retry"] == settings.message_refusals_to_pause
    scheduler = Scheduler(settings)
    for _ in range(3):
        scheduler.sweep()  # the sweeper checks paused editions: nothing new to tell
    (alert,) = to_operator(smtp)
    assert alert["Subject"].strip() == "[SpaceWar Daily] Paused: the relay refuses the 2026-11-26 edition"
    body = alert.get_body(("plain",)).get_content()
    assert "554 5.7.1 Message rejected" in body and f"newsletter editions resume {edition_id}" in body


def test_failures_over_the_threshold_are_told_and_under_it_not(settings, session, publication, smtp):
    smtp.handler = Handler()  # accepts everything, refuses the addresses in `reject`
    smtp.handler.keep_messages = True
    smtp.stop()
    smtp.start()
    smtp.handler.reject = {"r00@example.org"}  # 1 of 20 = 5%: not over the 5% threshold
    edition_id = setup_edition(settings, session, publication, smtp, readers=20)
    assert InlineDispatcher(settings).run_edition(edition_id)[0] == "sent"
    assert to_operator(smtp) == []
    with Session(session.bind) as s:
        assert s.scalar(select(Alert)) is None
    smtp.handler.reject = {"r01@example.org", "r02@example.org"}  # the next day: 2 of 19 = 10.5%
    add_article(session, "superpowers", "Another headline", at("2026-11-27T10:00:00"))
    edition, _ = build_edition(session, publication, at("2026-11-27T15:00:00").date(), at("2026-11-27T15:00:00"))
    session.commit()
    assert InlineDispatcher(settings).run_edition(edition.id)[0] == "sent"
    (alert,) = to_operator(smtp)
    assert alert["Subject"].strip() == "[SpaceWar Daily] Failures in the 2026-11-27 edition"
    assert "2 of 19 messages failed (10.5%, threshold 5%), by class: recipient_refused 2" in \
        " ".join(alert.get_body(("plain",)).get_content().split())  # wrapped at 72 columns


def test_an_alert_the_relay_did_not_take_is_sent_by_a_later_sweep(settings, engine, session, publication):
    publication.operator_address = OPERATOR
    edition, _ = build_edition(session, publication, NOW.date(), NOW)  # no headlines: empty
    session.commit()
    port = free_port()
    settings.delivery_backend, settings.smtp_port, settings.smtp_timeout = "smtp", port, 2
    assert InlineDispatcher(settings).deliver_edition(edition.id).endswith("empty")  # the relay is down
    with Session(engine) as s:
        alert = s.scalar(select(Alert))
        # not sent, and no attempt spent: nobody could have taken it (the relay was down)
        assert alert.sent_at is None and alert.attempts == 0 and "cannot connect" in alert.last_error
    relay = SMTPServer(port)
    relay.handler.keep_messages = True
    relay.start()
    try:
        backend = backend_from_settings(settings)
        assert alerts.send_pending(engine, settings, backend) == 0  # claimed a moment ago: not yet
        later = utcnow() + timedelta(seconds=settings.lease_seconds + 1)
        assert alerts.send_pending(engine, settings, backend, now=later) == 1
        assert alerts.send_pending(engine, settings, backend, now=later + timedelta(minutes=5)) == 0  # once
        assert len(to_operator(relay)) == 1
    finally:
        relay.stop()
