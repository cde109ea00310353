"""Alerts to operators on the embedded default (outbox): an empty day and a missed
edition are told once, by one log line and one email to the operator address, however
often the condition is seen; the email is operator mail (signed, no List-Unsubscribe,
never a delivery)."""
from __future__ import annotations

import base64
import email
import logging
from email import policy

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.delivery import driver
from newsletter.delivery.models import Alert, Delivery
from newsletter.editions.build import build_edition
from newsletter.jobs import InlineDispatcher
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import OutboxBackend
from tests.helpers import add_article, at

OPERATOR = "desk@spacewar.example.com"


def outbox(settings) -> list:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(settings.effective_outbox_dir.glob("*.eml"))]


def alert_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("alert:")]


@pytest.fixture
def pub(session, publication):
    publication.operator_address = OPERATOR
    add_subscriber(session, publication, "reader@example.org", "Reader")
    session.commit()
    return publication


def test_an_empty_day_is_told_once_by_send_and_by_the_dispatcher(settings, engine, session, pub, caplog):
    caplog.set_level(logging.WARNING)
    edition, _ = build_edition(session, pub, at("2026-11-26T12:00:00").date(), at("2026-11-26T12:00:00"))
    session.commit()
    assert edition.status == "empty"
    dispatcher = InlineDispatcher(settings, OutboxBackend(settings.effective_outbox_dir))
    for _ in range(3):  # `newsletter send` on an empty day, three times
        assert dispatcher.deliver_edition(edition.id) == f"edition {edition.id}: empty"
    driver.dispatch(engine, settings, at("2026-11-26T12:01:00"), drive=lambda _: None)  # sees it too
    (msg,) = outbox(settings)
    assert msg["To"].addresses[0].addr_spec == OPERATOR
    assert msg["Subject"] == "[SpaceWar Daily] Empty edition: nothing sent for 2026-11-26"
    body = msg.get_body(("plain",)).get_content()
    assert "has no headlines" in body and f"newsletter editions status {edition.id}" in body
    assert len(alert_lines(caplog)) == 1 and "edition of 2026-11-26 is empty" in alert_lines(caplog)[0]
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0  # never a delivery


def test_a_new_empty_edition_built_by_the_dispatcher_is_told(settings, engine, session, pub):
    # 06:00 in New York on November 26 is 11:00 UTC; nothing was published.
    started = driver.dispatch(engine, settings, at("2026-11-26T11:00:30"), drive=lambda _: None,
                              backend=OutboxBackend(settings.effective_outbox_dir))
    assert started == []
    (msg,) = outbox(settings)
    assert msg["Subject"].startswith("[SpaceWar Daily] Empty edition")


def test_a_missed_edition_is_told_once_not_every_minute(settings, engine, session, pub, caplog):
    caplog.set_level(logging.WARNING)
    add_article(session, "superpowers", "Yesterday's news", at("2026-11-26T10:00:00"))
    build_edition(session, pub, at("2026-11-26T12:00:00").date(), at("2026-11-26T12:00:00"))
    session.commit()
    # The 27th's 06:00 (11:00 UTC) passed five hours ago: beyond the three hours of grace.
    for minute in range(5):
        driver.dispatch(engine, settings, at(f"2026-11-27T16:0{minute}:00"), drive=lambda _: None)
    (msg,) = outbox(settings)
    assert msg["Subject"] == "[SpaceWar Daily] Missed edition: 2026-11-27 was not sent"
    assert "newsletter send spacewar-daily --date 2026-11-27" in msg.get_body(("plain",)).get_content()
    (line,) = alert_lines(caplog)
    assert "edition of 2026-11-27 is missed: due at 2026-11-27 11:00 UTC, 300 minutes late" in line


def test_without_an_operator_address_the_log_line_is_all(settings, engine, session, publication, caplog):
    caplog.set_level(logging.WARNING)
    edition, _ = build_edition(session, publication, at("2026-11-26T12:00:00").date(), at("2026-11-26T12:00:00"))
    session.commit()
    InlineDispatcher(settings).deliver_edition(edition.id)
    assert outbox(settings) == [] and len(alert_lines(caplog)) == 1
    assert session.scalar(select(Alert.sent_at)) is None


def test_the_alert_is_operator_mail_signed_like_a_confirmation(settings, engine, session, pub, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "dkim.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    pub.dkim_domain, pub.dkim_selector, pub.dkim_key_file = "spacewar.example.com", "nl1", str(tmp_path / "dkim.pem")
    edition, _ = build_edition(session, pub, at("2026-11-26T12:00:00").date(), at("2026-11-26T12:00:00"))
    session.commit()
    InlineDispatcher(settings).deliver_edition(edition.id)
    (path,) = settings.effective_outbox_dir.glob("*.eml")
    raw = path.read_bytes()
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["List-Unsubscribe"] is None and msg["List-Unsubscribe-Post"] is None
    assert msg["Precedence"] is None and msg["Auto-Submitted"] == "auto-generated"
    assert msg["From"].addresses[0].addr_spec == pub.sender_address
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
    with Session(engine) as s:
        assert s.scalar(select(Alert.sent_at)) is not None and s.scalar(select(Alert.attempts)) == 1
