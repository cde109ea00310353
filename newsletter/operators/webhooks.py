"""Outgoing webhooks as staff manage them: register an endpoint (its secret shown once),
pause or resume it, rotate its secret, remove it, and read its delivery log. Admins for
every publication only: an endpoint receives events of every publication, addresses
included. Audited; the audit never holds a secret.

A URL that leads to a loopback, private or link-local address is refused unless the
setting webhooks_allow_private is on; it is checked again at every attempt (webhooks/post.py).
"""
from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.errors import InvalidInput, NotFound
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.audit import change
from newsletter.text import has_controls
from newsletter.webhooks import post, signing
from newsletter.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from newsletter.webhooks.outbox import TYPES


def _endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


def register(session: Session, actor: Actor, settings: Settings, url: str, events: list[str],
             description: str = "") -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown once)."""
    require(actor, Permission.WEBHOOKS)
    url = url.strip()
    problem = post.url_problem(url) or post.target_problem(url, settings.webhooks_allow_private)
    if problem:
        raise InvalidInput(f"url: {problem}")
    unknown = [e for e in events if e not in TYPES]
    if unknown or not events:
        raise InvalidInput(f"events: choose among {', '.join(TYPES)}" + (f" (unknown: {', '.join(unknown)})"
                                                                          if unknown else ""))
    if has_controls(description) or len(description) > 200:
        raise InvalidInput("description: one line of at most 200 characters")
    secret = signing.new_secret()
    with change(session, actor, Permission.WEBHOOKS, "webhook.register") as ch:
        endpoint = WebhookEndpoint(url=url, secret=secret, events=[e for e in TYPES if e in events],
                                   description=description.strip(), active=True)
        session.add(endpoint)
        session.flush()
        ch.target, ch.detail = f"webhook:{endpoint.id}", {"url": url, "events": endpoint.events}
    return endpoint, secret


def set_active(session: Session, actor: Actor, endpoint_id: int, active: bool) -> None:
    with change(session, actor, Permission.WEBHOOKS, "webhook.resume" if active else "webhook.pause",
                f"webhook:{endpoint_id}") as ch:
        endpoint = _endpoint(session, endpoint_id)
        ch.nothing_changed = endpoint.active == active
        endpoint.active = active


def rotate(session: Session, actor: Actor, endpoint_id: int) -> str:
    """A new secret (shown once); attempts from now on are signed with it."""
    with change(session, actor, Permission.WEBHOOKS, "webhook.rotate", f"webhook:{endpoint_id}"):
        endpoint = _endpoint(session, endpoint_id)
        endpoint.secret = signing.new_secret()
    return endpoint.secret


def remove(session: Session, actor: Actor, endpoint_id: int) -> None:
    """The endpoint, its pending deliveries and its log."""
    with change(session, actor, Permission.WEBHOOKS, "webhook.remove", f"webhook:{endpoint_id}") as ch:
        endpoint = _endpoint(session, endpoint_id)
        ch.detail = {"url": endpoint.url}
        session.execute(delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint_id))
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
        session.delete(endpoint)


def endpoints(session: Session, actor: Actor) -> list[dict]:
    require(actor, Permission.WEBHOOKS)
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, status, n in session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)):
        counts.setdefault(endpoint_id, {})[status] = n
    return [{"id": e.id, "url": e.url, "events": e.events, "description": e.description, "active": e.active,
             "created_at": e.created_at.isoformat(), "deliveries": counts.get(e.id, {})}
            for e in session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))]


def log(session: Session, actor: Actor, endpoint_id: int | None = None, limit: int = 50) -> list[dict]:
    """The last `limit` attempts (of one endpoint, or every one), newest first."""
    require(actor, Permission.WEBHOOKS)
    q = (select(WebhookAttempt, WebhookDelivery.type, WebhookDelivery.event_id, WebhookDelivery.status,
                WebhookDelivery.attempts)
         .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
         .order_by(WebhookAttempt.id.desc()).limit(max(1, min(limit, 500))))
    if endpoint_id is not None:
        q = q.where(WebhookAttempt.endpoint_id == endpoint_id)
    return [{"at": a.at.isoformat(), "endpoint_id": a.endpoint_id, "delivery_id": a.delivery_id, "type": type_,
             "event_id": event_id, "status_code": a.status_code, "error": a.error, "milliseconds": a.milliseconds,
             "delivery_status": status, "attempts": attempts}
            for a, type_, event_id, status, attempts in session.execute(q)]
