"""The whole digest on the embedded default (outbox), on SQLite and on PostgreSQL:
ingest, build, render, deliver, then read the written messages back."""
from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.editions.build import build_edition
from newsletter.ingest.load import store_records
from newsletter.ingest.parse import parse_feed
from newsletter.jobs import InlineDispatcher
from newsletter.publications.schedule import local_date
from newsletter.subscribers.models import Subscription, SubscriptionStatus, Suppression
from newsletter.subscribers.service import add_subscriber
from newsletter.subscribers.unsubscribe import unsubscribe_with_claim
from newsletter.tracking.tokens import Tokens
from newsletter.transport.backends import OutboxBackend
from tests.helpers import at, rss

NOW = at("2026-11-26T15:00:00")  # after the 06:00 New York send time
HEADERS_ONCE = ["From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
                "List-Unsubscribe-Post", "Precedence", "Auto-Submitted", "Reply-To"]


def read_outbox(folder):
    return {p.name: email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(folder.glob("*.eml"))}


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_digest_end_to_end(settings, engine, publication, tmp_path):
    session = Session(engine, expire_on_commit=False)
    cut = at("2026-11-26T11:00:00")
    items = []
    for n, section in enumerate(["NUCLEAR WEAPONS", "SUPERPOWERS", "DRONE WAR", "MISSILE DEFENSE"]):
        items.append({"title": f"{section.title()} headline {n}", "link": f"https://www.spacewar.example.com/{n}.html",
                      "category": section, "description": "Teaser text.", "date": cut - timedelta(hours=n + 1)})
    items.append({"title": 'Evil <script>alert(1)</script> "q" & co', "link": "https://www.spacewar.example.com/evil.html",
                  "category": "SUPERPOWERS", "date": cut - timedelta(minutes=5)})
    store_records(session, parse_feed(rss(items)))
    for i in range(6):
        add_subscriber(session, publication, f"reader{i}@example.org", f"Reader {i}")
    add_subscriber(session, publication, "picky@example.org", "Picky", "drone-war")
    gone = add_subscriber(session, publication, "gone@example.org", "Gone")
    gone.status = SubscriptionStatus.UNSUBSCRIBED
    add_subscriber(session, publication, "suppressed@example.org")  # then bounced elsewhere:
    session.add(Suppression(email="suppressed@example.org", publication_id=None, reason="hard_bounce"))
    edition, _ = build_edition(session, publication, local_date(publication.timezone, NOW), now=NOW)
    session.commit()

    outbox = tmp_path / "outbox"
    status, counts = InlineDispatcher(settings, OutboxBackend(outbox)).run_edition(edition.id)
    assert status == "sent" and counts["sent"] == 7 and counts["skipped"] == 1
    messages = read_outbox(outbox)
    assert len(messages) == 7

    urls = {}
    for name, msg in messages.items():
        for header in HEADERS_ONCE:
            assert len(msg.get_all(header) or []) == 1, (header, name)
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # The https URL (one-click), then the mailto: address on the bounce domain (VERP is on).
        assert re.fullmatch(r"<https://news\.example\.com/u/[\w.-]+>, <mailto:unsubscribe\+[a-z2-7]{48}@"
                            r"spacewar\.example\.com>", msg["List-Unsubscribe"].strip())
        assert re.fullmatch(r"\d+:spacewar-daily:edition:newsletter", msg["Feedback-ID"])
        assert msg["Message-ID"].endswith("@spacewar.example.com>")
        parts = list(msg.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
        raw = (outbox / name).read_bytes()
        head, _, body = raw.partition(b"\r\n\r\n")
        assert max(len(line) for line in body.split(b"\r\n")) <= 76  # quoted-printable
        # Headers fold at 78; only a URL too long to fold stays whole (RFC 5322: at most 998).
        long_lines = [line for line in head.split(b"\r\n") if len(line) > 78]
        assert all(len(line) <= 998 and b" " not in line.split(b": ", 1)[-1].strip() for line in long_lines)
        html = parts[1].get_content()
        assert 'class="headline" style="' in html and "<script>" not in html
        urls[msg["To"].addresses[0].addr_spec] = msg["List-Unsubscribe"].split(",")[0].strip().strip("<>")
        if msg["To"].addresses[0].addr_spec == "picky@example.org":
            assert "DRONE WAR" in html and "SUPERPOWERS" not in html
        else:
            assert "Evil &lt;script&gt;alert(1)&lt;/script&gt;" in html
            order = [html.index(s) for s in ("SUPERPOWERS", "MISSILE DEFENSE", "DRONE WAR", "NUCLEAR WEAPONS")]
            assert order == sorted(order)  # the publication's section order
    assert len(set(urls.values())) == len(urls)  # personal per subscriber
    assert "gone@example.org" not in urls and "suppressed@example.org" not in urls

    # The token in reader0's link unsubscribes reader0 from this publication and nobody else.
    token = urls["reader0@example.org"].rsplit("/", 1)[1]
    unsubscribe_with_claim(session, Tokens(settings.signing_key()).read_unsubscribe(token), "one-click")
    session.commit()
    statuses = {s.subscriber.email: s.status for s in session.scalars(select(Subscription))}
    assert statuses["reader0@example.org"] == SubscriptionStatus.UNSUBSCRIBED
    assert statuses["reader1@example.org"] == SubscriptionStatus.ACTIVE

    # Sending the same edition again writes nothing.
    before = sorted(p.name for p in outbox.iterdir())
    status, counts = InlineDispatcher(settings, OutboxBackend(outbox)).run_edition(edition.id)
    assert counts.get("sent", 0) == 0 and sorted(p.name for p in outbox.iterdir()) == before
    session.close()
