"""The delivery log's state machine: one row per (edition, subscriber).

    pending --claim--> sending --relay accepted--> sent
                          |--temporary / message refused--> retry --due, claimed--> sending
                          |--recipient refused, undeliverable, attempts used up--> failed --retry--> pending
                          |--no longer wanted (unsubscribed, suppressed, cancelled)--> skipped
                          |--domain held (policy refusals)--> held --released--> pending
                          '--given back (pause, relay down, dead sender)--> pending

Temporary failures get a last round (outcomes.py) before `failed`; an operator's
`editions retry` moves failed rows back to pending on purpose (delivery/send_acts.py).

The unique (edition_id, subscriber_id) constraint and the claim (a conditional UPDATE
to `sending`) are what keep duplicates to the bound (at most one per SMTP connection
open when a worker dies). Every write of a status in the code goes
through these names; `TRANSITIONS` is the whole table and `check` enforces it where
one row moves at a time.
"""
from __future__ import annotations

from enum import StrEnum

from newsletter.errors import Conflict


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    HELD = "held"
    FAILED = "failed"
    SKIPPED = "skipped"


D = DeliveryStatus
TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    D.PENDING: frozenset({D.SENDING, D.SKIPPED, D.HELD}),
    D.SENDING: frozenset({D.SENT, D.RETRY, D.FAILED, D.SKIPPED, D.HELD, D.PENDING}),
    D.RETRY: frozenset({D.SENDING, D.SKIPPED, D.HELD}),  # a retry fails only once claimed (sending)
    D.HELD: frozenset({D.PENDING, D.SKIPPED}),
    D.SENT: frozenset(),
    D.FAILED: frozenset({D.PENDING}),  # only by an operator's retry
    D.SKIPPED: frozenset(),
}
# Rows that still have work: an edition is finished when none of its rows is open.
OPEN = (D.PENDING, D.SENDING, D.RETRY, D.HELD)
FINAL = (D.SENT, D.FAILED, D.SKIPPED)  # failed: final unless an operator sends it again


def can_move(current: str, to: DeliveryStatus) -> bool:
    return to in TRANSITIONS[DeliveryStatus(current)]


def check(current: str, to: DeliveryStatus) -> None:
    if not can_move(current, to):
        raise Conflict(f"a delivery that is {current} cannot become {to}")


class BatchOutcome(StrEnum):
    """How one batch run ended; the driver decides what happens next from it."""

    DONE = "done"  # every claimed row has an outcome
    PAUSED = "paused"  # the edition was paused (by an operator or by refusals)
    CANCELLED = "cancelled"
    RELAY_DOWN = "relay_down"  # the relay (or outbox disk) unavailable: rows given back, no attempt spent
    LOST = "lost"  # the rows were taken from this sender (its claim was judged dead): it stopped
    INTERRUPTED = "interrupted"  # the heartbeat lapsed (the database unreachable): stopped before the next MAIL
    NOT_SENDING = "not_sending"  # the edition was not sending when the batch started
