"""The bounce and complaint samples of tests/data/bounces, filled in for one delivery, and
the deliveries they report on."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery.models import Delivery
from newsletter.editions.build import build_edition, window_for
from newsletter.jobs import InlineDispatcher
from newsletter.publications.schedule import local_date
from newsletter.subscribers.models import Subscriber, Subscription, Suppression
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.models import Event
from newsletter.tracking.tokens import Tokens
from newsletter.transport.backends import OutboxBackend
from tests.helpers import add_article

SAMPLES = Path(__file__).parent / "data" / "bounces"


def sample(name: str, *, verp: str = "bounces+aaaaaaaaaaaaaaaaaaaa@bounces.example.com",
           rcpt: str = "reader@example.org", message_id: str = "<edition.1.1.0000000000000000@example.com>",
           sender: str = "daily@spacewar.example.com", **more: str) -> bytes:
    """The sample filled in; `more` fills its other placeholders (status="5.0.0" fills {{STATUS}})."""
    text = (SAMPLES / name).read_text()
    for key, value in (("{{VERP}}", verp), ("{{RCPT}}", rcpt), ("{{MESSAGE_ID}}", message_id),
                       ("{{FROM}}", sender), *((f"{{{{{k.upper()}}}}}", v) for k, v in more.items())):
        text = text.replace(key, value)
    return text.replace("\n", "\r\n").encode()


@dataclass(frozen=True)
class Sent:
    """One message we delivered, as a bounce would name it."""

    delivery_id: int
    edition_id: int
    subscriber_id: int
    email: str
    message_id: str
    verp: str

    def report(self, name: str, **changes) -> bytes:
        values = {"verp": self.verp, "rcpt": self.email, "message_id": self.message_id, **changes}
        return sample(name, **values)


def deliver(engine, settings, publication, emails: list[str], day: date | None = None) -> list[Sent]:
    """Articles, subscribers (added when new), the edition of `day` (default today) built and
    delivered to the outbox; what each subscriber was sent."""
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        now = utcnow()
        day = day or local_date(pub.timezone, now)
        end = window_for(s, pub, day, now)[1]
        for n, slug in enumerate(["superpowers", "drone-war"]):
            add_article(s, slug, f"{slug} headline for {day}", end - timedelta(hours=n + 1))
        known = set(s.scalars(select(Subscriber.email)))
        for email in emails:
            if email not in known:
                add_subscriber(s, pub, email)
        edition, _ = build_edition(s, pub, day, now)
        domain = pub.effective_bounce_domain
        s.commit()
    InlineDispatcher(settings, OutboxBackend(settings.effective_outbox_dir)).run_edition(edition.id)
    tokens = Tokens(settings.signing_key())
    with Session(engine) as s:
        rows = s.execute(select(Delivery.id, Delivery.subscriber_id, Subscriber.email, Delivery.message_id)
                         .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
                         .where(Delivery.edition_id == edition.id, Delivery.status == "sent")).all()
    by_email = {r.email: Sent(r.id, edition.id, r.subscriber_id, r.email, r.message_id,
                              tokens.verp_address(r.id, domain)) for r in rows}
    return [by_email[e] for e in emails]


def state(engine, subscriber_id: int, email: str):
    with Session(engine) as s:
        sub = s.scalar(select(Subscription).where(Subscription.subscriber_id == subscriber_id))
        suppression = s.scalar(select(Suppression.reason).where(Suppression.email == email,
                                                                Suppression.publication_id.is_(None)))
        methods = set(s.scalars(select(Event.method).where(Event.subscriber_id == subscriber_id,
                                                           Event.kind == "unsubscribe")))
        return sub.status, suppression, methods
