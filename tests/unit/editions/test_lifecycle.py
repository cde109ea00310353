"""The edition state machine: every pair of states, through the one function that moves them."""
from datetime import date

import pytest
from sqlalchemy import update

from newsletter.editions import lifecycle
from newsletter.editions.models import Edition, EditionStatus
from newsletter.errors import Conflict, NotFound
from newsletter.operators import editions as operator_editions
from newsletter.staff.access import cli_actor
from tests.helpers import at

ALL = list(EditionStatus)
PAIRS = [(a, b) for a in ALL for b in ALL if a != b]


@pytest.fixture
def edition_id(session, publication):
    ed = Edition(publication_id=publication.id, date=date(2026, 11, 26), status="built",
                 window_start=at("2026-11-25T11:00:00"), window_end=at("2026-11-26T11:00:00"))
    session.add(ed)
    session.commit()
    return ed.id


@pytest.mark.parametrize("current, to", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_transition_is_allowed_or_refused_by_the_table(engine, edition_id, current, to):
    with engine.begin() as conn:
        conn.execute(update(Edition.__table__).where(Edition.__table__.c.id == edition_id).values(status=current))
        if to in lifecycle.TRANSITIONS[current]:
            assert lifecycle.move(conn, edition_id, to) == to
            assert lifecycle.status_of(conn, edition_id) == to
        else:
            with pytest.raises(Conflict, match=f"is {current}"):
                lifecycle.move(conn, edition_id, to)
            assert lifecycle.status_of(conn, edition_id) == current


def test_moves_are_idempotent_and_unknown_editions_are_not_found(engine, edition_id):
    with engine.begin() as conn:
        assert lifecycle.hold(conn, edition_id) == lifecycle.hold(conn, edition_id) == EditionStatus.HELD
        with pytest.raises(NotFound):
            lifecycle.pause(conn, 987654)


def test_final_states_have_no_way_out():
    assert lifecycle.TRANSITIONS[EditionStatus.CANCELLED] == frozenset()  # empty can be rebuilt
    # sent: only back to sending, when an operator sends its failed deliveries again
    assert lifecycle.TRANSITIONS[EditionStatus.SENT] == frozenset({EditionStatus.SENDING})


def test_resume_clears_the_reason_and_the_refusal_count(engine, edition_id):
    with engine.begin() as conn:
        lifecycle.start(conn, edition_id, 10)
        lifecycle.pause(conn, edition_id, "paused after 3 refusals")
        conn.execute(update(Edition.__table__).values(message_refusals=3))
        lifecycle.resume(conn, edition_id)
        row = conn.execute(Edition.__table__.select()).one()
    assert (row.status, row.pause_reason, row.message_refusals) == ("sending", "", 0)


ACT_NAMES = [*lifecycle.ACTS, "rebuild"]
CASES = [(s, started) for s in ALL for started in (False, True)]


@pytest.mark.parametrize("current, started", CASES, ids=[f"{s}{'-started' if st else ''}" for s, st in CASES])
def test_the_acts_offered_are_the_ones_that_work(engine, session, edition_id, current, started):
    """The console shows a button for each of `acts`; each one offered works, and each one
    not offered is refused or changes nothing."""
    offered = lifecycle.acts(current, started)
    for act in ACT_NAMES:
        with engine.begin() as conn:
            conn.execute(update(Edition.__table__).where(Edition.__table__.c.id == edition_id).values(
                status=current, started_at=at("2026-11-26T11:00:00") if started else None))
        session.expire_all()
        try:
            with session.begin():
                extra = {"deliver": lambda _: None} if act == "resume" else {}  # no delivery here
                getattr(operator_editions, act)(session, cli_actor(), edition_id, **extra)
        except Conflict:
            assert act not in offered, (act, current)
            continue
        with engine.connect() as conn:
            now = lifecycle.status_of(conn, edition_id)
        if act in offered and act != "rebuild":
            assert now == lifecycle.ACTS[act][0], (act, current)
        elif act not in offered:
            assert now == current, (act, current)  # idempotent: already there


def test_a_release_never_makes_an_empty_edition_built(engine, edition_id):
    """The table allows empty -> built (a rebuild that found headlines), but a release is
    from held only: if a rebuild emptied the edition under it, the release is refused."""
    with engine.begin() as conn:
        conn.execute(update(Edition.__table__).values(status=EditionStatus.EMPTY))
        with pytest.raises(Conflict, match="is empty"):
            lifecycle.release(conn, edition_id)
        with pytest.raises(Conflict, match="is empty"):
            lifecycle.move(conn, edition_id, EditionStatus.BUILT, sources=frozenset({EditionStatus.HELD}))
        assert lifecycle.status_of(conn, edition_id) == EditionStatus.EMPTY
