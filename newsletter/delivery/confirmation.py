"""The double opt-in email: rendered from templates/email/confirm* (render_email, the path
every email takes) and sent as a one-off message (oneoff.py) through the configured
delivery backend."""
from __future__ import annotations

import time

from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.delivery.backends import Backend
from newsletter.delivery.oneoff import send_one_off
from newsletter.links import Links
from newsletter.render.emails import render_email
from newsletter.render.message import message_id
from newsletter.subscribers.models import Subscription


def send_confirmation(session: Session, settings: Settings, backend: Backend, subscription_id: int) -> str:
    """Returns the Message-ID. Raises the backend's errors (the caller decides on retries)."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or not sub.confirm_nonce:
        return ""  # confirmed meanwhile, or nothing waits for a confirmation
    from newsletter.publications.models import Publication

    pub = session.get(Publication, sub.publication_id)
    url = Links.from_settings(settings).confirm(sub.id, sub.subscriber.token_key, sub.confirm_nonce)
    email = render_email("confirm", {"confirm_url": url}, pub, settings)
    # One per sending (a re-sent confirmation is a new message), unlike digest Message-IDs.
    msg_id = message_id("confirm", (sub.id, time.time_ns()), pub.domain, settings.signing_key())
    return send_one_off(backend, pub, to_name=sub.subscriber.name, to_address=sub.subscriber.email,
                        email=email, msg_id=msg_id, list_id=pub.list_id)
