"""A reader's click history: only with consent, revocable, erased with them."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from newsletter.db import utcnow
from newsletter.editions.build import build_edition
from newsletter.editions.clicks import follow
from newsletter.people.erase import erase_rows
from newsletter.subscribers import click_history
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.click_models import ReaderClick
from newsletter.tracking.scanners import ClickKind
from newsletter.tracking.token_claims import ClickClaim, MessageClaim
from tests.helpers import add_article, at

CUT = at("2026-11-26T11:00:00")


@pytest.fixture
def world(session, publication):
    publication.click_stats = publication.click_history = publication.most_clicked_first = True
    for n, slug in enumerate(["superpowers", "drone-war"]):
        add_article(session, slug, f"{slug} story", CUT - timedelta(hours=n + 1))
    edition, _ = build_edition(session, publication, date(2026, 11, 26), now=CUT + timedelta(hours=1))
    edition.started_at = CUT
    sub = add_subscriber(session, publication, "ann@example.org", "Ann")
    session.commit()
    return edition, sub


def click(session, edition, sub, section: str, kind=ClickKind.READER):
    item = next(i for i in edition.items if i.section_slug == section)
    person = MessageClaim(edition.id, 1, sub.subscriber_id, sub.subscriber.token_key)
    return follow(session, ClickClaim(edition.id, item.position), person, kind, utcnow())


def kept(session) -> int:
    return session.scalar(select(func.count()).select_from(ReaderClick))


def test_nothing_is_kept_without_consent(session, world):
    edition, sub = world
    click(session, edition, sub, "drone-war")
    assert kept(session) == 0


def test_kept_with_consent_ordered_and_gone_when_revoked(session, world):
    edition, sub = world
    click_history.agree(sub, utcnow(), most_clicked_first=True)
    click(session, edition, sub, "drone-war")
    click(session, edition, sub, "drone-war")
    click(session, edition, sub, "superpowers")
    click(session, edition, sub, "superpowers", ClickKind.EARLY)  # a scanner's: not theirs
    assert kept(session) == 3
    assert sub.click_order == ["drone-war", "superpowers"]
    assert click_history.revoke(session, sub) == 3
    assert kept(session) == 0 and sub.click_history_since is None and sub.click_order is None


def test_a_link_of_someone_erased_keeps_nothing_and_erasure_takes_the_history(session, world, settings):
    edition, sub = world
    click_history.agree(sub, utcnow(), most_clicked_first=False)
    click(session, edition, sub, "drone-war")
    assert kept(session) == 1
    erase_rows(session, settings.signing_key(), sub.subscriber)
    session.commit()
    assert kept(session) == 0
