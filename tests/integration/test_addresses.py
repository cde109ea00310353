"""Addresses from everywhere (issue 7, item 2): IDN domains go out as IDNA; a non-ASCII
local part goes with SMTPUTF8 when the relay offers it, and is otherwise that one
delivery's failure; nothing about one recipient stops the others."""
from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery.models import Delivery
from newsletter.editions.build import build_edition, window_for
from newsletter.jobs import InlineDispatcher
from newsletter.publications.schedule import local_date
from newsletter.subscribers.models import Suppression
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import OutboxBackend, SMTPBackend
from tests.helpers import Scripted, add_article
from tests.integration.servers import SMTPServer

UTF8_LOCAL, IDN = "jörg@example.org", "x@bücher.example"
PLAIN = [f"r{i}@example.org" for i in range(4)]


def seed(engine, publication) -> int:
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        now = utcnow()
        day = local_date(pub.timezone, now)
        add_article(s, "superpowers", "A headline", window_for(s, pub, day, now)[1] - timedelta(hours=1))
        for address in [PLAIN[0], UTF8_LOCAL, PLAIN[1], IDN, *PLAIN[2:]]:
            add_subscriber(s, pub, address, "Jörg Müller")
        edition, _ = build_edition(s, pub, day, now)
        s.commit()
        return edition.id


def failures(engine) -> dict[str, str]:
    with Session(engine) as s:
        return dict(s.execute(select(Delivery.status, Delivery.error_class).where(Delivery.status != "sent")).all())


def parse(raw: bytes):
    """RFC 6532 messages carry UTF-8 headers: decode as UTF-8 (the bytes parser assumes ASCII)."""
    return email.message_from_string(raw.decode("utf-8"), policy=policy.SMTPUTF8)


def check_to(raw: bytes, expected: str) -> None:
    msg = parse(raw)
    (to,) = msg["To"].addresses
    assert to.addr_spec == expected and to.display_name == "Jörg Müller"
    assert b"=?" not in raw.split(b"\r\n\r\n")[0].split(b"To: ")[1].split(b"<")[1]  # no encoded word in the address


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_relay_without_smtputf8(engine, settings, publication):
    server = SMTPServer(smtputf8=False)
    server.start()
    server.handler.keep_messages = True
    try:
        edition_id = seed(engine, publication)
        status, counts = InlineDispatcher(settings, SMTPBackend("127.0.0.1", server.port, timeout=5)).run_edition(
            edition_id)
    finally:
        server.stop()
    assert status == "sent"
    assert server.handler.received == {**{a: 1 for a in PLAIN}, "x@xn--bcher-kva.example": 1}
    assert failures(engine) == {"failed": "undeliverable"}
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 0  # not a bounce
    idn = next(m for m in server.handler.messages if b"xn--bcher-kva" in m)
    check_to(idn, "x@xn--bcher-kva.example")


def test_relay_with_smtputf8(engine, settings, publication):
    server = SMTPServer(smtputf8=True)
    server.start()
    server.handler.keep_messages = True
    try:
        edition_id = seed(engine, publication)
        status, _ = InlineDispatcher(settings, SMTPBackend("127.0.0.1", server.port, timeout=5)).run_edition(
            edition_id)
    finally:
        server.stop()
    assert status == "sent" and failures(engine) == {}
    assert server.handler.received[UTF8_LOCAL] == 1 and server.handler.received["x@xn--bcher-kva.example"] == 1
    with_utf8 = [opts for opts in server.handler.mail_options if "SMTPUTF8" in [o.upper() for o in opts]]
    assert len(with_utf8) == 1  # only the message that needs it
    check_to(next(m for m in server.handler.messages if "jörg".encode() in m), UTF8_LOCAL)


def test_outbox(engine, settings, publication, tmp_path):
    edition_id = seed(engine, publication)
    outbox = tmp_path / "outbox"
    status, counts = InlineDispatcher(settings, OutboxBackend(outbox)).run_edition(edition_id)
    assert status == "sent" and counts["sent"] == 6
    by_to = {}
    for path in outbox.glob("*.eml"):
        raw = path.read_bytes()
        by_to[parse(raw)["To"].addresses[0].addr_spec] = raw
    assert set(by_to) == {*PLAIN, UTF8_LOCAL, "x@xn--bcher-kva.example"}
    check_to(by_to[UTF8_LOCAL], UTF8_LOCAL)
    check_to(by_to["x@xn--bcher-kva.example"], "x@xn--bcher-kva.example")


def test_one_recipient_that_breaks_the_backend_does_not_stop_the_batch(engine, settings, publication):
    edition_id = seed(engine, publication)
    backend = Scripted({PLAIN[1]: UnicodeEncodeError("ascii", "x", 0, 1, "something nobody expected")})
    status, counts = InlineDispatcher(settings, backend).run_edition(edition_id)
    assert status == "sent" and len(backend.accepted) == 5 and PLAIN[1] not in backend.accepted
    assert failures(engine) == {"failed": "internal_error"}
