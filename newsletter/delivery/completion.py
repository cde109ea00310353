"""When a message may be completed: the rule the duplicate bound rests on (batch.py).

A message is completed (its end of data written: smtp_client.py's `before_end`) only
once the mark of the message before it is committed. The mark travels while this
message's envelope and body are written, and is settled just before its final dot;
what it read decides whether this message is completed at all. It is withheld (the
connection dropped before its end of data: the relay keeps nothing of it) when that
mark failed (a database error: the batch is interrupted, the mark in doubt handed to
its next run), found its row no longer this sender's, or read a pause, a cancel or a
hold of this recipient's domain. So of the messages a sender completed, all but the
last are committed as sent whenever it dies.

Composing the next message is done while the relay reads this one (`while_waiting`):
`compose_quietly` never raises there, its error is recorded when that message's turn
comes.
"""
from __future__ import annotations

from datetime import datetime

from newsletter.delivery.compose import Composed, Composer, Recipient
from newsletter.delivery.gate import EditionGate
from newsletter.delivery.holds import email_domain
from newsletter.delivery.marks import SentMarks
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.models import EditionStatus


class Withheld(Exception):
    """The message was not completed: the last mark said stop (`status` None), that its
    domain is held now (HELD), or failed (`cause`, the database's error)."""

    def __init__(self, status: str | None = None, cause: BaseException | None = None):
        super().__init__(status or cause)
        self.status, self.cause = status, cause


def last_mark_allows(marks: SentMarks, gate: EditionGate, recipient: Recipient) -> None:
    """Settle the last message's mark before this one is completed; raise Withheld when
    this one must not be."""
    try:
        state = marks.settle()
    except Exception as exc:  # the sender raises it again, outside the SMTP dialogue
        raise Withheld(cause=exc) from exc
    if marks.lost:
        raise Withheld()
    gate.observe(state)
    if gate.status != EditionStatus.SENDING:
        raise Withheld()
    if email_domain(recipient.email) in gate.held_domains:
        raise Withheld(D.HELD)


def compose_quietly(composer: Composer, recipient: Recipient,
                    now: datetime) -> tuple[Composed | None, Exception | None]:
    """(composed, None); (None, None) when their sections have nothing today; (None, the
    error) when composing failed."""
    try:
        return composer.compose(recipient, now), None
    except Exception as exc:  # noqa: BLE001 - recorded by the send, as any unexpected error
        return None, exc
