"""What `editions status` reports (issue 9, item 12): the total before the fan-out is
done, the rate over the real elapsed time, and the time left."""
from datetime import date, timedelta

from sqlalchemy import update

from newsletter.delivery import plan
from newsletter.delivery.models import Delivery
from newsletter.delivery.report import counts_by_edition, failures_by_class, report
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions import lifecycle
from newsletter.editions.build import build_edition
from newsletter.editions.models import Edition
from newsletter.subscribers.service import add_subscriber
from tests.helpers import add_article, at

START = at("2026-11-26T12:00:00")


def test_total_rate_and_time_left(session, engine, publication):
    add_article(session, "superpowers", "A headline", at("2026-11-26T10:00:00"))
    for i in range(5):
        add_subscriber(session, publication, f"r{i}@example.org")
    edition, _ = build_edition(session, publication, date(2026, 11, 26), now=START)
    session.commit()
    d = Delivery.__table__.c
    with engine.begin() as conn:
        plan.start(conn, edition.id)
        conn.execute(update(Edition.__table__).where(Edition.__table__.c.id == edition.id).values(started_at=START))
        plan.next_batch(conn, edition.id, 2)  # 2 of the 5 recorded so far
        conn.execute(update(Delivery.__table__).where(d.edition_id == edition.id, d.subscriber_id == 1)
                     .values(status=D.SENT, sent_at=START + timedelta(seconds=10)))
        conn.execute(update(Delivery.__table__).where(d.edition_id == edition.id, d.subscriber_id == 2)
                     .values(status=D.FAILED, error_class="recipient_refused", last_error="550 5.1.1 unknown",
                             attempts=1))
    with engine.connect() as conn:
        # Sending, 20 s in, the relay silent since the 10th second: 1 message in 20 s, not in 10.
        r = report(conn, edition.id, now=START + timedelta(seconds=20))
        assert (r.total, r.audience, r.remaining) == (5, 2, 3)
        assert r.rate == 1 / 20 and r.eta_seconds == 60
        (group,) = failures_by_class(conn, edition.id)
        assert (group.failure_class, group.count, group.recipients) == (
            "recipient_refused", 1, [("r1@example.org", 1, "550 5.1.1 unknown")])
        assert counts_by_edition(conn, [edition.id]) == {edition.id: {D.SENT: 1, D.FAILED: 1}}
    with engine.begin() as conn:
        lifecycle.pause(conn, edition.id)
        r = report(conn, edition.id, now=START + timedelta(seconds=60))
    assert r.rate == 1 / 10 and r.eta_seconds is None  # paused: up to the last message sent
