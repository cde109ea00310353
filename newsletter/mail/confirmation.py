"""The double opt-in email: rendered from templates/email/confirm* (render_email, the path
every email takes) and sent as a one-off message (oneoff.py) through the configured
delivery backend.

It is addressed to the bare address: a display name would come from an unproven
request (the name asked for is applied only on confirming, subscribers/signup.py).
Its VERP envelope sender names the subscription and the request (its nonce's tag): a
bounce ends that pending request and nothing else (bounces/personal.py).
`rehearse` renders and builds the same message for a sign-up that is not due one and
sends nothing, so that the work after a sign-up's answer is the same whatever the
address's state (jobs.py)."""
from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.mail.oneoff import build_one_off, personal_envelope, send_built
from newsletter.publications.models import Publication
from newsletter.render.emails import render_email
from newsletter.render.message import message_id
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.tracking.token_claims import PersonalKind
from newsletter.tracking.tokens import Tokens
from newsletter.transport.backends import Backend


def _build(settings: Settings, pub: Publication, sub_id: int, key: int, nonce: int,
           to: str) -> tuple[str, bytes, str]:
    """(Message-ID, bytes, envelope sender)."""
    tokens = Tokens(settings.signing_key())
    url = Links.from_settings(settings, tokens).confirm(sub_id, key, nonce)
    email = render_email("confirm", {"confirm_url": url}, pub, settings)
    # One per sending (a re-sent confirmation is a new message), unlike digest Message-IDs.
    msg_id = message_id("confirm", (sub_id, time.time_ns()), pub.domain, settings.signing_key())
    envelope = personal_envelope(tokens, pub, PersonalKind.CONFIRM, sub_id, tokens.tag(nonce))
    return msg_id, build_one_off(pub, to_name="", to_address=to, email=email, msg_id=msg_id,
                                 list_id=pub.list_id), envelope


def send_confirmation(session: Session, settings: Settings, backend: Backend, subscription_id: int) -> str:
    """Returns the Message-ID. Raises the backend's errors (the caller decides on retries)."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or not sub.confirm_nonce:
        return ""  # confirmed meanwhile, or nothing waits for a confirmation
    pub = session.get(Publication, sub.publication_id)
    to = sub.subscriber.email
    msg_id, data, envelope = _build(settings, pub, sub.id, sub.subscriber.token_key, sub.confirm_nonce, to)
    return send_built(backend, pub, to, data, msg_id, envelope)


def rehearse(session: Session, settings: Settings, publication_id: int, email: str) -> None:
    """The same reads, rendering and building as send_confirmation, for a link that does
    not exist; nothing is sent or kept."""
    session.scalar(select(Subscriber.token_key).where(Subscriber.email == email))
    pub = session.get(Publication, publication_id)
    if pub is not None:
        _build(settings, pub, 0, 0, 1, email)
