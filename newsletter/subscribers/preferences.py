"""The preference centre's changes: sections and subscriptions per publication."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus
from newsletter.tracking.models import EventKind, Method


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
        chosen = set(sub.sections) if sub.sections else every
        out.append(PublicationChoice(pub, sub.status == SubscriptionStatus.ACTIVE, chosen))
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
            changed += lifecycle.unsubscribe(session, subscriber, pub, Method.PREFERENCE_CENTRE, edition_id)
            continue
        if subscribed and not choice.subscribed:
            changed += lifecycle.resubscribe(session, subscriber, pub, Method.PREFERENCE_CENTRE, edition_id)
        stored = None if sections == set(known) else [s for s in known if s in sections]
        sub = lifecycle.subscription(session, subscriber.id, pub.id)
        if subscribed and sub.sections != stored:
            sub.sections = stored
            lifecycle.record_event(session, EventKind.PREFERENCES, Method.PREFERENCE_CENTRE, subscriber.id,
                                   pub.id, edition_id, detail=",".join(stored) if stored else "all")
            changed += 1
    session.flush()
    return changed


def unsubscribe_all(session: Session, subscriber: Subscriber, method: Method, edition_id: int | None) -> int:
    changed = 0
    for choice in current(session, subscriber):
        if choice.subscribed:
            changed += lifecycle.unsubscribe(session, subscriber, choice.publication, method, edition_id)
    return changed

