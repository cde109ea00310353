"""An edition's life: one state machine, one place that moves it.

    built --start--> sending --all rows final--> sent --retry failed ones--> sending
      |  \\             | ^
      |   hold         pause (operator, or refusals of the message) / resume
      |     \\          v |
      |      held     paused
      |       | release
      |       v
      '-----> built
    built, held, sending, paused --cancel--> cancelled
    empty: an edition with no headlines, recorded and never sent; a rebuild before
      sending (editions/edition_acts.py) moves built or held to empty, and empty to built

Every change of `editions.status` goes through `move`, a conditional UPDATE on the
state it was read in, so two processes never both make the same change. The functions
take a Core connection (ORM code passes `session.connection()`).
"""
from __future__ import annotations

from sqlalchemy import Connection, select, update

from newsletter.db import utcnow
from newsletter.editions.models import Edition, EditionStatus
from newsletter.errors import Conflict, NotFound
from newsletter.webhooks import outbox

E = EditionStatus
TRANSITIONS: dict[EditionStatus, frozenset[EditionStatus]] = {
    E.BUILT: frozenset({E.SENDING, E.HELD, E.CANCELLED, E.EMPTY}),
    E.HELD: frozenset({E.BUILT, E.CANCELLED, E.EMPTY}),
    E.SENDING: frozenset({E.PAUSED, E.SENT, E.CANCELLED}),
    E.PAUSED: frozenset({E.SENDING, E.CANCELLED}),
    E.EMPTY: frozenset({E.BUILT, E.HELD, E.CANCELLED}),  # rebuilt with headlines (held again if it was),
    # or cancelled to be replaced
    E.SENT: frozenset({E.SENDING}),  # only to send its failed deliveries again (delivery/send_acts.py: retry)
    E.CANCELLED: frozenset(),
}
# Verbs for messages: "cannot pause an edition that is sent".
_VERB = {E.PAUSED: "pause", E.SENDING: "send or resume", E.CANCELLED: "cancel", E.HELD: "hold",
         E.BUILT: "release or rebuild", E.SENT: "finish", E.EMPTY: "rebuild"}

editions = Edition.__table__


def status_of(conn: Connection, edition_id: int, lock: bool = False) -> EditionStatus:
    """`lock`: hold the row until the transaction ends (PostgreSQL), so that an operator's
    act and its audit entry see the state no one else is changing meanwhile: of two
    people holding one edition at once, the second finds it held and records nothing."""
    query = select(editions.c.status).where(editions.c.id == edition_id)
    current = conn.scalar(query.with_for_update() if lock else query)
    if current is None:
        raise NotFound(f"no edition {edition_id}")
    return EditionStatus(current)


def move(conn: Connection, edition_id: int, to: EditionStatus, sources: frozenset[EditionStatus] | None = None,
         **values) -> EditionStatus:
    """Change the status if the table allows it (and, for an operator's act, if it is one
    of `sources`); idempotent when already there. Conflict (with the reason) otherwise."""
    current = status_of(conn, edition_id)
    if current == to:
        return to
    if to not in TRANSITIONS[current]:
        raise Conflict(f"edition {edition_id} is {current}: cannot {_VERB.get(to, to)} it")
    if sources is not None and current not in sources:
        raise Conflict(f"edition {edition_id} is {current}: cannot {_VERB.get(to, to)} it")
    changed = conn.execute(update(editions).where(editions.c.id == edition_id, editions.c.status == current)
                           .values(status=to, **values)).rowcount
    if not changed:  # someone moved it between our read and our write: decide again, by the same rules
        return move(conn, edition_id, to, sources, **values)
    return to


# An operator's act, the state it moves an edition to, and the states it moves it from
# (a subset of the table: resuming is from paused only, releasing from held only).
ACTS: dict[str, tuple[EditionStatus, frozenset[EditionStatus]]] = {
    "pause": (E.PAUSED, frozenset({E.SENDING})),
    "resume": (E.SENDING, frozenset({E.PAUSED})),
    "hold": (E.HELD, frozenset({E.BUILT})),
    "release": (E.BUILT, frozenset({E.HELD})),
    "cancel": (E.CANCELLED, frozenset(s for s, to in TRANSITIONS.items() if E.CANCELLED in to)),
}
NOT_STARTED = (E.BUILT, E.HELD, E.EMPTY)  # what a rebuild may touch (editions/edition_acts.py)


def acts(status: str, started: bool) -> list[str]:
    """What an operator can do to an edition now: the console's buttons, the API's `acts`."""
    current = EditionStatus(status)
    found = [act for act, (to, sources) in ACTS.items() if current in sources and to in TRANSITIONS[current]]
    if current in NOT_STARTED and not started:
        found.append("rebuild")
    return found


def _act(conn: Connection, edition_id: int, act: str, **values) -> EditionStatus:
    """An operator's act: only from the states ACTS names (resuming a built edition would
    skip its start), idempotent when already there, then the table's own check."""
    to, sources = ACTS[act]
    current = status_of(conn, edition_id)
    if current != to and current not in sources:
        raise Conflict(f"edition {edition_id} is {current}: cannot {act} it")
    return move(conn, edition_id, to, sources, **values)  # checked again if it moves under us


def pause(conn: Connection, edition_id: int, reason: str = "") -> EditionStatus:
    """By an operator (no reason) or by the delivery code (the reason is shown by status)."""
    return _act(conn, edition_id, "pause", pause_reason=reason[:2000])


def resume(conn: Connection, edition_id: int) -> EditionStatus:
    return _act(conn, edition_id, "resume", pause_reason="", message_refusals=0)


def start(conn: Connection, edition_id: int, audience_top: int) -> EditionStatus:
    return move(conn, edition_id, E.SENDING, max_subscriber_id=audience_top, started_at=utcnow())


def finish(conn: Connection, edition_id: int) -> EditionStatus:
    before = status_of(conn, edition_id)
    status = move(conn, edition_id, E.SENT, finished_at=utcnow())
    if status == E.SENT and before != E.SENT:
        outbox.edition_sent(conn, edition_id)  # webhooks: in the same transaction
    return status


def reopen(conn: Connection, edition_id: int) -> EditionStatus:
    """A sent edition whose failed deliveries an operator sends again: sending until they
    are final again (its audience and checkpoint stay as they were)."""
    return move(conn, edition_id, E.SENDING, frozenset({E.SENT, E.SENDING}), finished_at=None)


def hold(conn: Connection, edition_id: int) -> EditionStatus:
    return _act(conn, edition_id, "hold")


def release(conn: Connection, edition_id: int) -> EditionStatus:
    return _act(conn, edition_id, "release")


def cancel(conn: Connection, edition_id: int) -> EditionStatus:
    return _act(conn, edition_id, "cancel", finished_at=utcnow())
