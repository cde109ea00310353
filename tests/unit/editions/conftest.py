"""The edition control tests' shared fixture: one built edition."""
from datetime import date, timedelta

import pytest

from newsletter.editions.build import build_edition
from tests.helpers import add_article, at

DAY = date(2026, 11, 26)
CUT = at("2026-11-26T11:00:00")


@pytest.fixture
def built(session, publication):
    """The edition of DAY, built an hour before CUT with one headline."""
    add_article(session, "superpowers", "First", CUT - timedelta(hours=2))
    edition, _ = build_edition(session, publication, DAY, now=CUT - timedelta(hours=1))  # early: window ends then
    session.commit()
    return edition
