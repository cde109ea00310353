"""The bounce mailbox over IMAP, with the credentials from the settings."""
from __future__ import annotations

import pytest

from newsletter.bounces import intake
from newsletter.errors import ConfigurationError, Unavailable
from tests.bounce_samples import deliver, state
from tests.integration.bounces.imap_server import IMAPServer, Mailstore


def imap_settings(settings, port: int, password: str = "s3cret"):
    settings.bounce_imap_host, settings.bounce_imap_port, settings.bounce_imap_ssl = "127.0.0.1", port, False
    settings.bounce_imap_username, settings.bounce_imap_password = "bounces", password
    settings.bounce_imap_folder = "Bounces"
    return settings


def test_reports_are_read_over_imap_and_removed_once_stored(engine, settings, publication):
    hard, complained = deliver(engine, settings, publication, ["hard@example.org", "complained@example.org"])
    store = Mailstore("bounces", "s3cret", "Bounces")
    store.add(hard.report("postfix_user_unknown.eml"))
    store.add(complained.report("yahoo_arf_abuse.eml"))
    with IMAPServer(store) as server:
        settings.bounce_mailbox = "imap"
        statuses = intake.poll(engine, imap_settings(settings, server.port))
    assert statuses == {"parsed": 2}
    assert store.messages == {} and store.logins == [("bounces", "s3cret")]
    assert state(engine, hard.subscriber_id, hard.email) == ("unsubscribed", "hard_bounce", {"bounce"})
    assert state(engine, complained.subscriber_id, complained.email) == ("unsubscribed", "complaint", {"complaint"})


def test_imap_problems_are_one_clear_error(engine, settings):
    with pytest.raises(ConfigurationError, match="NEWSLETTER_BOUNCE_IMAP_HOST"):
        intake.collect(engine, settings, "imap")
    store = Mailstore("bounces", "s3cret", "Bounces")
    with IMAPServer(store) as server:
        with pytest.raises(Unavailable, match="AUTHENTICATIONFAILED") as refused:
            intake.collect(engine, imap_settings(settings, server.port, password="wrong"), "imap")
        assert "wrong" not in str(refused.value)
    with pytest.raises(Unavailable, match="ConnectionRefusedError"):
        intake.collect(engine, settings, "imap")  # the server is gone
