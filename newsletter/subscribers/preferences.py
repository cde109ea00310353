"""The preference centre's changes: sections and subscriptions per publication."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.publications.models import Publication
from newsletter.subscribers.models import ACTIVE, Subscriber, Subscription
from newsletter.tracking.models import PREFERENCE_CENTRE, PREFERENCES, Event
from newsletter.tracking.unsubscribe import resubscribe, set_unsubscribed


@dataclass
class PublicationChoice:
    publication: Publication
    subscribed: bool
    sections: set[str]  # chosen slugs; every section when no preference is stored


def current(session: Session, subscriber: Subscriber) -> list[PublicationChoice]:
    subs = {s.publication_id: s for s in session.scalars(
        select(Subscription).where(Subscription.subscriber_id == subscriber.id))}
    out = []
    for pub in session.scalars(select(Publication).where(Publication.active.is_(True)).order_by(Publication.name)):
        sub = subs.get(pub.id)
        every = {s.slug for s in pub.ordered_sections()}
        if sub is None:
            continue  # the centre manages what they have; sign-up is elsewhere
        out.append(PublicationChoice(pub, sub.status == ACTIVE, set(sub.sections) if sub.sections else every))
    return out


def apply(session: Session, subscriber: Subscriber, wanted: dict[int, tuple[bool, set[str]]],
          edition_id: int | None) -> int:
    """wanted: publication id -> (subscribed, sections). Returns how many changed.
    Changes apply from the next edition: editions are built and sent from the rows."""
    changed = 0
    for choice in current(session, subscriber):
        pub = choice.publication
        if pub.id not in wanted:
            continue
        subscribed, sections = wanted[pub.id]
        known = [s.slug for s in pub.ordered_sections()]
        sections = {s for s in sections if s in known}
        if subscribed and not sections:
            subscribed = False  # no section left means no email: treat as leaving
        if not subscribed and choice.subscribed:
            changed += set_unsubscribed(session, subscriber, pub, PREFERENCE_CENTRE, edition_id)
            continue
        if subscribed and not choice.subscribed:
            changed += resubscribe(session, subscriber, pub, PREFERENCE_CENTRE, edition_id)
        stored = None if sections == set(known) else [s for s in known if s in sections]
        sub = session.scalar(select(Subscription).where(
            Subscription.subscriber_id == subscriber.id, Subscription.publication_id == pub.id))
        if subscribed and sub.sections != stored:
            sub.sections = stored
            session.add(Event(kind=PREFERENCES, method=PREFERENCE_CENTRE, subscriber_id=subscriber.id,
                              publication_id=pub.id, edition_id=edition_id,
                              detail=",".join(stored) if stored else "all"))
            changed += 1
    session.flush()
    return changed


def unsubscribe_all(session: Session, subscriber: Subscriber, method: str, edition_id: int | None) -> int:
    changed = 0
    for choice in current(session, subscriber):
        if choice.subscribed:
            changed += set_unsubscribed(session, subscriber, choice.publication, method, edition_id)
    return changed

