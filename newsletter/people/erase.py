"""GDPR erasure: the person is removed everywhere, and only a keyed hash of the address
stays, in a suppression, so that they are never mailed again.

Removed: the subscriber row (and so every link: each carries the row's random key, and
a new row after a new sign-up gets a new key), subscriptions, deliveries, the free text
and the link to the person in their events (the events stay, anonymous, so that the
figures of past editions hold; their deliveries' outcomes are tallied first, without
them: delivery/tallies.py), every plain suppression of the address, the address
wherever else it appears in a text column (a relay's answer kept on another row, an old
audit entry), their addresses, name and the Message-IDs of our messages to them in
stored bytes and JSON (raw bounce reports stay, redacted, for the figures:
erase_bytes.py), the outbox files that carry it, and the sign-up counters named after it.
The audit entry names the subscriber's id, never the address.

The database work is one transaction; files and counters are removed after it commits
(the staff act, checked and audited, is operators/subscribers.py's `erase`).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import JSON, LargeBinary, String, Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from newsletter.addresses import wire_address
from newsletter.bounces.models import BounceFinding, BounceReport
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import tallies
from newsletter.delivery.models import Delivery
from newsletter.limits import Counters, person_key
from newsletter.models import Base
from newsletter.people.erase_bytes import Person, holds, redact, redact_json
from newsletter.subscribers.address_change import PREVIOUS_ADDRESS, AddressChange
from newsletter.subscribers.address_hash import address_hash
from newsletter.subscribers.click_history import forget_person
from newsletter.subscribers.models import Subscriber, Subscription, Suppression, SuppressionReason, new_token_key
from newsletter.tracking.models import Event, EventKind
from newsletter.webhooks import outbox

log = logging.getLogger(__name__)
ERASED = "[erased]"
# Accounts are staff, not subscribers; the rows of the erased person go as a whole; their
# suppressions are replaced by keyed hashes (erase_rows), and the others are other people's.
_NOT_SCANNED = {"staff_accounts", "staff_sessions", "api_tokens", "subscribers", "subscriptions", "suppressions"}
# An address as a whole, not inside a longer one (bob@example.org is not in jimbob@example.org).
_BEFORE, _AFTER = r"(?<![A-Za-z0-9.!#$%&'*+/=?^_`{|}~-])", r"(?![A-Za-z0-9_-])(?!\.[A-Za-z0-9-])"


def _whole(address: str) -> str:
    return _BEFORE + re.escape(address) + _AFTER
_REASON_CODE = re.compile(r"[a-z0-9_-]{1,32}")  # e.g. "too-many": a choice from a list, kept


@dataclass
class Erasure:
    subscriber_id: int
    deliveries: int
    events: int
    scrubbed: int  # other rows where the address was found and replaced
    addresses: list[str]  # the address and the ones the person had before (address changes)
    outbox_files: int = 0


def erase_rows(session: Session, secret: str, subscriber: Subscriber) -> Erasure:
    """The database part, in the caller's transaction (the subscriber's own deletion
    from the preference centre calls this too)."""
    sid, email = subscriber.id, subscriber.email
    subscriber.token_key = new_token_key()  # no link of theirs works from here on
    session.flush()
    # Addresses they had before; one that is someone else's now is that person's, not theirs.
    previous = [old for old in dict.fromkeys(detail.removeprefix(PREVIOUS_ADDRESS) for detail in session.scalars(
        select(Event.detail).where(Event.subscriber_id == sid, Event.kind == EventKind.PROFILE,
                                   Event.detail.startswith(PREVIOUS_ADDRESS))))
                if old != email and session.scalar(select(Subscriber.id).where(Subscriber.email == old)) is None]
    person = Person(
        (email, *previous), subscriber.name,
        tuple(m for m in session.scalars(select(Delivery.message_id).where(Delivery.subscriber_id == sid)) if m),
        sid, tuple(session.scalars(select(Subscription.id).where(Subscription.subscriber_id == sid))),
        tuple(session.scalars(select(AddressChange.id).where(AddressChange.subscriber_id == sid))))
    reports = _reports_about(session, sid, person.addresses)
    free_text = [event_id for event_id, reason in session.execute(
        select(Event.id, Event.reason).where(Event.subscriber_id == sid, Event.reason != ""))
        if not _REASON_CODE.fullmatch(reason)]
    if free_text:
        session.execute(update(Event).where(Event.id.in_(free_text)).values(reason=""))
    events = session.execute(update(Event).where(Event.subscriber_id == sid)
                             .values(subscriber_id=None, detail="")).rowcount
    tallies.keep(session, sid)  # the figures of past editions keep their outcomes, not the person
    deliveries = session.execute(delete(Delivery).where(Delivery.subscriber_id == sid)).rowcount
    forget_person(session, sid)  # their click history, if they agreed to one (subscribers/click_history.py)
    session.execute(delete(Subscription).where(Subscription.subscriber_id == sid))
    for address in [email, *previous]:  # each of their addresses: suppressed by its keyed hash only
        session.execute(delete(Suppression).where(Suppression.email == address))
        digest = address_hash(secret, address)
        if session.scalar(select(Suppression.id).where(Suppression.email_hash == digest)) is None:
            session.add(Suppression(email="", email_hash=digest, publication_id=None,
                                    reason=SuppressionReason.ERASED, created_at=utcnow()))
        session.flush()
    session.expunge(subscriber)
    session.execute(delete(Subscriber).where(Subscriber.id == sid))
    session.flush()
    scrubbed = outbox.erased(session.connection(), sid)  # webhooks: their address out of every stored event
    scrubbed += sum(scrub(session, address) for address in [email, *previous])
    scrubbed += scrub_stored(session, person, reports)
    return Erasure(sid, deliveries, events, scrubbed, [email, *previous])


def scrub(session: Session, email: str) -> int:
    """Replace the address, as a whole, in every other text column of every table (any case)."""
    pattern = re.compile(_whole(email), re.IGNORECASE)
    changed = 0
    for table in Base.metadata.sorted_tables:
        if table.name in _NOT_SCANNED or "id" not in table.c:
            continue
        columns = [c for c in table.c if isinstance(c.type, String | Text) and not isinstance(c.type, JSON)
                   and not c.primary_key and (c.type.length is None or c.type.length >= 6)]
        if not columns:
            continue
        hits = session.execute(select(table.c.id, *columns).where(
            or_(*(func.lower(c).contains(email.lower(), autoescape=True) for c in columns)))).all()
        for row in hits:
            values = {c.name: pattern.sub(ERASED, row[i + 1]) for i, c in enumerate(columns)
                      if row[i + 1] and pattern.search(row[i + 1])}
            if values:  # the database's `contains` found it inside a longer address only: not theirs
                session.execute(update(table).where(table.c.id == row[0]).values(**values))
                changed += 1
    return changed


def scrub_stored(session: Session, person: Person, reports: set[int]) -> int:
    """Bytes and JSON values of every table (raw bounce reports: the ones about the person,
    and any other that holds an address of theirs as written), and the text of the
    reports about them (their name, our Message-IDs: `scrub` did the addresses)."""
    changed = 0
    for table in Base.metadata.sorted_tables:
        if table.name in _NOT_SCANNED or "id" not in table.c:
            continue
        for column in table.c:
            if isinstance(column.type, LargeBinary):
                ids = (reports if table.name == "bounce_reports" else set()) | _holding(session, table, column, person)
                for row_id in sorted(ids):
                    value = session.scalar(select(column).where(table.c.id == row_id))
                    if value and holds(value, person):
                        session.execute(update(table).where(table.c.id == row_id)
                                        .values({column.name: redact(value, person)}))
                        changed += 1
            elif isinstance(column.type, JSON):
                needles = [a.lower() for a in person.addresses] + ([person.name.lower()] if person.name else [])
                for row_id, value in session.execute(select(table.c.id, column).where(
                        or_(*(func.lower(cast(column, Text)).contains(n, autoescape=True) for n in needles)))):
                    if (clean := redact_json(value, person)) != value:
                        session.execute(update(table).where(table.c.id == row_id).values({column.name: clean}))
                        changed += 1
    for model, key in ((BounceReport, BounceReport.id), (BounceFinding, BounceFinding.report_id)):
        columns = [c for c in model.__table__.c if isinstance(c.type, String | Text)]
        for row in session.execute(select(model.__table__.c.id, *columns).where(key.in_(sorted(reports)))):
            values = {c.name: redact_json(row[i + 1], person) for i, c in enumerate(columns)}
            values = {k: v for k, v in values.items() if v != row._mapping[k]}
            if values:
                session.execute(update(model.__table__).where(model.__table__.c.id == row[0]).values(**values))
    return changed


def _reports_about(session: Session, subscriber_id: int, addresses: tuple[str, ...]) -> set[int]:
    """The reports about the person: matched to them, or naming one of their addresses as
    a recipient though matched to nobody (a bounced confirmation of their sign-up names no
    subscriber: bounces/personal.py), whatever encoding hides the address in the bytes."""
    lowered = [a.lower() for a in addresses]
    return set(session.scalars(select(BounceReport.id).where(or_(
        BounceReport.subscriber_id == subscriber_id, func.lower(BounceReport.recipient).in_(lowered))))) | set(
        session.scalars(select(BounceFinding.report_id).where(or_(
            BounceFinding.subscriber_id == subscriber_id, func.lower(BounceFinding.recipient).in_(lowered)))))


def _holding(session: Session, table, column, person: Person) -> set[int]:
    """Rows whose bytes hold one of the person's addresses as written, found by the database."""
    needles = {f.lower() for a in person.addresses for f in (a, wire_address(a).address)}
    if session.get_bind().dialect.name == "postgresql":
        text_of = func.lower(func.encode(column, "escape"))
        match = or_(*(func.strpos(text_of, n) > 0 for n in needles))
    else:
        match = or_(*(func.instr(func.lower(cast(column, Text)), n) > 0 for n in needles))
    return set(session.scalars(select(table.c.id).where(match)))


def forget_outside(settings: Settings, counters: Counters, addresses: list[str]) -> int:
    """Sign-up counters named after the addresses, and the outbox files that carry any."""
    removed = 0
    for email in addresses:
        counters.forget(f"email:{person_key(settings.signing_key(), email)}")
        removed += erase_outbox_files(settings.effective_outbox_dir, email)
    return removed


def erase_outbox_files(folder: Path, email: str) -> int:
    if not folder.is_dir():
        return 0
    needles = [re.compile(_whole(a).encode(), re.IGNORECASE)
               for a in dict.fromkeys([email, wire_address(email).address])]
    removed = 0
    for path in folder.glob("*.eml"):
        try:
            data = path.read_bytes()
        except OSError:
            continue  # written or removed meanwhile
        if any(n.search(data) for n in needles):
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("erasure: %d outbox file(s) removed", removed)
    return removed
