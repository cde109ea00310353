"""Recording each message's outcome the moment the relay answered.

This is on the hot path (once per message) and is what the at-most-once bound rests
on, so it is one statement and one round trip: on PostgreSQL a dedicated connection
in autocommit mode with synchronous_commit off (the row is in the server the moment
the statement returns; only a crash of the database server itself could lose the
last fraction of a second). On SQLite, the shared connection and a commit (WAL,
synchronous=NORMAL).

On PostgreSQL, `sent` sends the statement and returns; `settle` waits for its answer.
The sender composes its next message in between, and settles before that message's
MAIL: the row is still committed after the final 250 and before the next MAIL, and
the wait for the database is spent composing instead of asleep.

The same statement also answers the sender's other question, may I go on: it returns
the edition's status and its held domains as committed at that moment, so the gate
(gate.py) needs no query of its own while messages go out.
"""
from __future__ import annotations

import select
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, update

from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus as D

_STATEMENT = b"newsletter_sent_mark"
_PG_SENT = (b"UPDATE deliveries AS d SET status = $1, sent_at = $2, claimed_at = $2, message_id = $3, "
            b"last_error = '', error_class = '' WHERE d.id = $4 "
            b"RETURNING (SELECT e.status FROM editions AS e WHERE e.id = d.edition_id), "
            b"(SELECT string_agg(h.domain, ',' ORDER BY h.domain) FROM domain_holds AS h "
            b"WHERE h.edition_id = d.edition_id AND h.held_at IS NOT NULL)")  # a domain has no comma


@dataclass(frozen=True)
class EditionState:
    """What a sender needs to know to go on: read with the mark, in the same statement."""

    status: str
    held_domains: tuple[str, ...]


class SentMarks:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.raw = None
        self._pending = False
        if conn.dialect.name == "postgresql":
            # Imported here, as SQLAlchemy's dialect does: not in a process that never
            # connects (a Celery parent would hold psycopg's memory for nothing).
            import psycopg
            from psycopg import pq

            self.psycopg, self.pq = psycopg, pq
            self.raw = conn.engine.raw_connection()
            driver = self.raw.driver_connection
            driver.autocommit = True
            driver.execute("SET synchronous_commit TO OFF")
            self.pg = driver.pgconn  # libpq itself: send now, read the answer later
            prepared = self.pg.prepare(_STATEMENT, _PG_SENT)
            if prepared.status != pq.ExecStatus.COMMAND_OK and prepared.error_field(
                    pq.DiagnosticField.SQLSTATE) != b"42P05":  # already prepared on this pooled connection
                raise psycopg.OperationalError(prepared.error_message.decode(errors="replace"))

    def sent(self, delivery_id: int, message_id: str, at: datetime) -> None:
        """Mark one delivery sent. On PostgreSQL the statement is on its way when this
        returns: call `settle` before the next message goes out."""
        if self.raw is not None:
            self.settle()  # never two in flight
            self.pg.send_query_prepared(_STATEMENT, [D.SENT.value.encode(), at.isoformat().encode(),
                                                     message_id.encode(), str(delivery_id).encode()])
            self._pending = True
            while self.pg.flush():  # the socket is non-blocking: the rest when it can take it
                select.select([], [self.pg.socket], [])
            return
        self.conn.execute(update(Delivery.__table__).where(Delivery.__table__.c.id == delivery_id)
                          .values(status=D.SENT, sent_at=at, claimed_at=at, message_id=message_id,
                                  last_error="", error_class=""))
        self.conn.commit()

    def settle(self) -> EditionState | None:
        """Wait until the last mark is committed. Returns the edition's state it read
        (PostgreSQL; None when nothing was pending or the row is gone); None on SQLite."""
        if not self._pending:
            return None
        self._pending = False
        pg = self.pg
        while True:
            pg.consume_input()
            if not pg.is_busy():
                break
            select.select([pg.socket], [], [])
        result, state = pg.get_result(), None
        while pg.get_result() is not None:
            pass
        if result is None or result.status != self.pq.ExecStatus.TUPLES_OK:
            message = result.error_message.decode(errors="replace") if result is not None else "no result"
            raise self.psycopg.OperationalError(f"marking a delivery sent failed: {message}")
        if result.ntuples:
            held = result.get_value(0, 1)
            state = EditionState(result.get_value(0, 0).decode(),
                                 tuple(held.decode().split(",")) if held else ())
        return state

    def close(self) -> None:
        if self.raw is None:
            return
        raw, self.raw = self.raw, None
        try:
            self.settle()
            driver = raw.driver_connection
            driver.execute(f"DEALLOCATE {_STATEMENT.decode()}")
            driver.execute("RESET synchronous_commit")
            driver.autocommit = False
        except Exception:
            raw.invalidate()  # in an unknown state: never back to the pool as it is
            raise
        finally:
            raw.close()  # back to the pool
