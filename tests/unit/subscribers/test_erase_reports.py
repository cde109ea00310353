"""Erasing someone who bounced: their addresses, name and the Message-IDs of our messages
to them leave every raw report (as written, base64, quoted-printable, RFC 2047) and every
other text, blob and JSON value; the reports stay, redacted, with what they said, and
another person named beside them keeps their data."""
from __future__ import annotations

import base64
import json
import quopri
from pathlib import Path

import pytest
from sqlalchemy import JSON, LargeBinary, String, Text, select
from sqlalchemy.orm import Session

from newsletter.bounces import intake
from newsletter.bounces.models import BounceFinding, BounceReport
from newsletter.bounces.parse import parse
from newsletter.limits import Counters
from newsletter.mail.confirmation import send_confirmation
from newsletter.models import Base
from newsletter.operators import subscribers as operator_subscribers
from newsletter.people.erase_bytes import Person, holds, redact
from newsletter.staff.access import cli_actor
from newsletter.subscribers.models import Subscription
from newsletter.subscribers.service import add_subscriber
from newsletter.subscribers.signup import sign_up, validate
from tests.bounce_samples import deliver
from tests.personal_mail import Recorder, bounce

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
ANN, BOB = "ann.reader@example.org", "bob@example.net"


def stored_values(engine) -> list[tuple[str, bytes]]:
    """Every text, blob and JSON value of every row of every table, as bytes, lower case."""
    found = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.c if isinstance(c.type, String | Text | LargeBinary | JSON)]
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    data = value if isinstance(value, bytes) else (
                        value if isinstance(value, str) else json.dumps(value)).encode("utf-8", "replace")
                    found.append((f"{table.name}.{column.name}", data.lower()))
    return found


def holding(engine, needle: str) -> list[str]:
    return sorted({where for where, data in stored_values(engine) if needle.lower().encode() in data})


def reports_about(ann, bob) -> list[bytes]:
    """Reports of ann's message in the shapes that hide an address from a plain search."""
    dsn = ann.report("postfix_user_unknown.eml")
    named = dsn.replace(f"To: {ANN}".encode(), f"To: =?utf-8?q?Ann_R=C3=A9ader?= <{ANN}>".encode())
    notice = (f"Your message to Ann Réader <{ANN}> could not be delivered: 550 5.1.1 user unknown\r\n"
              f"Message-ID of the message: {ann.message_id}\r\n").encode()
    encoded = (b"From: MAILER-DAEMON@mx.example.net\r\nTo: daily@spacewar.example.com\r\n"
               b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(notice) +
               b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
               + quopri.encodestring(b"x" * 60 + ANN.encode() + b" returned\r\n") + b"--b1--\r\n")
    both_named = ann.report("qmail_two_unknown_users.eml", rcpt2=BOB)
    return [named, encoded, both_named]


@both
def test_after_erasing_someone_who_bounced_no_stored_byte_holds_them(engine, settings, session, publication):
    add_subscriber(session, publication, ANN, "Ann Réader")
    add_subscriber(session, publication, BOB, "Bob Other")
    session.commit()
    ann, bob = deliver(engine, settings, publication, [ANN, BOB])
    raws = reports_about(ann, bob)
    assert ANN.encode() not in raws[1]  # in base64 and split by a quoted-printable soft line break only
    ids = [intake.receive(engine, settings, raw, "http").report_id for raw in raws]
    intake.process_ids(engine, settings, ids)
    with Session(engine) as s:
        before = s.execute(select(BounceReport.id, BounceReport.kind, BounceReport.status)
                           .order_by(BounceReport.id)).all()
        findings = s.execute(select(BounceFinding.report_id, BounceFinding.position, BounceFinding.kind)
                             .order_by(BounceFinding.id)).all()
    assert holding(engine, ANN) and holding(engine, ann.message_id.strip("<>"))
    assert [status for _, _, status in before] == ["parsed"] * 3

    operator_subscribers.erase(engine, settings, Counters(), cli_actor(), ann.subscriber_id)

    for needle in (ANN, ann.message_id.strip("<>"), "Ann Réader", "Ann R=C3=A9ader", "ann.reader%40example.org"):
        assert holding(engine, needle) == [], needle
    for value in (r for w, r in stored_values(engine) if w == "bounce_reports.raw"):
        assert not holds(value, Person((ANN,), "Ann Réader", (ann.message_id,)))  # decoded, too
    assert holding(engine, BOB) != []  # bob was named beside her: his data is his
    with Session(engine) as s:
        after = s.execute(select(BounceReport.id, BounceReport.kind, BounceReport.status)
                          .order_by(BounceReport.id)).all()
        assert after == before  # the reports stay, with what they said
        assert s.execute(select(BounceFinding.report_id, BounceFinding.position, BounceFinding.kind)
                         .order_by(BounceFinding.id)).all() == findings
        raw = s.scalar(select(BounceReport.raw).where(BounceReport.id == ids[2]))
    assert [r.address for r in parse(raw).recipients] == ["[erased]", BOB]  # still a report, still read
    if engine.dialect.name == "sqlite":  # nor in the file: freed pages are zeroed, the log emptied
        database = Path(engine.url.database)
        for path in (database, database.with_name(database.name + "-wal")):
            data = path.read_bytes().lower() if path.exists() else b""
            assert ANN.encode() not in data, path.name


@pytest.mark.parametrize("raw", [
    b"To: Ann Reader <ANN.READER@EXAMPLE.ORG>\r\n\r\nsee <edition.4.17.0123456789abcdef@news.example.com>\r\n",
    b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(b"to ann.reader@example.org, 550 5.1.1"),
    b"Subject: =?utf-8?b?" + base64.b64encode(b"Ann Reader") + b"?=\r\n\r\nbody\r\n",
    b"\x00\xff not a message at all ann.reader@example.org \xfe",
])
def test_redacting_bytes(raw):
    person = Person((ANN,), "Ann Reader", subscriber_id=17)
    assert holds(raw, person)
    clean = redact(raw, person)
    assert not holds(clean, person) and clean != raw


@both
def test_a_bounced_confirmation_is_erased_though_it_names_no_subscriber(engine, settings, session, publication):
    """A bounce of a sign-up's confirmation ends the request and is matched to nobody
    (bounces/personal.py): erasing the person still finds it, by the recipient it names,
    where the bytes hide the address from a plain search (a base64 notice)."""
    publication.bounce_domain = "bounces.spacewar.example.com"
    session.commit()
    decision = sign_up(session, publication, validate(publication, ANN), settings.signing_key())
    session.commit()
    backend = Recorder()
    send_confirmation(session, settings, backend, decision.subscription_id)
    notice = f"Your message to <{ANN}> could not be delivered: 550 5.1.1 user unknown\r\n".encode()
    raw = (b"From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@spacewar.example.com\r\n"
           b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(notice))
    assert ANN.encode() not in raw
    report_id = bounce(engine, settings, raw, envelope_to=backend.last().envelope_from)
    with Session(engine) as s:
        report = s.get(BounceReport, report_id)
        assert (report.matched_by, report.subscriber_id, report.recipient) == ("verp", None, ANN), report.outcome
        assert "sign-up request ended" in report.outcome
        subscriber_id = s.scalar(select(Subscription.subscriber_id).where(
            Subscription.id == decision.subscription_id))

    operator_subscribers.erase(engine, settings, Counters(), cli_actor(), subscriber_id)

    assert holding(engine, ANN) == []
    with Session(engine) as s:
        report = s.get(BounceReport, report_id)
        assert not holds(report.raw, Person((ANN,)))  # decoded, too
        assert (report.status, report.kind) == ("parsed", "hard")  # kept, with what it said
