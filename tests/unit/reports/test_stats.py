from datetime import date

from newsletter.delivery.models import Delivery
from newsletter.editions.models import Edition
from newsletter.reports.stats import edition_stats
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.models import Event
from tests.helpers import at


def test_unsubscribe_rate_by_method(session, publication):
    subs = [add_subscriber(session, publication, f"r{i}@example.org") for i in range(4)]
    ed = Edition(publication_id=publication.id, date=date(2026, 11, 26), status="sent",
                 window_start=at("2026-11-25T11:00:00"), window_end=at("2026-11-26T11:00:00"))
    session.add(ed)
    session.flush()
    for s in subs:
        session.add(Delivery(edition_id=ed.id, subscriber_id=s.subscriber_id, status="sent"))
    session.add_all([
        Event(kind="unsubscribe", method="one-click", subscriber_id=subs[0].subscriber_id, edition_id=ed.id),
        Event(kind="unsubscribe", method="link", subscriber_id=subs[1].subscriber_id, edition_id=ed.id),
        Event(kind="resubscribe", method="link", subscriber_id=subs[1].subscriber_id, edition_id=ed.id),
    ])
    session.flush()
    (row,) = edition_stats(session)
    assert (row.sent, row.unsubscribes, row.rate) == (4, 2, 0.5)
    assert row.by_method == {"one-click": 1, "link": 1}
