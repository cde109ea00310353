"""The welcome states the time zone the schedule runs in for that reader: their own only
for a publication sent at each subscriber's local time."""
from __future__ import annotations

import email
from email import policy

import pytest

from newsletter.mail.account_mail import send_welcome
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import OutboxBackend


@pytest.mark.parametrize("local_time, zone", [(False, "America/New_York"), (True, "Europe/Paris")])
def test_the_welcome_names_the_zone_the_schedule_runs_in(session, settings, publication, tmp_path, local_time, zone):
    publication.local_time = local_time
    sub = add_subscriber(session, publication, "ann@example.org", "Ann")
    sub.subscriber.timezone = "Europe/Paris"
    session.commit()
    outbox = tmp_path / "outbox"
    assert send_welcome(session, settings, OutboxBackend(outbox), sub.id)
    (path,) = outbox.glob("*.eml")
    text = email.message_from_bytes(path.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert f"({zone} time)" in " ".join(text.split())
