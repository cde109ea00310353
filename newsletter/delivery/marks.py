"""Recording each message's outcome the moment the relay answered.

This is on the hot path (once per message) and is what the at-most-once bound rests
on, so it is one statement and one round trip: on PostgreSQL a dedicated DBAPI
connection in autocommit mode with synchronous_commit off (the row is in the
server the moment the statement returns; only a crash of the database server
itself could lose the last fraction of a second). On SQLite, the shared connection
and a commit (WAL, synchronous=NORMAL).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, update

from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D

_PG_SENT = ("UPDATE deliveries SET status = %s, sent_at = %s, claimed_at = %s, "
            "message_id = %s, last_error = '', error_class = '' WHERE id = %s")


class SentMarks:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.raw = None
        if conn.dialect.name == "postgresql":
            self.raw = conn.engine.raw_connection()
            self.raw.driver_connection.autocommit = True
            self.cursor = self.raw.driver_connection.cursor()
            self.cursor.execute("SET synchronous_commit TO OFF")

    def sent(self, delivery_id: int, message_id: str, at: datetime) -> None:
        if self.raw is not None:
            self.cursor.execute(_PG_SENT, (D.SENT.value, at, at, message_id, delivery_id), prepare=True)
            return
        self.conn.execute(update(Delivery.__table__).where(Delivery.__table__.c.id == delivery_id)
                          .values(status=D.SENT, sent_at=at, claimed_at=at, message_id=message_id,
                                  last_error="", error_class=""))
        self.conn.commit()

    def close(self) -> None:
        if self.raw is not None:
            self.cursor.execute("RESET synchronous_commit")
            self.cursor.close()
            self.raw.driver_connection.autocommit = False
            self.raw.close()  # back to the pool
            self.raw = None
