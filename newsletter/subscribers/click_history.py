"""A reader's own click history: kept only with their consent, gone when they say so.

Nothing here happens unless the publication offers it (`click_history = true`) and the
reader agreed in the preference centre (`Subscription.click_history_since`). Then the
messages sent to them carry their id in the counted links' message part
(render/click_links.py), and each of their clicks that is not a scanner's is kept
here: which edition, which story, which section, when. From it comes the order of the
sections they click most (`Subscription.click_order`), which the email follows if the
publication offers "most clicked first" and they asked for it (subscribers/order.py).

Revoking deletes the history and the order at once; so does their erasure
(`forget_person`, called by people/erase.py); clicks older than HISTORY_DAYS go as
new ones come. A link that names them after they revoked (an older email) is counted as
anyone's click and kept nowhere.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.publications.models import Publication
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.tracking.click_models import ReaderClick

HISTORY_DAYS = 180


def _subscription(session: Session, subscriber_id: int, publication_id: int) -> Subscription | None:
    return session.scalar(select(Subscription).where(Subscription.subscriber_id == subscriber_id,
                                                     Subscription.publication_id == publication_id))


def record(session: Session, publication: Publication, subscriber_id: int, key: int, edition_id: int, item,
           now: datetime) -> bool:
    """Keep a reader's click if, now, the publication offers a history and they agreed."""
    if not publication.click_history:
        return False
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.token_key != key:
        return False  # erased, or the link is someone else's now
    sub = _subscription(session, subscriber_id, publication.id)
    if sub is None or sub.click_history_since is None:
        return False
    session.add(ReaderClick(subscriber_id=subscriber_id, publication_id=publication.id, edition_id=edition_id,
                            position=item.position, section_slug=item.section_slug, clicked_at=now))
    session.execute(delete(ReaderClick).where(ReaderClick.subscriber_id == subscriber_id,
                                              ReaderClick.publication_id == publication.id,
                                              ReaderClick.clicked_at < now - timedelta(days=HISTORY_DAYS)))
    session.flush()
    sub.click_order = most_clicked(session, sub, publication)
    return True


def most_clicked(session: Session, sub: Subscription, publication: Publication) -> list[str] | None:
    """Their clicked sections, most clicked first; ties in their own (or the publication's) order."""
    counts = Counter(session.scalars(select(ReaderClick.section_slug).where(
        ReaderClick.subscriber_id == sub.subscriber_id, ReaderClick.publication_id == publication.id)))
    known = [s.slug for s in publication.ordered_sections()]
    own = list(sub.section_order or ()) + [s for s in known if s not in (sub.section_order or ())]
    rank = {slug: n for n, slug in enumerate(own)}
    ordered = sorted((slug for slug in counts if slug in rank), key=lambda slug: (-counts[slug], rank[slug]))
    return ordered or None


def agree(sub: Subscription, now: datetime, most_clicked_first: bool) -> None:
    if sub.click_history_since is None:
        sub.click_history_since = now
    sub.most_clicked_first = most_clicked_first


def revoke(session: Session, sub: Subscription) -> int:
    """Consent withdrawn: the history and what came of it go now. Returns the clicks deleted."""
    gone = session.execute(delete(ReaderClick).where(ReaderClick.subscriber_id == sub.subscriber_id,
                                                     ReaderClick.publication_id == sub.publication_id)).rowcount
    sub.click_history_since = None
    sub.most_clicked_first = False
    sub.click_order = None
    return gone


def forget_person(session: Session, subscriber_id: int) -> int:
    """Everything of a person's click history, every publication (their erasure)."""
    return session.execute(delete(ReaderClick).where(ReaderClick.subscriber_id == subscriber_id)).rowcount


def person_history(session: Session, subscriber_id: int) -> list[dict]:
    """What is kept about them, for their own download."""
    return [{"publication_id": c.publication_id, "edition_id": c.edition_id, "section": c.section_slug,
             "position": c.position, "clicked_at": c.clicked_at.isoformat()}
            for c in session.scalars(select(ReaderClick).where(ReaderClick.subscriber_id == subscriber_id)
                                     .order_by(ReaderClick.clicked_at))]
