"""The edition control tests' shared fixture: one built edition."""
from datetime import timedelta

import pytest

from newsletter.editions.build import build_edition
from tests.helpers import BUILT_CUT as CUT
from tests.helpers import BUILT_DAY as DAY
from tests.helpers import add_article


@pytest.fixture
def built(session, publication):
    """The edition of DAY, built an hour before CUT with one headline."""
    add_article(session, "superpowers", "First", CUT - timedelta(hours=2))
    edition, _ = build_edition(session, publication, DAY, now=CUT - timedelta(hours=1))  # early: window ends then
    session.commit()
    return edition
