"""Recording each message's outcome the moment the relay answered.

This is on the hot path (once per message) and is what the at-most-once bound rests
on, so it is one statement and one round trip: on PostgreSQL a dedicated DBAPI
connection in autocommit mode with synchronous_commit off (the row is in the
server the moment the statement returns; only a crash of the database server
itself could lose the last fraction of a second). On SQLite, the shared connection
and a commit (WAL, synchronous=NORMAL).

On PostgreSQL the same statement also answers the sender's other question, may I go
on: it returns the edition's status and its held domains, as they are committed at
that moment, so the gate (gate.py) needs no query of its own while messages go out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, update

from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D

_PG_SENT = ("UPDATE deliveries AS d SET status = %s, sent_at = %s, claimed_at = %s, "
            "message_id = %s, last_error = '', error_class = '' WHERE d.id = %s "
            "RETURNING (SELECT e.status FROM editions AS e WHERE e.id = d.edition_id), "
            "ARRAY(SELECT h.domain FROM domain_holds AS h "
            "WHERE h.edition_id = d.edition_id AND h.held_at IS NOT NULL ORDER BY h.domain)")


@dataclass(frozen=True)
class EditionState:
    """What a sender needs to know to go on: read with the mark, in the same statement."""

    status: str
    held_domains: tuple[str, ...]


class SentMarks:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.raw = None
        if conn.dialect.name == "postgresql":
            self.raw = conn.engine.raw_connection()
            self.raw.driver_connection.autocommit = True
            self.cursor = self.raw.driver_connection.cursor()
            self.cursor.execute("SET synchronous_commit TO OFF")

    def sent(self, delivery_id: int, message_id: str, at: datetime) -> EditionState | None:
        """Mark one delivery sent, durably. On PostgreSQL, returns the edition's state
        (None if the row is gone); on SQLite, None: the gate reads it on its own."""
        if self.raw is not None:
            self.cursor.execute(_PG_SENT, (D.SENT.value, at, at, message_id, delivery_id), prepare=True)
            row = self.cursor.fetchone()
            return None if row is None else EditionState(row[0], tuple(row[1]))
        self.conn.execute(update(Delivery.__table__).where(Delivery.__table__.c.id == delivery_id)
                          .values(status=D.SENT, sent_at=at, claimed_at=at, message_id=message_id,
                                  last_error="", error_class=""))
        self.conn.commit()
        return None

    def close(self) -> None:
        if self.raw is not None:
            self.cursor.execute("RESET synchronous_commit")
            self.cursor.close()
            self.raw.driver_connection.autocommit = False
            self.raw.close()  # back to the pool
            self.raw = None
