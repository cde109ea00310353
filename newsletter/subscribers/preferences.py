"""The preference centre's changes, each the person's own act from their authenticated
link: sections and subscriptions per publication (leave, come back, add another
publication: no double opt-in, since the link already proves the address, and never
past a suppression that is not their own unsubscribe: lifecycle.py's rules), their
name, time zone and click history. Address changes are address_change.py's; their
download and their own erasure, people/held.py's and people/erase.py's."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.errors import Conflict, InvalidInput
from newsletter.publications.models import Publication
from newsletter.subscribers import click_history, lifecycle
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus
from newsletter.subscribers.order import moved
from newsletter.subscribers.service import clean_name, clean_timezone, known_zones
from newsletter.tracking.models import EventKind, Method


@dataclass
class PublicationChoice:
    publication: Publication
    subscribed: bool
    sections: set[str]  # chosen slugs; every section when no preference is stored
    order: list = field(default_factory=list)  # the publication's sections in the reader's order
    click_history: bool = False  # they agreed to have their clicks kept (subscribers/click_history.py)
    most_clicked_first: bool = False


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
        rank = {slug: n for n, slug in enumerate(sub.section_order or ())}
        order = sorted(pub.ordered_sections(), key=lambda sec: rank.get(sec.slug, len(rank)))  # stable
        out.append(PublicationChoice(pub, sub.status == SubscriptionStatus.ACTIVE, chosen, order,
                                     sub.click_history_since is not None, sub.most_clicked_first))
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


def _own(session: Session, subscriber: Subscriber, publication_id: int) -> tuple[Publication, Subscription]:
    for choice in current(session, subscriber):
        if choice.publication.id == publication_id:
            return choice.publication, lifecycle.subscription(session, subscriber.id, publication_id)
    raise InvalidInput("no such newsletter in your subscriptions")


def move_section(session: Session, subscriber: Subscriber, publication_id: int, slug: str, step: int,
                 edition_id: int | None) -> None:
    """One section up (-1) or down (+1) in the reader's own order; the email follows it."""
    pub, sub = _own(session, subscriber, publication_id)
    known = [s.slug for s in pub.ordered_sections()]
    order = moved(sub.section_order, known, slug, step)
    if order != sub.section_order:
        sub.section_order = order
        lifecycle.record_event(session, EventKind.PREFERENCES, Method.PREFERENCE_CENTRE, subscriber.id, pub.id,
                               edition_id, detail="order:" + (",".join(order) if order else "publication's"))
    session.flush()


def set_click_history(session: Session, subscriber: Subscriber, publication_id: int, keep: bool,
                      most_clicked_first: bool, edition_id: int | None) -> None:
    """Their consent to a click history, given or taken back (taking it back deletes it);
    only where the publication offers one, and "most clicked first" only where it offers that."""
    pub, sub = _own(session, subscriber, publication_id)
    if not pub.click_history:
        raise InvalidInput(f"{pub.name} keeps no click history")
    was = sub.click_history_since is not None
    if keep:
        click_history.agree(sub, utcnow(), most_clicked_first and pub.most_clicked_first)
    elif was:
        click_history.revoke(session, sub)
    if keep != was:
        lifecycle.record_event(session, EventKind.PREFERENCES, Method.PREFERENCE_CENTRE, subscriber.id, pub.id,
                               edition_id, detail=f"click history: {'agreed' if keep else 'withdrawn, deleted'}")
    session.flush()


def unsubscribe_all(session: Session, subscriber: Subscriber, method: Method, edition_id: int | None) -> int:
    changed = 0
    for choice in current(session, subscriber):
        if choice.subscribed:
            changed += lifecycle.unsubscribe(session, subscriber, choice.publication, method, edition_id)
    return changed



def others(session: Session, subscriber: Subscriber) -> list[Publication]:
    """Active publications the person has no subscription to (yet)."""
    mine = select(Subscription.publication_id).where(Subscription.subscriber_id == subscriber.id)
    return list(session.scalars(select(Publication).where(Publication.active.is_(True), Publication.id.not_in(mine))
                                .order_by(Publication.name)))


def add(session: Session, subscriber: Subscriber, wanted: dict[int, set[str]], secret: str) -> int:
    """Subscribe to other publications (publication id -> sections; empty: every section).
    Conflict, nothing added, when something only an admin can lift stands in the way."""
    offered = {p.id: p for p in others(session, subscriber)}
    added = 0
    for pid, sections in wanted.items():
        pub = offered.get(pid)
        if pub is None:
            continue  # subscribed meanwhile, or not offered: the form is stale
        known = [s.slug for s in pub.ordered_sections()]
        chosen = [s for s in known if s in sections] or None
        try:
            lifecycle.activate(session, subscriber, pub, chosen, Method.PREFERENCE_CENTRE, EventKind.SUBSCRIBE,
                               secret=secret)
        except Conflict:
            raise Conflict(f"{pub.name} cannot be added for your address from here (it was stopped after a "
                           "bounce, a complaint or by us); please write to us") from None
        added += 1
    session.flush()
    return added


def rename(session: Session, subscriber: Subscriber, name: str) -> bool:
    """InvalidInput for a name with control characters or over 200 characters."""
    name = clean_name(name)
    if name == subscriber.name:
        return False
    subscriber.name = name
    lifecycle.record_event(session, EventKind.PROFILE, Method.PREFERENCE_CENTRE, subscriber.id, None, detail="name")
    session.flush()
    return True


def set_timezone(session: Session, subscriber: Subscriber, zone: str) -> bool:
    """Their own time zone (an IANA name; "" : the publication's), for publications that
    send at each reader's local time. InvalidInput for a name that is not a zone. A
    change during a send in waves loses nobody: the last wave takes whoever has no
    delivery yet (delivery/waves.py)."""
    zone = clean_timezone(zone)
    if zone == subscriber.timezone:
        return False
    subscriber.timezone = zone
    lifecycle.record_event(session, EventKind.PROFILE, Method.PREFERENCE_CENTRE, subscriber.id, None,
                           detail="timezone")
    session.flush()
    return True


def zone_names() -> list[str]:
    """The zones a reader may choose from, sorted (the preference centre's list)."""
    return sorted(z for z in known_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")))
