"""Outgoing webhooks on real Celery workers: an import's subscriptions (written in bulk)
become one signed `subscribed` event each; beat's webhooks_due hands them to the workers,
and the one the receiver answers 500 comes again after its back-off and is taken."""
from __future__ import annotations

import json
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.operators import webhooks
from newsletter.staff.access import cli_actor
from newsletter.webhooks import signing
from newsletter.webhooks.models import WebhookDelivery
from tests.integration.servers import wait_for
from tests.integration.webhook_receiver import Receiver


def test_the_workers_post_signed_events_and_retry_after_a_500(stack):
    receiver = Receiver().start()
    try:
        stack.env.update({"NEWSLETTER_WEBHOOKS_ALLOW_PRIVATE": "true", "NEWSLETTER_WEBHOOK_BACKOFF_SECONDS": "1"})
        stack.settings.webhooks_allow_private = True
        with Session(stack.engine) as s:
            endpoint, secret = webhooks.register(s, cli_actor(), stack.settings, receiver.url, ["subscribed"])
            s.commit()
        receiver.answers = [500]
        stack.seed(20)  # a CSV import of 20 readers: 20 events
        stack.worker(concurrency=2)

        def taken() -> int:
            with Session(stack.engine) as s:
                return len(s.scalars(select(WebhookDelivery.id).where(WebhookDelivery.status == "delivered")).all())

        wait_for(lambda: taken() == 20, 60, interval=0.5, on_wait=lambda: stack.send("webhooks_due"),
                 what="20 webhooks taken")
        assert [status for _, _, status in receiver.received].count(500) == 1
        bodies = [json.loads(body) for _, body, status in receiver.received if status == 200]
        assert sorted(b["data"]["email"] for b in bodies) == sorted(f"reader{i:06d}@example.org" for i in range(20))
        assert {b["type"] for b in bodies} == {"subscribed"} and len({b["id"] for b in bodies}) == 20
        for headers, body, _ in receiver.received:
            assert signing.verify(secret, headers[signing.HEADER], body, time.time())
    finally:
        receiver.stop()
