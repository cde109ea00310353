"""Recording each message's outcome the moment the relay answered.

This is on the hot path (once per message) and is what the bound on duplicates rests on
(at most one per SMTP connection open when a worker dies), so it is one statement and
one round trip: on PostgreSQL a dedicated connection in autocommit mode, by default with
synchronous_commit off (the row is in the server the moment the statement returns; a
crash of the database server itself can lose the marks of its last fraction of a second,
up to three times wal_writer_delay, and those messages go again: claims.py states the
bounds). NEWSLETTER_SYNCHRONOUS_MARKS=true keeps synchronous_commit on: every mark the
server acknowledged survives its crash, at the cost measured in the README's benchmarks.
On SQLite, the shared connection and a commit (WAL, synchronous=NORMAL).

A mark is fenced (claims.py): it applies only where the row is still this sender's own
claim (`claimed_by` and `sending`). A mark that finds nothing sets `lost`: the rows were
taken from this sender, which stops before its next MAIL.

On PostgreSQL, `sent` sends the statement and returns; `settle` waits for its answer.
The sender writes its next message's envelope and body in between, and settles just
before that message's end of data (completion.py): the row is committed after the
final 250 and before the next message can be complete, and the database's round trip
is spent on the wire instead of asleep. Until a mark is
settled it is `in_doubt`: a batch interrupted by a database error hands it to its
next run, which marks it (claims.Handover), since the relay did accept that message.

The same statement also answers the sender's other questions, may I go on, and is the
relay's outage over: it returns the edition's status, its held domains and whether an
outage is recorded, as committed at that moment, so the gate (gate.py) needs no query
of its own while messages go out.
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
            b"last_error = '', error_class = '', relay = $6 FROM editions AS e "
            b"WHERE d.id = $4 AND d.claimed_by = $5 AND d.status = 'sending' AND e.id = d.edition_id "
            b"RETURNING e.status, "
            b"(SELECT string_agg(h.domain, ',' ORDER BY h.domain) FROM domain_holds AS h "
            b"WHERE h.edition_id = d.edition_id AND h.held_at IS NOT NULL), "  # a domain has no comma
            b"e.relay_down_since IS NOT NULL")


@dataclass(frozen=True)
class EditionState:
    """What a sender needs to know to go on: read with the mark, in the same statement."""

    status: str
    held_domains: tuple[str, ...]
    relay_down: bool = False  # an outage of the relay is recorded: this mark ends it (outage.py)


class SentMarks:
    def __init__(self, conn: Connection, token: str, synchronous: bool = False):
        self.conn, self.token = conn, token
        self.raw = None
        self._pending = False
        self.lost = False  # a mark found the row no longer ours
        # (delivery id, message id, when, relay): sent to the database, not yet settled
        self.in_doubt: tuple[int, str, datetime, str] | None = None
        if conn.dialect.name == "postgresql":
            # Imported here, as SQLAlchemy's dialect does: not in a process that never
            # connects (a Celery parent would hold psycopg's memory for nothing).
            import psycopg
            from psycopg import pq

            self.psycopg, self.pq = psycopg, pq
            self.raw = conn.engine.raw_connection()
            driver = self.raw.driver_connection
            driver.autocommit = True
            self.asynchronous = not synchronous
            if self.asynchronous:
                driver.execute("SET synchronous_commit TO OFF")
            self.pg = driver.pgconn  # libpq itself: send now, read the answer later
            prepared = self.pg.prepare(_STATEMENT, _PG_SENT)
            if prepared.status != pq.ExecStatus.COMMAND_OK and prepared.error_field(
                    pq.DiagnosticField.SQLSTATE) != b"42P05":  # already prepared on this pooled connection
                raise psycopg.OperationalError(prepared.error_message.decode(errors="replace"))

    def sent(self, delivery_id: int, message_id: str, at: datetime, relay: str = "") -> None:
        """Mark one delivery sent (by `relay`, the pool's relay that took it). On PostgreSQL
        the statement is on its way when this returns: call `settle` before the next
        message goes out."""
        if self.raw is not None:
            self.settle()  # never two in flight
            self.in_doubt = (delivery_id, message_id, at, relay)
            self.pg.send_query_prepared(_STATEMENT, [D.SENT.value.encode(), at.isoformat().encode(),
                                                     message_id.encode(), str(delivery_id).encode(),
                                                     self.token.encode(), relay.encode()])
            self._pending = True
            while self.pg.flush():  # the socket is non-blocking: the rest when it can take it
                select.select([], [self.pg.socket], [])
            return
        self.in_doubt = (delivery_id, message_id, at, relay)
        d = Delivery.__table__.c
        found = self.conn.execute(update(Delivery.__table__).where(
            d.id == delivery_id, d.claimed_by == self.token, d.status == D.SENDING)
            .values(status=D.SENT, sent_at=at, claimed_at=at, message_id=message_id,
                    last_error="", error_class="", relay=relay)).rowcount
        self.conn.commit()
        self.in_doubt = None
        self.lost = self.lost or not found

    def settle(self) -> EditionState | None:
        """Wait until the last mark is committed. Returns the edition's state it read
        (PostgreSQL; None when nothing was pending, or when the row was no longer ours:
        then `lost` is set); None on SQLite."""
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
        self.in_doubt = None
        if result.ntuples:
            held = result.get_value(0, 1)
            state = EditionState(result.get_value(0, 0).decode(),
                                 tuple(held.decode().split(",")) if held else (),
                                 result.get_value(0, 2) == b"t")
        else:
            self.lost = True
        return state

    def close(self) -> None:
        if self.raw is None:
            return
        raw, self.raw = self.raw, None
        try:
            self.settle()
            driver = raw.driver_connection
            driver.execute(f"DEALLOCATE {_STATEMENT.decode()}")
            if self.asynchronous:
                driver.execute("RESET synchronous_commit")
            driver.autocommit = False
        except Exception:
            raw.invalidate()  # in an unknown state: never back to the pool as it is
            raise
        finally:
            raw.close()  # back to the pool
