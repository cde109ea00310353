"""Personal emails over real SMTP (aiosmtpd on loopback) carry a VERP envelope sender, and
their bounces, posted by the relay to /bounces/inbound, do what they should: a bounced
confirmation ends that sign-up and nothing else (the person can still sign up, and the
answer to a sign-up stays the same); a bounced welcome counts like an edition's."""
from __future__ import annotations

import email
import re
from email import policy

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.subscribers.models import Subscriber, Subscription, Suppression
from newsletter.tracking.models import Event
from newsletter.tracking.token_claims import PersonalKind
from newsletter.tracking.tokens import Tokens
from tests.bounce_samples import sample
from tests.integration.servers import SMTPServer

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)

SECRET = "relay-shared-secret-0123456789"
AUTH = {"Authorization": f"Bearer {SECRET}", "Content-Type": "message/rfc822"}
BOUNCE_DOMAIN = "bounces.spacewar.example.com"


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.handler.keep_messages = True
    server.start()
    yield server
    server.stop()


@pytest.fixture
def web_settings(web_settings, smtp, session, publication):
    web_settings.delivery_backend, web_settings.smtp_host, web_settings.smtp_port = "smtp", "127.0.0.1", smtp.port
    web_settings.bounce_webhook_secret = SECRET
    publication.bounce_domain = BOUNCE_DOMAIN
    session.commit()
    return web_settings


def sent(smtp) -> list[tuple[str, email.message.EmailMessage]]:
    """(MAIL FROM, message) of everything the relay accepted, in order."""
    h = smtp.handler
    with h.lock:
        return [(f, email.message_from_bytes(m, policy=policy.default)) for f, m in zip(h.mail_from, h.messages,
                                                                                       strict=True)]


def link(msg, path: str) -> str:
    return re.search(rf"https?://\S+?(/{path}/\S+)", msg.get_body(("plain",)).get_content()).group(1)


def post_bounce(http, envelope_from: str, msg, rcpt: str, name: str = "gmail_no_such_user.eml"):
    raw = sample(name, verp=envelope_from, rcpt=rcpt, message_id=str(msg["Message-ID"]))
    r = http.post("/bounces/inbound", params={"recipient": envelope_from}, content=raw, headers=AUTH)
    assert r.status_code == 202, r.text


def test_confirmation_and_welcome_bounce_through_their_verp_address(server, http, engine, web_settings, smtp):
    tokens = Tokens(web_settings.signing_key())
    body = {"publication": "spacewar-daily", "email": "typo@example.org"}
    first = http.post("/api/subscribe", json=body)
    assert first.status_code == 202
    ((envelope, confirmation),) = sent(smtp)
    assert envelope.startswith("bounces+") and envelope.endswith("@" + BOUNCE_DOMAIN)
    claim = tokens.read_personal_verp_address(envelope)
    with Session(engine) as s:
        sub_id = s.scalar(select(Subscription.id))
    assert (claim.kind, claim.row_id) == (PersonalKind.CONFIRM, sub_id)

    post_bounce(http, envelope, confirmation, "typo@example.org")
    with Session(engine) as s:
        assert s.get(Subscription, sub_id).confirm_nonce == 0 and s.get(Subscription, sub_id).status == "pending"
        assert s.scalar(select(Suppression.id)) is None
        assert set(s.scalars(select(Event.kind))) == {"signup"}
    assert http.get(link(confirmation, "confirm")).status_code == 400  # that link no longer works

    # The owner can still sign up: the same answer, and a new confirmation that works.
    again = http.post("/api/subscribe", json=body)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    envelope, confirmation = sent(smtp)[-1]
    assert http.post(link(confirmation, "confirm")).status_code == 200

    welcome_from, welcome = sent(smtp)[-1]
    assert welcome["Subject"] and welcome_from != envelope
    assert tokens.read_personal_verp_address(welcome_from).kind == PersonalKind.WELCOME
    url, mailto = (o.strip() for o in str(welcome["List-Unsubscribe"]).split(","))
    assert url.startswith(f"<{server.url}/u/") and mailto.startswith("<mailto:unsubscribe+")
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    post_bounce(http, welcome_from, welcome, "typo@example.org")
    with Session(engine) as s:
        subscriber = s.scalar(select(Subscriber).where(Subscriber.email == "typo@example.org"))
        assert s.get(Subscription, sub_id).status == "unsubscribed"
        assert s.scalar(select(Suppression.reason)) == "hard_bounce"
        assert list(s.scalars(select(Event.method).where(Event.subscriber_id == subscriber.id,
                                                         Event.kind == "unsubscribe"))) == ["bounce"]
