"""What is held about one person: the admin's page of a subscriber (subscriptions,
suppressions, their newest deliveries and events) within what the actor sees, and the
whole of it (GDPR access: an admin's export of one person, and the subscriber's own
download from the preference centre, the same document).
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.delivery.models import Delivery
from newsletter.editions.models import Edition
from newsletter.publications.models import Publication
from newsletter.staff.models import AuditEntry
from newsletter.subscribers.click_history import person_history
from newsletter.subscribers.models import Subscriber, Subscription, Suppression
from newsletter.subscribers.search import summary
from newsletter.tracking.models import Event

HISTORY = 200  # deliveries and events shown on the admin's page, newest first


def detail(session: Session, s: Subscriber, sees: Callable[[int | None], bool]) -> dict:
    """The subscriber with subscriptions, suppressions and history (deliveries, events),
    as far as `sees` (the actor's publications) goes (events and suppressions of no
    publication too)."""
    pubs = dict(session.execute(select(Publication.id, Publication.slug)).all())
    subs = [{"publication": pubs.get(x.publication_id), "status": x.status, "sections": x.sections or None,
             "created_at": x.created_at.isoformat(), "updated_at": x.updated_at.isoformat()}
            for x in s.subscriptions if sees(x.publication_id)]
    out = summary(s, subs)
    out["suppressions"] = [{"id": x.id, "publication": pubs.get(x.publication_id), "reason": x.reason,
                            "note": x.note, "created_at": x.created_at.isoformat()}
                           for x in session.scalars(select(Suppression).where(Suppression.email == s.email))
                           if x.publication_id is None or sees(x.publication_id)]
    out["deliveries"] = [
        {"edition_id": d.edition_id, "publication": pubs.get(pid), "date": day.isoformat(), "status": d.status,
         "attempts": d.attempts, "error_class": d.error_class or None, "error": d.last_error or None,
         "sent_at": d.sent_at.isoformat() if d.sent_at else None}
        for d, day, pid in session.execute(
            select(Delivery, Edition.date, Edition.publication_id).join(Edition, Edition.id == Delivery.edition_id)
            .where(Delivery.subscriber_id == s.id).order_by(Delivery.id.desc()).limit(HISTORY))
        if sees(pid)]
    out["events"] = [
        {"at": e.created_at.isoformat(), "kind": e.kind, "method": e.method, "publication": pubs.get(e.publication_id),
         "edition_id": e.edition_id, "reason": e.reason or None, "detail": e.detail or None}
        for e in session.scalars(select(Event).where(Event.subscriber_id == s.id)
                                 .order_by(Event.id.desc()).limit(HISTORY))
        if e.publication_id is None or sees(e.publication_id)]
    return out


def person_data(session: Session, subscriber: Subscriber) -> dict:
    """Everything held about one person (GDPR access; also the subscriber's own download)."""
    pubs = dict(session.execute(select(Publication.id, Publication.slug)).all())
    subs = session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber.id)).all()
    deliveries = session.execute(
        select(Delivery, Edition.date, Edition.publication_id).join(Edition, Edition.id == Delivery.edition_id)
        .where(Delivery.subscriber_id == subscriber.id).order_by(Delivery.id)).all()
    events = session.scalars(select(Event).where(Event.subscriber_id == subscriber.id).order_by(Event.id)).all()
    supp = session.scalars(select(Suppression).where(Suppression.email == subscriber.email)).all()
    audit = session.scalars(select(AuditEntry).where(AuditEntry.target == f"subscriber:{subscriber.id}")
                            .order_by(AuditEntry.id)).all()
    return {
        "subscriber": {"id": subscriber.id, "email": subscriber.email, "name": subscriber.name,
                       "status": subscriber.status, "timezone": subscriber.timezone,
                       "created_at": subscriber.created_at.isoformat()},
        "subscriptions": [{"publication": pubs.get(x.publication_id), "status": x.status, "sections": x.sections,
                           "created_at": x.created_at.isoformat(), "updated_at": x.updated_at.isoformat()}
                          for x in subs],
        "deliveries": [{"edition_id": d.edition_id, "publication": pubs.get(pid), "date": day.isoformat(),
                        "status": d.status, "message_id": d.message_id, "attempts": d.attempts,
                        "error_class": d.error_class, "error": d.last_error,
                        "sent_at": d.sent_at.isoformat() if d.sent_at else None} for d, day, pid in deliveries],
        "events": [{"at": e.created_at.isoformat(), "kind": e.kind, "method": e.method,
                    "publication": pubs.get(e.publication_id), "edition_id": e.edition_id, "reason": e.reason,
                    "detail": e.detail} for e in events],
        "suppressions": [{"publication": pubs.get(x.publication_id), "reason": x.reason,
                          "created_at": x.created_at.isoformat()} for x in supp],
        "staff_actions": [{"at": a.created_at.isoformat(), "action": a.action, "via": a.via} for a in audit],
        "click_history": person_history(session, subscriber.id),  # by consent only (subscribers/click_history.py)
    }
