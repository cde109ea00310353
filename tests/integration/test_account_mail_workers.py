"""The welcome and address-change emails on Celery: the tasks the dispatcher hands them
to run on a real worker, through a real SMTP server, and a relay's temporary refusal is
tried again later, as for the confirmation."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.subscribers.address_change import request_change
from newsletter.subscribers.models import Subscriber, Subscription
from tests.integration.servers import wait_for


def test_welcome_and_address_change_on_a_worker(stack):
    stack.seed(2)
    stack.smtp.handler.keep_messages = True
    stack.smtp.handler.defer_once = lambda rcpt: rcpt == "reader000000@example.org"  # 451 the first time
    with Session(stack.engine) as s:
        sub_id = s.scalar(select(Subscription.id).join(Subscriber)
                          .where(Subscriber.email == "reader000000@example.org"))
        other = s.scalar(select(Subscriber).where(Subscriber.email == "reader000001@example.org"))
        change_id = request_change(s, other, "reader.new@example.org").id
        s.commit()
    stack.worker()
    stack.send("send_welcome", sub_id)
    for side in ("old", "new"):
        stack.send("send_address_change", change_id, side)
    wait_for(lambda: stack.smtp.handler.total() == 3, 60, interval=0.1, what="three personal emails")
    assert stack.smtp.handler.received == {"reader000000@example.org": 1, "reader000001@example.org": 1,
                                           "reader.new@example.org": 1}
    assert "reader000000@example.org" in stack.smtp.handler.deferred  # refused once, sent on the retry
    subjects = sorted(m["Subject"] for m in stack.smtp.handler.parsed())
    assert subjects == ["A change of address was asked for your SpaceWar Daily subscription",
                        "Confirm your new address for SpaceWar Daily", "Welcome to SpaceWar Daily"]
