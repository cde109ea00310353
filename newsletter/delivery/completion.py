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

Composing the next message is done while the relay answers this one: drafted while
it answers the envelope (`while_envelope`), signed while it reads the data
(`while_waiting`), so that neither wait is spent asleep (`Lookahead`). Neither step
raises there; an error is recorded when that message's turn comes.
"""
from __future__ import annotations

from datetime import datetime

from newsletter.delivery.compose import Composed, Composer, Draft, Recipient
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


def draft_quietly(composer: Composer, recipient: Recipient,
                  now: datetime) -> tuple[Draft | None, Exception | None]:
    """(draft, None); (None, None) when their sections have nothing today; (None, the
    error) when drafting failed (Composer.draft)."""
    try:
        return composer.draft(recipient, now), None
    except Exception as exc:  # noqa: BLE001 - recorded by the send, as any unexpected error
        return None, exc


def finish_quietly(composer: Composer, drafted: tuple[Draft | None, Exception | None]
                   ) -> tuple[Composed | None, Exception | None]:
    """(composed, None), or what `draft_quietly` gave when it gave no draft, or (None, the
    error) when signing failed (Composer.finish)."""
    draft, problem = drafted
    if draft is None:
        return None, problem
    try:
        return composer.finish(draft), None
    except Exception as exc:  # noqa: BLE001 - recorded by the send, as any unexpected error
        return None, exc


class Lookahead:
    """The next message of a batch, made while the relay answers the one before it:
    drafted while the relay answers the envelope (`draft`), signed while it reads the
    data (`finish`); `take` gives it when its turn comes, made then if it was not yet."""

    def __init__(self, composer: Composer):
        self.composer = composer
        self._drafts: dict[int, tuple[Draft | None, Exception | None]] = {}
        self._composed: dict[int, tuple[Composed | None, Exception | None]] = {}

    def draft(self, delivery_id: int, recipient: Recipient, now: datetime) -> None:
        if delivery_id not in self._drafts and delivery_id not in self._composed:
            self._drafts[delivery_id] = draft_quietly(self.composer, recipient, now)

    def finish(self, delivery_id: int, recipient: Recipient, now: datetime) -> None:
        if delivery_id not in self._composed:
            drafted = self._drafts.pop(delivery_id, None) or draft_quietly(self.composer, recipient, now)
            self._composed[delivery_id] = finish_quietly(self.composer, drafted)

    def take(self, delivery_id: int, recipient: Recipient, now: datetime) -> tuple[Composed | None, Exception | None]:
        self.finish(delivery_id, recipient, now)
        return self._composed.pop(delivery_id)
