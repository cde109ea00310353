"""The preference centre's own acts (subscribers/preferences.py): another publication
without double opt-in but never past a suppression that is not the person's own
unsubscribe, a name; the data download and the person's own erasure (people/)."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from newsletter.config import sample_file
from newsletter.errors import Conflict, InvalidInput
from newsletter.people.erase import erase_rows
from newsletter.people.held import person_data
from newsletter.publications.load import load_publications
from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle, preferences
from newsletter.subscribers.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    Suppression,
    SuppressionReason,
)
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.models import Event, EventKind, Method
from tests.helpers import WEEKLY

SECRET = "test-secret-key-for-signing"


@pytest.fixture
def two(session, tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(sample_file("publications.toml").read_text() + WEEKLY)
    daily, weekly = load_publications(session, path)
    ann = add_subscriber(session, daily, "ann@example.org", "Ann").subscriber
    session.commit()
    return daily, weekly, ann


def test_another_publication_is_theirs_to_add(session, two):
    daily, weekly, ann = two
    assert [p.slug for p in preferences.others(session, ann)] == ["spacewar-weekly"]
    lifecycle.unsubscribe(session, ann, weekly, Method.LINK)  # left it once (their own suppression)...
    session.execute(delete(Subscription).where(Subscription.subscriber_id == ann.id,
                                               Subscription.publication_id == weekly.id))
    assert preferences.add(session, ann, {weekly.id: {"drone-war", "cooking"}}, SECRET) == 1  # ...came back
    sub = lifecycle.subscription(session, ann.id, weekly.id)
    assert (sub.status, sub.sections) == ("active", ["drone-war"])
    assert not session.scalars(select(Suppression).where(Suppression.email == ann.email)).all()
    last = session.scalars(select(Event).order_by(Event.id.desc())).first()
    assert (last.kind, last.method) == (EventKind.SUBSCRIBE, Method.PREFERENCE_CENTRE)
    assert preferences.others(session, ann) == []
    assert preferences.add(session, ann, {weekly.id: set()}, SECRET) == 0  # a stale form adds nothing


@pytest.mark.parametrize("block", ["complaint", "hard_bounce", "admin", "disabled"])
def test_never_past_a_suppression_that_is_not_their_own(session, two, block):
    _, weekly, ann = two
    if block == "disabled":
        ann.status = SubscriberStatus.DISABLED
    else:
        lifecycle.suppress(session, ann.email, None, SuppressionReason(block))
    with pytest.raises(Conflict, match="cannot be added"):
        preferences.add(session, ann, {weekly.id: set()}, SECRET)
    session.rollback()
    assert lifecycle.subscription(session, ann.id, weekly.id) is None


def test_name_download_and_erasure(session, two):
    daily, _, ann = two
    with pytest.raises(InvalidInput):
        preferences.rename(session, ann, "Ann\nBcc: x@example.org")
    assert preferences.rename(session, ann, " Ann B. ") is True and ann.name == "Ann B."
    assert preferences.rename(session, ann, "Ann B.") is False
    assert person_data(session, ann)["subscriber"]["name"] == "Ann B."  # the download (people/held.py)
    assert erase_rows(session, SECRET, ann).addresses == ["ann@example.org"]  # their own erasure (people/erase.py)
    session.commit()
    assert session.scalar(select(Subscriber).where(Subscriber.email == "ann@example.org")) is None
    assert lifecycle.erased(session, SECRET, "ann@example.org") is not None
    assert session.scalar(select(Publication.id).where(Publication.id == daily.id)) == daily.id
