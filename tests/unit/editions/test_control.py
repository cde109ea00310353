"""Edition control before sending (issue 9, item 10): rebuild, hold, release, replace."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from newsletter.delivery import plan
from newsletter.editions import edition_acts
from newsletter.editions.build import build_edition, find_edition
from newsletter.editions.due import check_schedule
from newsletter.editions.history import Act, history_of
from newsletter.editions.models import EditionStatus
from newsletter.errors import Conflict, InvalidInput
from newsletter.operators import editions as operator_editions
from newsletter.staff.access import cli_actor
from newsletter.staff.models import AuditEntry
from newsletter.store.models import Article
from tests.helpers import BUILT_CUT as CUT
from tests.helpers import BUILT_DAY as DAY
from tests.helpers import add_article

# Both databases: the conditional updates, the row lock and the NOT IN subquery are SQL.
pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


def test_a_rebuild_reruns_the_selection_with_the_same_cut_off_and_keeps_the_old_items(session, built):
    add_article(session, "drone-war", "Arrived since", CUT - timedelta(hours=3), ingested=CUT - timedelta(minutes=30))
    add_article(session, "superpowers", "After the cut-off", CUT - timedelta(minutes=30))
    result = edition_acts.rebuild(session, built.id, now=CUT)
    session.commit()
    assert [i.headline for i in result.edition.items] == ["First", "Arrived since"]
    assert (result.edition.window_start, result.edition.window_end) == (built.window_start, built.window_end)
    assert [e.headline for e in result.diff.new] == ["Arrived since"] and result.diff.unchanged == 1
    (entry,) = history_of(session, built.id)
    assert entry.act == Act.REBUILT and [i["headline"] for i in entry.detail["items"]] == ["First"]


def test_a_rebuild_to_nothing_is_empty_and_an_empty_edition_can_come_back(session, publication, built):
    article = session.scalar(select(Article))
    article.published_at = CUT + timedelta(days=1)  # out of the window now
    session.commit()
    assert edition_acts.rebuild(session, built.id).edition.status == EditionStatus.EMPTY
    article.published_at = CUT - timedelta(hours=2)
    session.commit()
    assert edition_acts.rebuild(session, built.id).edition.status == EditionStatus.BUILT


def test_a_hold_outlives_a_rebuild_to_nothing(session, publication, built):
    """Held, rebuilt empty, rebuilt with headlines again: still held, until released."""
    edition_acts.hold(session, built.id, "check the lead")
    article = session.scalar(select(Article))
    article.published_at = CUT + timedelta(days=1)
    session.commit()
    assert edition_acts.rebuild(session, built.id).edition.status == EditionStatus.EMPTY
    article.published_at = CUT - timedelta(hours=2)
    session.commit()
    assert edition_acts.rebuild(session, built.id).edition.status == EditionStatus.HELD
    assert edition_acts.release(session, built.id) == EditionStatus.BUILT


def test_only_an_edition_that_has_not_started_can_be_rebuilt(session, engine, built):
    with engine.begin() as conn:
        plan.start(conn, built.id)
    session.expire_all()
    with pytest.raises(Conflict, match="is sending: only an edition that has not started"):
        edition_acts.rebuild(session, built.id)


def test_a_held_edition_is_never_started_until_released(session, engine, publication, built):
    assert edition_acts.hold(session, built.id, "checking a headline") == EditionStatus.HELD
    session.commit()
    with engine.begin() as conn:
        assert plan.start(conn, built.id) == EditionStatus.HELD
    due = check_schedule(session, CUT + timedelta(minutes=1), timedelta(hours=3)).due
    assert [(d.edition_id, d.status) for d in due] == [(built.id, EditionStatus.HELD)]  # not started
    assert edition_acts.rebuild(session, built.id).edition.status == EditionStatus.HELD  # held stays held
    assert edition_acts.release(session, built.id) == EditionStatus.BUILT
    session.commit()
    with pytest.raises(Conflict):
        edition_acts.release(session, built.id)
    assert [h.act for h in history_of(session, built.id)] == [Act.HELD, Act.REBUILT, Act.RELEASED]
    with engine.begin() as conn:
        assert plan.start(conn, built.id) == EditionStatus.SENDING


def test_a_cancelled_edition_is_replaced_only_with_a_reason(session, engine, publication, built):
    with pytest.raises(Conflict, match="replaces only a cancelled edition"):
        edition_acts.replace_cancelled(session, publication, DAY, "typo")
    from newsletter.delivery import send_acts

    with engine.begin() as conn:
        send_acts.cancel(conn, built.id)
    session.expire_all()
    with pytest.raises(InvalidInput, match="needs a reason"):
        edition_acts.replace_cancelled(session, publication, DAY, "  ")
    old, new = edition_acts.replace_cancelled(session, publication, DAY, "wrong headline\nfixed", now=CUT)
    session.commit()
    assert new.id != old.id and new.replaces_id == old.id and old.superseded_at == CUT
    assert [i.headline for i in new.items] == ["First"]  # the cancelled edition's headlines are not "shown"
    assert find_edition(session, publication.id, DAY).id == new.id
    assert [(h.act, h.reason) for h in history_of(session, old.id)] == [(Act.SUPERSEDED, "wrong headline fixed")]
    assert history_of(session, new.id)[0].detail == {"replaces": old.id}
    with pytest.raises(Conflict):
        edition_acts.replace_cancelled(session, publication, DAY, "again")  # the new one is not cancelled
    nxt, _ = build_edition(session, publication, DAY + timedelta(days=1), now=CUT + timedelta(days=1))
    assert nxt.window_start == new.window_end  # the replacement is the previous edition now


def test_holding_twice_records_once(session, built):
    for _ in range(2):
        assert operator_editions.hold(session, cli_actor(), built.id, "check the lead") == EditionStatus.HELD
    assert [h.act for h in history_of(session, built.id)].count(Act.HELD) == 1
    assert session.scalars(select(AuditEntry.action)).all() == ["edition.hold"]
    operator_editions.release(session, cli_actor(), built.id)
    with pytest.raises(Conflict):  # a release is not idempotent: it says the edition was not held
        operator_editions.release(session, cli_actor(), built.id)
