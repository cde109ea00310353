"""Failed sign-ins in the audit: recorded without what was typed, at a bounded rate."""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.staff import failed_sign_ins
from newsletter.staff.models import AuditEntry
from newsletter.staff.throttle import Store


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def rows(engine):
    with Session(engine) as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action == "staff.login_failed")
                         .order_by(AuditEntry.id)).all()


def test_a_failed_sign_in_is_recorded_without_what_was_typed(engine):
    store = Store(clock=Clock())
    assert failed_sign_ins.record_failed(engine, store, 7, "wrong password", "203.0.113.9")
    assert failed_sign_ins.record_failed(engine, store, None, "no such account", "203.0.113.9")
    first, second = rows(engine)
    assert (first.target, first.address, first.via, first.staff_id) == ("staff:7", "203.0.113.9", "console", None)
    assert json.loads(first.detail) == {"why": "wrong password"}
    assert second.target == "" and json.loads(second.detail) == {"why": "no such account"}


def test_at_most_a_bounded_number_of_rows_a_minute(engine):
    clock = Clock()
    store = Store(clock=clock)
    limit = failed_sign_ins.PER_MINUTE
    written = [failed_sign_ins.record_failed(engine, store, None, "no such account", f"198.51.100.{n % 250}")
               for n in range(limit * 3)]
    assert written.count(True) == limit + 1 and written[:limit + 1] == [True] * (limit + 1)
    assert "not itemised" in json.loads(rows(engine)[-1].detail)["note"]
    clock.now += 60  # the next minute: recorded again
    assert failed_sign_ins.record_failed(engine, store, None, "no such account", "198.51.100.1")
    assert len(rows(engine)) == limit + 2
