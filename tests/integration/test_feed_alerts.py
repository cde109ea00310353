"""A feed down past its threshold (a real HTTP server on loopback answering 500): one
alert email to the publication's operators through a real SMTP server (aiosmtpd), one
recovery note when it works again, both by the edition alerts' path (raised, recorded
once and sent by the sweeper)."""
from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.delivery.models import Alert
from newsletter.ingest.feeds import poll_feed
from newsletter.ingest.models import Feed
from newsletter.scheduler import Scheduler
from tests.helpers import at
from tests.integration.feed_server import FeedServer
from tests.integration.servers import SMTPServer

OPERATOR = "desk@spacewar.example.com"
T0 = at("2026-11-26T08:00:00")


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.handler.keep_messages = True
    server.start()
    yield server
    server.stop()


@pytest.fixture
def feed_server():
    server = FeedServer(T0).start()
    yield server
    server.stop()


def to_operator(smtp) -> list:
    messages = [email.message_from_bytes(m, policy=policy.default) for m in smtp.handler.messages]
    return [m for m in messages if m["To"].addresses[0].addr_spec == OPERATOR]


def test_a_feed_down_past_its_threshold_is_one_alert_and_one_note(settings, session, publication, smtp,
                                                                  feed_server):
    publication.operator_address = OPERATOR
    session.add(Feed(name="wire", url=f"{feed_server.url}/feed?key=k3y", section="superpowers",
                     allow_private=True, interval_seconds=900, alert_after_minutes=60))
    session.commit()
    settings.delivery_backend, settings.smtp_port = "smtp", smtp.port
    scheduler = Scheduler(settings)

    def poll(minutes: int) -> str:
        outcome = poll_feed(session.bind, settings, "wire", T0 + timedelta(minutes=minutes), force=True).outcome
        scheduler.sweep()  # sends what alerts are waiting
        return outcome

    assert poll(0) == "new"
    feed_server.mode = "500"
    # Failing from minute 10: the polls at 10 and 40 are under the hour, the one at 100 is
    # past it (the alert), the one at 220 raises nothing more.
    assert [poll(m) for m in (10, 40)] == ["error", "error"] and to_operator(smtp) == []
    assert poll(100) == "error" and poll(220) == "error"
    (alert,) = to_operator(smtp)
    assert alert["Subject"].strip() == "[SpaceWar Daily] A feed is failing"
    body = " ".join(alert.get_body(("plain",)).get_content().split())
    assert f"feed 'wire' ({feed_server.url}/feed) has failed since 2026-11-26 08:10 UTC (90 minutes, 3 polls" in body
    assert "HTTP 500" in body and "newsletter feeds status" in body and "k3y" not in body

    feed_server.mode = "ok"
    assert poll(300) in ("new", "not modified") and poll(320) in ("new", "not modified")
    alert, note = to_operator(smtp)
    assert note["Subject"].strip() == "[SpaceWar Daily] A failing feed works again"
    assert "works again at 2026-11-26 13:00 UTC, after failing for 290 minutes" in " ".join(
        note.get_body(("plain",)).get_content().split())
    with Session(session.bind) as s:
        kinds = [a.kind for a in s.scalars(select(Alert).order_by(Alert.id))]
        feed = s.scalar(select(Feed))
    assert kinds == ["feed_down", "feed_back"]
    assert feed.failing_since is None and (feed.total_polls, feed.total_errors) == (7, 4)

    # A short failure (one poll, or under the threshold) tells nobody, and no note either.
    feed_server.mode = "500"
    assert poll(400) == "error" and poll(420) == "error"
    feed_server.mode = "ok"
    assert poll(440) in ("new", "not modified")
    assert len(to_operator(smtp)) == 2
