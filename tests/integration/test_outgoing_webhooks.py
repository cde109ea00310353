"""Outgoing webhooks to a real HTTP endpoint on loopback: signed events of subscribers
and editions arrive, one answered 500 is retried after its back-off and then taken, the
signature verifies (and a replay outside the window does not), an erased person's events
carry no address (those still pending included), and a private target is refused unless
the setting allows it."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.build import build_edition, window_for
from newsletter.errors import InvalidInput
from newsletter.jobs import InlineDispatcher
from newsletter.limits import Counters
from newsletter.operators import subscribers as operator_subscribers
from newsletter.operators import webhooks
from newsletter.publications.schedule import local_date
from newsletter.staff.access import cli_actor
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.models import Method
from newsletter.transport.backends import OutboxBackend
from newsletter.webhooks import deliver, signing
from newsletter.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.helpers import add_article
from tests.integration.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def bodies(receiver) -> list[dict]:
    return [json.loads(body) for _, body, _ in receiver.received]


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_signed_events_arrive_one_retried_after_a_500_and_an_erased_person_has_no_address(
        settings, engine, session, publication, receiver, tmp_path):
    with pytest.raises(InvalidInput, match="loopback"):
        webhooks.register(session, cli_actor(), settings, receiver.url, ["subscribed"])
    settings.webhooks_allow_private = True  # the receiver is on loopback
    endpoint, secret = webhooks.register(session, cli_actor(), settings, receiver.url,
                                         ["subscribed", "unsubscribed", "bounced", "erased", "edition.sent"])
    session.commit()

    pub = session.merge(publication)
    now = utcnow()
    add_article(session, "superpowers", "Talks resume", window_for(session, pub, local_date(pub.timezone, now),
                                                                   now)[1] - timedelta(hours=1))
    ann = add_subscriber(session, pub, "ann@example.org", "Ann").subscriber_id
    bob = add_subscriber(session, pub, "bob@example.org", "Bob").subscriber_id
    cat = add_subscriber(session, pub, "cat@example.org", "Cat").subscriber_id
    edition, _ = build_edition(session, pub, local_date(pub.timezone, now), now)
    session.commit()
    InlineDispatcher(settings, OutboxBackend(tmp_path / "outbox")).run_edition(edition.id)  # edition.sent
    lifecycle.unsubscribe(session, session.get(Subscriber, bob), pub, Method.ONE_CLICK, edition.id)
    session.commit()

    receiver.answers = [500]  # the first POST fails; every other is taken
    clock = utcnow()
    assert deliver.deliver_due(engine, settings, clock) == {"delivered": 4, "retry": 1}
    failed = receiver.received[0]
    assert failed[2] == 500
    # Cat is erased with nothing pending; her stored events lose the address all the same.
    operator_subscribers.erase(engine, settings, Counters(), cli_actor(), cat)
    # Ann's next event is pending when she is erased: it goes out without her address.
    lifecycle.unsubscribe(session, session.get(Subscriber, ann), pub, Method.LINK)
    session.commit()
    operator_subscribers.erase(engine, settings, Counters(), cli_actor(), ann)
    with Session(engine) as s:
        stored = [json.loads(p) for p in s.scalars(select(WebhookDelivery.payload))]
    assert not [b for b in stored if b["data"].get("email") in ("ann@example.org", "cat@example.org")]

    erased_at = len(receiver.received)
    assert deliver.deliver_due(engine, settings, utcnow()) == {"delivered": 3}  # the 500's back-off is not over
    later = clock + timedelta(seconds=deliver.backoff(settings, 1) + 1)
    assert deliver.deliver_due(engine, settings, later) == {"delivered": 1}
    retried = receiver.received[-1]
    assert json.loads(retried[1])["id"] == json.loads(failed[1])["id"] and retried[2] == 200  # the same event
    # It was Ann's "subscribed", waiting for its retry when she was erased: it went out without her address.
    assert json.loads(failed[1])["data"]["email"] == "ann@example.org"
    assert json.loads(retried[1])["data"] == {**json.loads(failed[1])["data"], "email": None}
    assert retried[0]["Newsletter-Attempt"] == "2" and failed[0]["Newsletter-Attempt"] == "1"

    for headers, body, _ in receiver.received:
        assert signing.verify(secret, headers[signing.HEADER], body, time.time())
        assert headers["Newsletter-Event-Id"] == json.loads(body)["id"]
    headers, body, _ = receiver.received[0]
    assert not signing.verify(secret, headers[signing.HEADER], body + b" ", time.time())  # tampered
    assert not signing.verify(secret, headers[signing.HEADER], body, time.time() + 301)  # replayed later
    assert not signing.verify("whsec_other", headers[signing.HEADER], body, time.time())

    got = bodies(receiver)
    kinds = sorted({(b["type"], b["data"].get("method"), b["data"].get("subscriber_id")) for b in got},
                   key=str)
    assert ("unsubscribed", "one-click", bob) in kinds and ("unsubscribed", "link", ann) in kinds
    assert {("subscribed", "admin", who) for who in (ann, bob, cat)} <= set(kinds)
    assert {("erased", None, ann), ("erased", None, cat)} <= set(kinds)
    sent = next(b for b in got if b["type"] == "edition.sent")
    assert sent["data"]["edition_id"] == edition.id and sent["data"]["counts"]["sent"] == 3
    ann_events = [b for b in got if b["data"].get("subscriber_id") == ann and b["type"] != "subscribed"]
    assert ann_events and all(b["data"]["email"] is None for b in ann_events)
    after = b"".join(body for _, body, _ in receiver.received[erased_at:])
    assert b"ann@example.org" not in after and b"cat@example.org" not in after
    assert any(b["data"].get("email") == "bob@example.org" for b in got)  # the others' addresses are there
    with Session(engine) as s:
        log = webhooks.log(s, cli_actor(), endpoint.id)
        assert [a["status_code"] for a in log][-1] == 500 and log[0]["status_code"] == 200
        assert s.scalar(select(WebhookAttempt.id).where(WebhookAttempt.status_code == 500)) is not None


def test_retention_removes_webhook_deliveries_that_are_over_and_keeps_pending_ones(settings, engine, session,
                                                                                  publication, receiver):
    from newsletter.retention import run as retention

    settings.webhooks_allow_private = True
    webhooks.register(session, cli_actor(), settings, receiver.url, ["subscribed"])
    session.commit()
    pub = session.merge(publication)
    for n in range(3):
        add_subscriber(session, pub, f"r{n}@example.org", "R")
    session.commit()
    receiver.answers = [500]  # one stays pending (its back-off), two are taken
    assert deliver.deliver_due(engine, settings, utcnow()) == {"delivered": 2, "retry": 1}
    later = utcnow() + timedelta(days=settings.retention_webhook_days, hours=1)
    planned = retention.run(engine, settings, dry_run=True, now=later)
    assert {p.what: p.count for p in planned.parts}["webhook deliveries"] == 2
    retention.run(engine, settings, now=later)
    with Session(engine) as s:
        assert s.scalars(select(WebhookDelivery.status)).all() == ["pending"]
        assert s.scalars(select(WebhookAttempt.status_code)).all() == [500]
