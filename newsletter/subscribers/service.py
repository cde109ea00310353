"""Adding subscribers one at a time or from CSV, validated at the edge."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.addresses import normalise_email
from newsletter.errors import Conflict, InvalidInput
from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.text import clean_field


class SubscriberError(InvalidInput):
    """A subscriber, name or CSV row that cannot be accepted (an address: addresses.InvalidAddress)."""


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def clean_timezone(value: str | None) -> str:
    """An IANA time zone name, or "" (the publication's)."""
    value = (value or "").strip()
    if value and value not in known_zones():
        raise SubscriberError(f"unknown time zone {value[:64]!r} (an IANA name such as Europe/Paris)")
    return value


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


@dataclass
class Row:
    email: str
    name: str
    sections: list[str] | None


def add_subscriber(session: Session, publication: Publication, email: str, name: str = "",
                   sections=None, secret: str | None = None) -> Subscription:
    """An admin adds one person (validated here; the rules are lifecycle.add_by_admin's;
    with the secret key, an erased address is refused)."""
    row = Row(normalise_email(email), clean_name(name), parse_sections(publication, sections))
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == row.email))
    if subscriber is None:
        if secret is not None and lifecycle.erased(session, secret, row.email) is not None:
            raise Conflict("this address was erased at its owner's request and is never mailed again")
        subscriber = Subscriber(email=row.email, name=row.name)
        session.add(subscriber)
        session.flush()
    elif row.name and not subscriber.name:  # a name they gave themselves is theirs
        subscriber.name = row.name
    return lifecycle.add_by_admin(session, subscriber, publication, row.sections, secret)
