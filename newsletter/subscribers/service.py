"""Adding subscribers one at a time or from CSV, validated at the edge."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.errors import InvalidInput
from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from newsletter.text import clean_field

CHUNK = 1000


class SubscriberError(InvalidInput):
    """A subscriber, address, name or CSV row that cannot be accepted."""


def normalise_email(address: str) -> str:
    """Validated syntax (no DNS), lower-cased so that one mailbox is one subscriber."""
    try:
        return validate_email((address or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise SubscriberError(f"invalid email address {address!r}: {exc}") from None


def clean_name(name: str | None) -> str:
    try:
        return clean_field(name, "name", 200)
    except InvalidInput as exc:
        raise SubscriberError(str(exc)) from None


def parse_sections(publication: Publication, raw) -> list[str] | None:
    """None means every section; otherwise known slugs of this publication, in its order."""
    if raw in (None, "", []):
        return None
    items = raw.replace(";", " ").replace(",", " ").split() if isinstance(raw, str) else list(raw)
    known = [s.slug for s in publication.ordered_sections()]
    unknown = [s for s in items if s not in known]
    if unknown:
        raise SubscriberError(f"unknown sections for {publication.slug}: {', '.join(unknown)}")
    return [s for s in known if s in items]


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_timezone(value: str | None) -> str:
    """An IANA time zone name ("Europe/Berlin"), or "" for none; SubscriberError otherwise."""
    value = (value or "").strip()
    if value and (len(value) > 64 or value not in _zones()):
        raise SubscriberError(f"unknown time zone {value[:64]!r} (an IANA name such as Europe/Berlin)")
    return value


@dataclass
class Row:
    email: str
    name: str
    sections: list[str] | None
    timezone: str = ""  # "" : the publication's


@dataclass
class ImportReport:
    added: int = 0
    existing: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def add_subscriber(session: Session, publication: Publication, email: str, name: str = "",
                   sections=None) -> Subscription:
    """An admin adds one person (validated here; the rules are lifecycle.add_by_admin's)."""
    row = Row(normalise_email(email), clean_name(name), parse_sections(publication, sections))
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == row.email))
    if subscriber is None:
        subscriber = Subscriber(email=row.email, name=row.name)
        session.add(subscriber)
        session.flush()
    elif row.name:
        subscriber.name = row.name
    return lifecycle.add_by_admin(session, subscriber, publication, row.sections)


def read_csv(publication: Publication, text: str) -> tuple[list[Row], list[tuple[int, str]]]:
    """Rows and errors by line number; the header must name an 'email' column."""
    try:
        return _read_csv(publication, text)
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte, ...
        raise SubscriberError(f"this is not a CSV file we can read: {exc}") from None


def _read_csv(publication: Publication, text: str) -> tuple[list[Row], list[tuple[int, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "email" not in fields:
        raise SubscriberError("CSV header must have an 'email' column (and may have 'name', 'sections', "
                              "'timezone')")
    reader.fieldnames = fields
    rows, errors, seen = [], [], set()
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append((line, "more fields than the header"))
            continue
        try:
            parsed = Row(normalise_email(row.get("email") or ""), clean_name(row.get("name")),
                         parse_sections(publication, row.get("sections")), parse_timezone(row.get("timezone")))
        except SubscriberError as exc:
            errors.append((line, str(exc)))
            continue
        if parsed.email in seen:
            continue
        seen.add(parsed.email)
        rows.append(parsed)
    return rows, errors


def import_csv(session: Session, publication: Publication, text: str,
               skip_invalid: bool = False, progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """All or nothing by default: one bad row and nothing is imported, every error reported.
    `progress(done, total)` is called after each chunk (the command line's progress bar)."""
    rows, errors = read_csv(publication, text)
    report = ImportReport(errors=errors)
    if errors and not skip_invalid:
        return report
    now = utcnow()
    for start in range(0, len(rows), CHUNK):
        # Core inserts in chunks of CHUNK rows: the ORM's unit of work would cost more
        # than the validation itself on large lists.
        chunk = rows[start:start + CHUNK]
        known = dict(session.execute(
            select(Subscriber.email, Subscriber.id).where(Subscriber.email.in_([r.email for r in chunk]))
        ).all())
        new = [r for r in chunk if r.email not in known]
        if new:
            session.execute(insert(Subscriber), [
                {"email": r.email, "name": r.name, "status": SubscriberStatus.ACTIVE, "created_at": now,
                 "timezone": r.timezone} for r in new])
            known.update(session.execute(
                select(Subscriber.email, Subscriber.id).where(Subscriber.email.in_([r.email for r in new]))
            ).all())
        # The list's time zone is the admin's word: it replaces a known subscriber's too.
        fresh_emails = {r.email for r in new}
        zoned = [{"sid": known[r.email], "zone": r.timezone} for r in chunk
                 if r.timezone and r.email not in fresh_emails]
        if zoned:
            session.connection().execute(update(Subscriber.__table__).where(
                Subscriber.__table__.c.id == bindparam("sid")).values(timezone=bindparam("zone")), zoned)
        subscribed = set(session.scalars(select(Subscription.subscriber_id).where(
            Subscription.publication_id == publication.id,
            Subscription.subscriber_id.in_(list(known.values())))))
        fresh = [r for r in chunk if known[r.email] not in subscribed]
        if fresh:
            session.execute(insert(Subscription), [
                {"subscriber_id": known[r.email], "publication_id": publication.id, "status": SubscriptionStatus.ACTIVE,
                 "sections": r.sections, "created_at": now, "updated_at": now} for r in fresh])
        report.added += len(fresh)
        report.existing += len(chunk) - len(fresh)
        if progress is not None:
            progress(start + len(chunk), len(rows))
    return report
