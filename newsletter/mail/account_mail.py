"""Emails about a subscriber's own account, outside any edition: the welcome after a
confirmed sign-up, and the two sides of an address change. Rendered by render_email
(templates email/welcome*, address_change*, address_notice*, address_taken*; each may be
overridden per publication) and sent as one-off messages (oneoff.py) with the same
headers as the confirmation; the welcome also carries List-Unsubscribe (with RFC 8058's
one-click Post, and the mailto: address where the publication uses VERP) like an edition.
Each goes out with a VERP envelope sender naming which email it was (oneoff.py): a
bounce of the welcome or of the notice to the current address counts against that
subscriber as an edition's would; one of the link to a new address ends that request
(bounces/personal.py). Each function is one step the dispatcher runs (inline or
as a Celery task) after the request that asked for it was answered; each returns the
Message-ID, or "" when there is nothing (left) to send, and raises the backend's
SendFailure for the caller's retries.
"""
from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.links import Links
from newsletter.mail.oneoff import personal_envelope, send_one_off
from newsletter.publications.models import Publication
from newsletter.publications.schedule import describe
from newsletter.render.emails import render_email
from newsletter.render.message import message_id
from newsletter.subscribers import lifecycle
from newsletter.subscribers.address_change import AddressChange, Target, target_of
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from newsletter.tracking.token_claims import PersonalKind
from newsletter.tracking.tokens import Tokens
from newsletter.transport.backends import Backend


def mask(email: str) -> str:
    """a***@example.org, as the web pages show addresses (web/pages.py)."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _send(settings: Settings, backend: Backend, pub: Publication, kind: PersonalKind, key: int,
          verp: tuple[int, int], name: str, to: str, template: str, context: dict,
          unsubscribe: tuple[str, str] = ("", "")) -> str:
    """`key`: the row its Message-ID names; `verp`: the row its VERP address names and the
    tag of the request or address it went for (tracking/tokens.py); `unsubscribe`: the
    URL and the mailto: address of List-Unsubscribe."""
    email = render_email(template, context, pub, settings)
    msg_id = message_id(_MESSAGE_ID_KINDS[kind], (key, time.time_ns()), pub.domain, settings.signing_key())
    envelope = personal_envelope(Tokens(settings.signing_key()), pub, kind, *verp)
    return send_one_off(backend, pub, to_name=name, to_address=to, email=email, msg_id=msg_id,
                        list_id=pub.list_id, envelope_from=envelope, unsubscribe_url=unsubscribe[0],
                        unsubscribe_mailto=unsubscribe[1])


_MESSAGE_ID_KINDS = {PersonalKind.WELCOME: "welcome", PersonalKind.ADDRESS_OLD: "address-old",
                     PersonalKind.ADDRESS_NEW: "address-new", PersonalKind.ADDRESS_TAKEN: "address-taken"}


def send_welcome(session: Session, settings: Settings, backend: Backend, subscription_id: int) -> str:
    """After a confirmed sign-up (never for an admin's add or an import: they do not
    confirm). Nothing if the subscription is no longer active or the person may not be
    mailed."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.status != SubscriptionStatus.ACTIVE:
        return ""
    subscriber, pub = sub.subscriber, session.get(Publication, sub.publication_id)
    if subscriber.status != SubscriberStatus.ACTIVE or lifecycle.suppressions(
            session, subscriber.email, pub.id, settings.signing_key()):
        return ""
    tokens = Tokens(settings.signing_key())
    links = Links.from_settings(settings, tokens)
    unsubscribe_url = links.unsubscribe(subscriber.id, subscriber.token_key, pub.id, None)
    mailto = tokens.mailto_unsubscribe_address(subscriber.id, subscriber.token_key, pub.id, None,
                                               pub.effective_bounce_domain) if pub.verp else ""
    chosen = [s.name for s in pub.ordered_sections() if not sub.sections or s.slug in sub.sections]
    context = {"name": subscriber.name, "sections": chosen, "every_section": not sub.sections,
               # the zone the schedule runs in for them: their own only for a local-time publication
               "schedule": describe(pub.schedule_cron),
               "timezone": (subscriber.timezone or pub.timezone) if pub.local_time else pub.timezone,
               "preferences_url": links.preferences(subscriber.id, subscriber.token_key),
               "unsubscribe_url": unsubscribe_url}
    return _send(settings, backend, pub, PersonalKind.WELCOME, sub.id, (sub.id, tokens.tag(subscriber.email)),
                 subscriber.name, subscriber.email, "welcome", context, (unsubscribe_url, mailto))


def publication_for(session: Session, subscriber: Subscriber) -> Publication | None:
    """Whose name, sender and templates an account email takes: the person's first active
    subscription's publication, else any of theirs, else the first active publication."""
    rows = session.execute(select(Subscription.status, Subscription.publication_id)
                           .where(Subscription.subscriber_id == subscriber.id).order_by(Subscription.id)).all()
    chosen = next((p for st, p in rows if st == SubscriptionStatus.ACTIVE), rows[0][1] if rows else None)
    if chosen is not None:
        return session.get(Publication, chosen)
    return session.scalar(select(Publication).where(Publication.active.is_(True)).order_by(Publication.id).limit(1))


def send_address_change(session: Session, settings: Settings, backend: Backend, change_id: int, side: str) -> str:
    """side "old": tell the current address (unless it must never be mailed); side "new":
    the confirmation link if the address is free, a note that nothing changed if it is
    another subscriber's, nothing at all if it must never be mailed."""
    change = session.get(AddressChange, change_id)
    if change is None:
        return ""  # confirmed, replaced or erased meanwhile
    subscriber = session.get(Subscriber, change.subscriber_id)
    pub = publication_for(session, subscriber)
    if pub is None:
        return ""
    secret = settings.signing_key()
    tag = Tokens(secret).tag
    if side == "old":
        if subscriber.status == SubscriberStatus.DISABLED or \
                lifecycle.admin_only_suppression(session, subscriber.email, None, secret) is not None:
            return ""  # disabled or suppressed addresses are never mailed, notices included
        # Its VERP names the subscriber (the change is gone once confirmed or replaced).
        verp = (subscriber.id, tag(subscriber.email))
        return _send(settings, backend, pub, PersonalKind.ADDRESS_OLD, change.id, verp,
                     subscriber.name, subscriber.email, "address_notice",
                     {"name": subscriber.name, "new_address": mask(change.new_email)})
    target = target_of(session, secret, change.new_email, subscriber.id)
    if target == Target.NEVER:
        return ""
    if target == Target.TAKEN:
        return _send(settings, backend, pub, PersonalKind.ADDRESS_TAKEN, change.id, (change.id, tag(change.nonce)),
                     "", change.new_email, "address_taken", {})
    url = Links.from_settings(settings).address_change(change.id, subscriber.token_key, change.nonce)
    hours = settings.confirm_link_max_age_seconds // 3600
    return _send(settings, backend, pub, PersonalKind.ADDRESS_NEW, change.id, (change.id, tag(change.nonce)),
                 subscriber.name, change.new_email, "address_change",
                 {"name": subscriber.name, "confirm_url": url, "old_address": mask(subscriber.email),
                  "valid_for": f"{hours // 24} days" if hours >= 48 else f"{hours} hours"})
