"""Between two messages a sender asks: may I go on, which domains are held, and is an
outage of the relay recorded (that the next message sent ends: outage.py)?

The answer is at most `interval` seconds old, so a pause or a cancel takes effect
within that time, mid-batch, on every worker. While messages go out on PostgreSQL,
each sent mark brings the answer back with it (marks.py: `observe`), fresh at every
message and at no extra round trip; the gate reads the database itself only when no
mark has told it anything for `interval` seconds (SQLite, or a run of failures).
"""
from __future__ import annotations

import time

from sqlalchemy import Connection, select

from newsletter.delivery.marks import EditionState
from newsletter.delivery.models import DomainHold
from newsletter.editions.models import Edition, EditionStatus

editions = Edition.__table__
holds = DomainHold.__table__


class EditionGate:
    def __init__(self, conn: Connection, edition_id: int, interval: float = 0.2):
        self.conn, self.edition_id, self.interval = conn, edition_id, interval
        self.status = EditionStatus.SENDING
        self.held_domains: frozenset[str] = frozenset()
        self.relay_down = False
        self._held_seen: tuple[str, ...] = ()
        self._checked = float("-inf")

    def stopped(self) -> bool:
        now = time.monotonic()
        if now - self._checked >= self.interval:
            self.refresh()
            self._checked = now
        return self.status != EditionStatus.SENDING

    def refresh(self) -> None:
        status, since = self.conn.execute(select(editions.c.status, editions.c.relay_down_since)
                                          .where(editions.c.id == self.edition_id)).one()
        self.status, self.relay_down = EditionStatus(status), since is not None
        self._held_seen = tuple(sorted(self.conn.scalars(select(holds.c.domain).where(
            holds.c.edition_id == self.edition_id, holds.c.held_at.is_not(None)))))
        self.held_domains = frozenset(self._held_seen)
        self.conn.commit()

    def observe(self, state: EditionState | None) -> None:
        """The state a sent mark read in its own statement: as good as a refresh."""
        if state is None:
            return
        if self.status == EditionStatus.SENDING:  # never undo a force() or a stop seen
            self.status = EditionStatus(state.status)
        self.relay_down = state.relay_down
        if state.held_domains != self._held_seen:
            self._held_seen = state.held_domains
            self.held_domains = frozenset(state.held_domains)
        self._checked = time.monotonic()

    def hold(self, domain: str) -> None:
        """This sender held a domain itself: its next rows for that domain wait at once."""
        self.held_domains = self.held_domains | {domain}

    def force(self, status: EditionStatus) -> None:
        """This sender changed the status itself (a pause by refusals): stop at once."""
        self.status = status
