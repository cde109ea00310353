"""Test sends (issue 9, item 9): the real message, marked as a test, never a delivery."""
from datetime import date
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from newsletter.delivery.models import Delivery
from newsletter.editions.models import Edition
from newsletter.editions.preview import preview, reader_for
from newsletter.errors import ConfigurationError, Conflict, InvalidInput
from newsletter.mail.proof import HEADER, send_proof
from newsletter.people.erase import erase_rows
from newsletter.subscribers.lifecycle import suppress
from newsletter.subscribers.models import SubscriberStatus, SuppressionReason
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import OutboxBackend
from tests.helpers import add_article, at

DAY, NOW = date(2026, 11, 26), at("2026-11-26T12:00:00")


@pytest.fixture
def ann(session, publication):
    add_article(session, "superpowers", "Summit", at("2026-11-26T10:00:00"))
    add_article(session, "drone-war", "Drones", at("2026-11-26T09:00:00"))
    add_subscriber(session, publication, "ann@example.org", "Ann Reader", "drone-war")
    session.commit()
    return reader_for(session, publication, as_email="ann@example.org")


def test_a_test_message_is_marked_and_is_not_a_delivery(session, settings, publication, ann, tmp_path):
    outbox = OutboxBackend(tmp_path / "outbox")
    proof = send_proof(session, settings, outbox, preview(session, publication, DAY, ann, now=NOW), publication,
                       "Editor@Example.com", now=NOW)
    (path,) = (tmp_path / "outbox").glob("*.eml")
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("[TEST] ") and msg["Subject"] == proof.subject
    assert msg["To"] == "editor@example.com" and HEADER in msg and "as ann@example.org" in msg[HEADER]
    text = msg.get_body(("plain",)).get_content()
    assert "Ann Reader" in text and "Drones" in text and "Summit" not in text
    assert "/u/PREVIEW" in msg["List-Unsubscribe"]  # inert: Ann's real link never goes to someone else
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert session.scalar(select(func.count()).select_from(Edition)) == 0


@pytest.mark.parametrize("blocked", ["suppressed", "disabled", "erased"])
def test_never_to_a_suppressed_disabled_or_erased_address(session, settings, publication, ann, tmp_path, blocked):
    editor = add_subscriber(session, publication, "editor@example.com").subscriber
    if blocked == "suppressed":
        suppress(session, "editor@example.com", None, SuppressionReason.HARD_BOUNCE)
    elif blocked == "disabled":
        editor.status = SubscriberStatus.DISABLED
    else:  # only a keyed hash of the address is left
        erase_rows(session, settings.signing_key(), editor)
    session.flush()
    with pytest.raises(Conflict, match="suppressed" if blocked == "erased" else blocked):
        send_proof(session, settings, OutboxBackend(tmp_path / "outbox"),
                   preview(session, publication, DAY, ann, now=NOW), publication, "editor@example.com", now=NOW)
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").iterdir())


def test_nothing_to_send_and_http_links_are_refused(session, settings, publication, tmp_path):
    everyone = reader_for(session, publication)
    with pytest.raises(Conflict, match="nothing to send"):
        send_proof(session, settings, OutboxBackend(tmp_path), preview(session, publication, DAY, everyone, now=NOW),
                   publication, "editor@example.com", now=NOW)
    settings.web_base_url = "http://news.example.com"
    with pytest.raises(ConfigurationError, match="https"):
        send_proof(session, settings, OutboxBackend(tmp_path), preview(session, publication, DAY, everyone, now=NOW),
                   publication, "editor@example.com", now=NOW)
    with pytest.raises(InvalidInput):  # bad input is said first, whatever the settings
        send_proof(session, settings, OutboxBackend(tmp_path), preview(session, publication, DAY, everyone, now=NOW),
                   publication, "not an address", now=NOW)
