"""An operator's act and its lock on PostgreSQL (SQLite runs one writer at a time, so two
acts never overlap there: nothing to test)."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from newsletter.editions import lifecycle
from newsletter.editions.models import EditionStatus
from newsletter.operators import editions as operator_editions
from newsletter.staff.access import cli_actor

pytestmark = pytest.mark.parametrize("backend_name", ["postgres"], indirect=True)


def test_an_operators_act_reads_its_before_under_the_row_lock(engine, built):
    """On PostgreSQL an act reads the state it starts from with the row locked, so a
    second act on the same edition waits for the first to commit and then finds it done
    (one history row, one audit entry), instead of reading the old state and recording
    a change it did not make."""
    first = Session(engine)
    try:
        operator_editions.hold(first, cli_actor(), built.id, "first")  # not committed yet
        with engine.connect() as other:
            assert lifecycle.status_of(other, built.id) == EditionStatus.BUILT  # a plain read does not wait
            other.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                lifecycle.status_of(other, built.id, lock=True)  # the act's read waits for the first act
    finally:
        first.rollback()
        first.close()
