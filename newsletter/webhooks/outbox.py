"""What happened, as pending webhook deliveries, written in the transaction of the change
(an event is posted if and only if its change committed; a rollback takes it back).

The types an endpoint may ask for, and what makes them:
- subscribed: an active subscription began without a confirmation step (an admin, an
  import, a resubscription); a sign-up still waiting for its confirmation is not posted
  (nobody has shown the address is theirs yet);
- confirmed: a sign-up confirmed (double opt-in);
- unsubscribed: with the method (one-click, link, mailto, preference-centre, admin, bounce, complaint);
- bounced, complained: as recorded (at the relay or from a report later);
- erased: a person erased; it carries the subscriber id only, and at an erasure every
  delivery about them that is still stored loses the address (pending ones included);
- edition.sent: an edition finished, with its counts.

Each event has one id for every endpoint (receivers deduplicate by it).
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import Connection, column, func, insert, select, table, update

from newsletter.db import UTCDateTime, utcnow
from newsletter.webhooks.models import WebhookDelivery, WebhookEndpoint

# The rows an event names, read by table name: the packages that record events
# (subscribers/, editions/) import this module, so it does not import their models back.
_subscribers = table("subscribers", column("id"), column("email"))
_publications = table("publications", column("id"), column("slug"))
_editions = table("editions", column("id"), column("publication_id"), column("date"))
_deliveries = table("deliveries", column("edition_id"), column("status"))
_events = table("events", column("id"), column("kind"), column("subscriber_id"), column("publication_id"),
                column("detail"), column("created_at", UTCDateTime()))

TYPES = ("subscribed", "confirmed", "unsubscribed", "bounced", "complained", "erased", "edition.sent")
# tracking/models.py EventKind -> type (other kinds are not posted).
_BY_KIND = {"subscribe": "subscribed", "resubscribe": "subscribed", "confirm": "confirmed",
            "unsubscribe": "unsubscribed", "bounce": "bounced", "complaint": "complained"}


def _endpoints(conn: Connection, type_: str) -> list[int]:
    rows = conn.execute(select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.active.is_(True)))
    return [endpoint_id for endpoint_id, events in rows if type_ in (events or [])]


def enqueue(conn: Connection, type_: str, data: dict, subscriber_id: int | None = None,
            at: datetime | None = None) -> int:
    """A pending delivery of this event to every active endpoint that asked for its type."""
    endpoints = _endpoints(conn, type_)
    if not endpoints:
        return 0
    at = at or utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "type": type_, "created_at": at.isoformat(), "data": data},
                      sort_keys=True, separators=(",", ":"))
    conn.execute(insert(WebhookDelivery), [
        {"endpoint_id": e, "event_id": event_id, "type": type_, "subscriber_id": subscriber_id, "payload": body,
         "status": "pending", "attempts": 0, "next_attempt_at": utcnow(), "created_at": utcnow()}
        for e in endpoints])
    return len(endpoints)


def _names(conn: Connection, subscriber_id: int | None, publication_id: int | None) -> tuple[str | None, str | None]:
    email = conn.scalar(select(_subscribers.c.email).where(_subscribers.c.id == subscriber_id)) \
        if subscriber_id else None
    slug = conn.scalar(select(_publications.c.slug).where(_publications.c.id == publication_id)) \
        if publication_id else None
    return email, slug


def subscriber_event(conn: Connection, kind: str, method: str, subscriber_id: int | None,
                     publication_id: int | None, edition_id: int | None = None, at: datetime | None = None) -> int:
    """From subscribers/lifecycle.py's record_event: the event recorded, if it is posted."""
    type_ = _BY_KIND.get(str(kind))
    if type_ is None or not _endpoints(conn, type_):
        return 0
    email, slug = _names(conn, subscriber_id, publication_id)
    data = {"subscriber_id": subscriber_id, "email": email, "publication": slug, "method": str(method),
            "edition_id": edition_id}
    return enqueue(conn, type_, data, subscriber_id, at)


def edition_sent(conn: Connection, edition_id: int) -> int:
    if not _endpoints(conn, "edition.sent"):
        return 0
    row = conn.execute(select(_editions.c.publication_id, _editions.c.date)
                       .where(_editions.c.id == edition_id)).first()
    counts = dict(conn.execute(select(_deliveries.c.status, func.count()).where(_deliveries.c.edition_id == edition_id)
                               .group_by(_deliveries.c.status)).all())
    data = {"edition_id": edition_id, "publication": _names(conn, None, row.publication_id)[1],
            "date": str(row.date), "counts": {str(k): v for k, v in counts.items()}}
    return enqueue(conn, "edition.sent", data)


def erased(conn: Connection, subscriber_id: int) -> int:
    """At an erasure (people/erase.py): every stored delivery about them loses the
    address, posted or not; then the erasure itself, by id only. Returns the rows scrubbed."""
    scrubbed = 0
    for delivery_id, payload in conn.execute(select(WebhookDelivery.id, WebhookDelivery.payload)
                                             .where(WebhookDelivery.subscriber_id == subscriber_id)).all():
        body = json.loads(payload)
        if body.get("data", {}).get("email") is not None:
            body["data"]["email"] = None
            conn.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                         .values(payload=json.dumps(body, sort_keys=True, separators=(",", ":"))))
            scrubbed += 1
    enqueue(conn, "erased", {"subscriber_id": subscriber_id, "email": None}, subscriber_id)
    return scrubbed


def imported(conn: Connection, publication_id: int, detail: str, at: datetime) -> int:
    """An import's subscriptions (written in bulk, subscribers/import_sql.py), one event each."""
    if not _endpoints(conn, "subscribed"):
        return 0
    _, slug = _names(conn, None, publication_id)
    e, s = _events.c, _subscribers.c
    rows = conn.execute(select(e.subscriber_id, s.email).join_from(_events, _subscribers, s.id == e.subscriber_id)
                        .where(e.kind == "subscribe", e.publication_id == publication_id, e.detail == detail,
                               e.created_at == at).order_by(e.id)).all()
    for subscriber_id, email in rows:
        enqueue(conn, "subscribed", {"subscriber_id": subscriber_id, "email": email, "publication": slug,
                                     "method": "admin", "edition_id": None}, subscriber_id, at)
    return len(rows)
