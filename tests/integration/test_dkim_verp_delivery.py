"""DKIM-signed digests with VERP envelope senders, sent by the normal delivery code over
SMTP to aiosmtpd on loopback, verified by dkimpy with DNS answered from here."""
from __future__ import annotations

import re
from datetime import timedelta

import dkim
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from newsletter.delivery.models import Delivery
from newsletter.dkim.sign import public_key_record
from newsletter.editions.build import build_edition
from newsletter.jobs import InlineDispatcher
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.tokens import Tokens
from newsletter.transport.backends import SMTPBackend
from tests.helpers import add_article, at
from tests.integration.servers import free_port

NOW = at("2026-11-26T15:00:00")


class Recorder:
    def __init__(self):
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), decode_data=False)
    controller.start()
    yield controller.port, recorder
    controller.stop()


@pytest.fixture
def signed_publication(session, publication, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    publication.dkim_domain, publication.dkim_selector, publication.dkim_key_file = (
        "spacewar.example.com", "nl202611", str(path))
    publication.bounce_domain = "bounces.spacewar.example.com"
    session.commit()
    record = public_key_record(key.public_key()).encode()
    lookups = []

    def dns(name, timeout=5):
        lookups.append(name)
        return record if name == b"nl202611._domainkey.spacewar.example.com." else None
    return publication, dns, lookups


def deliver(engine, settings, session, publication, port, readers):
    for n, slug in enumerate(["superpowers", "drone-war"]):
        add_article(session, slug, f"Headline {n} for {slug}", NOW - timedelta(hours=n + 5))
    for i, (address, name) in enumerate(readers):
        add_subscriber(session, publication, address, name, "drone-war" if i == 0 else None)
    edition, _ = build_edition(session, publication, local_date(publication.timezone, NOW), now=NOW)
    session.commit()
    backend = SMTPBackend("127.0.0.1", port, timeout=10)
    status, counts = InlineDispatcher(settings, backend).run_edition(edition.id)
    assert status == "sent" and counts["sent"] == len(readers)
    return edition.id


READERS = [("picky@example.org", "Picky"), ("zoe@example.org", "Zoë Ångström, \"Jr.\""),
           ("ann@example.org", "Ann " + "Long-Name " * 12)]


def h_tag(message: bytes) -> list[str]:
    head = message.split(b"\r\n\r\n", 1)[0].decode().replace("\r\n", "")
    return [n.strip() for n in re.search(r"DKIM-Signature:.*?\bh=([^;]*);", head).group(1).split(":")]


def test_signed_digests_verify_and_alterations_do_not(settings, engine, session, signed_publication, smtp):
    publication, dns, lookups = signed_publication
    port, recorder = smtp
    deliver(engine, settings, session, publication, port, READERS)
    assert len(recorder.envelopes) == len(READERS)
    for _, _, data in recorder.envelopes:
        assert data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=spacewar.example.com;")
        assert b"s=nl202611;" in data[:200] and data.count(b"DKIM-Signature:") == 1
        assert dkim.verify(data, dnsfunc=dns), data[:600]
        h = h_tag(data)
        assert h.count("list-unsubscribe") == 2 and h.count("list-unsubscribe-post") == 2
        assert h.count("from") == 2 and h.count("subject") == 2 and h.count("list-id") == 2
        assert {"to", "date", "message-id"} <= set(h)
        head, _, body = data.partition(b"\r\n\r\n")
        at_ = len(head) + 4 + body.index(b"Headline")  # one byte of the body
        flipped = data[:at_] + b"h" + data[at_ + 1:]
        assert not dkim.verify(flipped, dnsfunc=dns)
        subject = re.search(rb"\r\nSubject:\s*([^\r]+)", data).group(1)  # folded or not
        assert not dkim.verify(data.replace(subject, subject + b"!", 1), dnsfunc=dns)
        for field in (b"List-Unsubscribe: <mailto:x@evil.example>", b"Subject: Another", b"From: x@evil.example"):
            assert not dkim.verify(field + b"\r\n" + data, dnsfunc=dns)  # only oversigning catches these
    assert set(lookups) == {b"nl202611._domainkey.spacewar.example.com."}


def test_mail_from_is_the_verp_address_of_each_delivery(settings, engine, session, signed_publication, smtp):
    publication, _, _ = signed_publication
    port, recorder = smtp
    edition_id = deliver(engine, settings, session, publication, port, READERS)
    tokens = Tokens(settings.signing_key())
    ids = {d.subscriber_id: d.id for d in session.scalars(select(Delivery).where(Delivery.edition_id == edition_id))}
    by_rcpt = {rcpts[0]: (mail_from, data) for mail_from, rcpts, data in recorder.envelopes}
    assert set(by_rcpt) == {a for a, _ in READERS}
    for address, _ in READERS:
        mail_from, data = by_rcpt[address]
        assert re.fullmatch(r"bounces\+[a-z2-7]{18,29}@bounces\.spacewar\.example\.com", mail_from)
        subscriber_id = int(re.search(rb"Message-ID: <edition\.\d+\.(\d+)\.", data).group(1))
        assert tokens.read_verp_address(mail_from) == ids[subscriber_id]
        assert b"\r\nFrom: SpaceWar Daily <newsletter@spacewar.example.com>\r\n" in data


def test_verp_off_sends_from_the_sender_address(settings, engine, session, publication, smtp):
    port, recorder = smtp
    session.get(Publication, publication.id).verp = False
    session.commit()
    deliver(engine, settings, session, publication, port, READERS[:1])
    assert [mail_from for mail_from, _, _ in recorder.envelopes] == ["newsletter@spacewar.example.com"]
    assert b"DKIM-Signature" not in recorder.envelopes[0][2]
