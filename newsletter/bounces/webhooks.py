"""Keeping what a provider's webhook reported, before anything reads it (the web's
/bounces/<provider> routes call this once the request is verified: web/webhook_routes.py).

Each event is stored raw, like a mailed report (store.py), with its provider and once
per the provider's own event id: a provider's retry, or a replay of a captured request,
stores nothing new, so it is acted on once. Mailgun's signature covers a one-time token
rather than the event: the token is recorded in the same transaction as the events, and
a token seen before refuses the request (Replayed), nothing stored. Tokens are kept for
as long as a request carrying one could still pass the age check (twice the maximum
age: a timestamp may be that far in the future too), then forgotten.

Processing (process.py) runs after the answer, as for /bounces/inbound; whatever it
leaves undone, beat picks up (intake.poll).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter import metrics
from newsletter.bounces import store
from newsletter.bounces.models import WebhookToken
from newsletter.bounces.providers.common import Event, Unauthorised
from newsletter.config import Settings
from newsletter.db import utcnow


class Replayed(Unauthorised):
    """A one-time token seen before: the request is a replay."""


@dataclass
class Received:
    new: list[int] = field(default_factory=list)  # ids of the reports stored now
    known: int = 0  # events stored before (a retry or a replay)


def receive(engine: Engine, settings: Settings, provider: str, events: list[Event], token: str = "") -> Received:
    """Store the events (and the one-time `token`, if any) and commit; Replayed when the
    token was seen before, nothing stored."""
    result = Received()
    with Session(engine) as session:
        if token:
            _spend(session, settings, provider, token)
        for event in events:
            stored = store.store(session, event.raw[:settings.bounce_max_bytes], f"webhook:{provider}",
                                 provider=provider, key=event.key)
            if stored.new:
                result.new.append(stored.report_id)
            else:
                result.known += 1
        session.commit()
    for _ in result.new:
        metrics.bounce_report_received("webhook")
    return result


def _spend(session: Session, settings: Settings, provider: str, token: str) -> None:
    now = utcnow()
    session.execute(delete(WebhookToken).where(
        WebhookToken.seen_at < now - timedelta(seconds=2 * settings.webhook_max_age_seconds + 60)))
    if session.scalar(select(WebhookToken.id).where(WebhookToken.provider == provider, WebhookToken.token == token)):
        raise Replayed("this request was received before (its token was used)")
    try:
        with session.begin_nested():
            session.add(WebhookToken(provider=provider, token=token, seen_at=now))
    except IntegrityError:  # the same request, at the same moment
        raise Replayed("this request was received before (its token was used)") from None
