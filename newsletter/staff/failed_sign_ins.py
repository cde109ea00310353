"""Failed console sign-ins in the audit log, at a bounded rate.

A wrong password (or an unknown, disabled or single-sign-on-only account) is recorded as
`staff.login_failed`: from which client address, and which account when the address
named one (`staff:<id>`); never what was typed, neither the password nor an address that
names no account (people type passwords into the address field). The row is written in
a transaction of its own, after the sign-in's was rolled back.

The bound: attempts held back by the sign-in back-off (staff/throttle.py) never reach
the password check, so they are not recorded one by one; and at most PER_MINUTE rows a
minute are written in all (counted in the sign-in limits' store: Redis when configured,
shared by every web process), then one row saying that further failures of that minute
are not itemised. An attacker with many addresses can fill PER_MINUTE + 1 rows a minute
(about 45,000 a day, a few megabytes), not the disk.
"""
from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from newsletter.staff.access import Actor
from newsletter.staff.audit import record
from newsletter.staff.models import Role
from newsletter.staff.throttle import Store

log = logging.getLogger(__name__)
PER_MINUTE = 30
ACTION = "staff.login_failed"


def record_failed(engine: Engine, store: Store, staff_id: int | None, why: str, address: str,
                  via: str = "console") -> bool:
    """Record one failed sign-in, within the bound; whether a row was written."""
    minute = int(store.clock() // 60)
    n = store.add(f"audit-failed:{minute}", 1, 120)
    if n > PER_MINUTE + 1:
        return False
    detail = {"why": why} if n <= PER_MINUTE else {
        "why": why, "note": f"more than {PER_MINUTE} failed sign-ins this minute: the rest are not itemised"}
    # Nobody is signed in: the actor is the client, by its address only.
    actor = Actor(Role.VIEWER, "(not signed in)", via, address)
    with Session(engine) as s:
        record(s, actor, ACTION, f"staff:{staff_id}" if staff_id is not None else "", detail)
        s.commit()
    return True
