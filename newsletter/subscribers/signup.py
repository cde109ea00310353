"""Double opt-in: a sign-up asks, the confirmation link decides.

A sign-up never changes an active or disabled subscription, never moves someone who
left back in, and never mails an address that is disabled or suppressed for a hard
bounce, a complaint or by an admin. What it may do is send a confirmation link; only
that link, opened by the owner of the address, changes anything. Each sign-up that
needs confirming gets a nonce that its link carries; confirming clears it, so a link
works once, and an old link kept after unsubscribing re-subscribes nobody.

Nothing a request asks for is applied to the person before its own link is used: the
sections, the name and the time zone wait on the subscription beside the nonce
(requested_*), a new address's subscriber row is created blank, and the confirm page
shows what pressing the button will apply. Each new request gets a new nonce and
replaces the data of the one before: the latest link is the only valid one and applies
exactly what that request asked, and the owner sees it before confirming. (Keeping the
first request's data instead would let whoever asked first, perhaps not the owner,
decide what the owner's own confirmation does.) A request refused by the limit of
confirmations per address changes nothing, so the last link mailed keeps working. The
name and time zone are taken only for someone with no active subscription: a sign-up,
even confirmed, never changes a known subscriber's profile (the preference centre does).

The web answers every well-formed sign-up identically and before any of this runs
(web/signup_routes.py): nothing here is visible to the person who asked, not even in
the time the answer takes. With the inline dispatcher the work after the answer shares
the process with the next request, so it renders a confirmation for every sign-up and
sends it only when one is due (jobs.py): the costly part is the same whatever the state;
the send itself (an outbox file or an SMTP transaction) still is not, and is what is
left for a patient prober to time. On workers (a broker) that work runs elsewhere.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import metrics
from newsletter.addresses import normalise_email
from newsletter.errors import Conflict
from newsletter.limits import Counters, person_key
from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from newsletter.subscribers.service import (
    SubscriberError,
    clean_name,
    clean_timezone,
    parse_sections,
)
from newsletter.tracking.models import EventKind, Method
from newsletter.tracking.token_claims import ConfirmClaim
from newsletter.tracking.tokens import InvalidToken, check_key

S = SubscriptionStatus


@dataclass(frozen=True)
class SignupRequest:
    """A validated sign-up, as plain values (it may travel to a worker)."""

    publication_id: int
    email: str
    name: str
    sections: list[str] | None
    timezone: str = ""  # the browser's IANA zone; "" : none (or one we did not recognise)


@dataclass(frozen=True)
class SignupDecision:
    subscription_id: int | None
    send_confirmation: bool


def validate(publication: Publication, email: str, name: str = "", sections=None,
             timezone: str = "") -> SignupRequest:
    """InvalidInput on bad input; nothing is read or written. The time zone comes from
    the browser, not from the person: one we do not recognise is dropped, not refused."""
    try:
        zone = clean_timezone(timezone)
    except SubscriberError:
        zone = ""
    return SignupRequest(publication.id, normalise_email(email), clean_name(name),
                         parse_sections(publication, sections), zone)


def _new_nonce() -> int:
    return secrets.randbits(62) or 1


def sign_up(session: Session, publication: Publication, request: SignupRequest,
            secret: str | None = None, may_mail: Callable[[], bool] | None = None) -> SignupDecision:
    """Record the request and decide whether a confirmation email goes out. With the secret
    key, an address erased at its owner's request is recognised and nothing is recorded.
    `may_mail` is asked only when a confirmation is due; False leaves the pending request
    (its link and what it asked for) as it was."""
    metrics.signed_up()  # every request, whatever the address's state: /metrics tells nothing about anyone
    if secret is not None and lifecycle.erased(session, secret, request.email) is not None:
        return SignupDecision(None, False)
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == request.email))
    if subscriber is None:
        # Blank: a sign-up is not proof of owning the address, so nothing it says is the
        # person's until its link is used (confirm).
        subscriber = Subscriber(email=request.email, name="", timezone="")
        session.add(subscriber)
        session.flush()
    if subscriber.status == SubscriberStatus.DISABLED:
        return SignupDecision(None, False)
    if lifecycle.admin_only_suppression(session, subscriber.email, publication.id, secret) is not None:
        return SignupDecision(None, False)
    sub = lifecycle.subscription(session, subscriber.id, publication.id)
    if sub is not None and sub.status == S.ACTIVE:
        return SignupDecision(sub.id, False)  # nothing to confirm, nothing changes
    lifecycle.record_event(session, EventKind.SIGNUP, Method.WEB, subscriber.id, publication.id)
    if may_mail is not None and not may_mail():
        session.flush()
        return SignupDecision(sub.id if sub is not None else None, False)
    if sub is None:
        sub = Subscription(subscriber_id=subscriber.id, publication_id=publication.id, status=S.PENDING)
        session.add(sub)
    # Pending (never confirmed) or unsubscribed: the state stays as it is until the owner
    # confirms; this request, and only this one, waits beside it with its own link.
    sub.confirm_nonce = _new_nonce()
    sub.requested_sections = request.sections if request.sections is not None else []  # []: all
    sub.requested_name, sub.requested_timezone = request.name, request.timezone
    session.flush()
    return SignupDecision(sub.id, True)


def process(session: Session, counters: Counters, secret: str, request: SignupRequest,
            per_email: tuple[int, int]) -> int | None:
    """Run a sign-up that was already answered: record it, and return the subscription
    whose confirmation email should go out now (None: no email; the limit per address
    also stops anyone from flooding an inbox with confirmations)."""
    publication = session.get(Publication, request.publication_id)
    if publication is None or not publication.active:
        return None
    decision = sign_up(session, publication, request, secret,
                       may_mail=lambda: counters.hit(f"email:{person_key(secret, request.email)}", *per_email))
    return decision.subscription_id if decision.send_confirmation else None


@dataclass(frozen=True)
class Pending:
    """What confirming a pending request applies; the confirm page shows it first."""

    publication: Publication
    sections: list[str] | None  # slugs; None: every section
    name: str | None  # None: the person's name stays as it is
    timezone: str | None  # None: the person's zone stays as it is

    def section_names(self) -> list[str]:
        return [s.name for s in self.publication.ordered_sections()
                if self.sections is None or s.slug in self.sections]

    def fingerprint(self) -> str:
        """What the page showed, in a few characters: the form posts it back, and a
        confirmation whose effect changed since (an unsubscribe elsewhere in between) is
        refused rather than applying what the person did not see."""
        shown = repr((self.publication.id, self.sections, self.name, self.timezone)).encode()
        return hashlib.sha256(shown).hexdigest()[:16]


def pending(session: Session, sub: Subscription) -> Pending:
    asked = sub.requested_sections  # None: nothing asked beyond the sign-up itself; []: every section
    sections = sub.sections if asked is None else (asked or None)
    known = session.scalar(select(Subscription.id).where(Subscription.subscriber_id == sub.subscriber_id,
                                                         Subscription.status == S.ACTIVE).limit(1))
    name = sub.requested_name if known is None and sub.requested_name else None
    zone = sub.requested_timezone if known is None and sub.requested_timezone else None
    return Pending(session.get(Publication, sub.publication_id), sections, name, zone)


def confirmation_target(session: Session, claim: ConfirmClaim) -> Subscription:
    """The subscription a confirm link names, if the link is still the one that counts."""
    sub = session.get(Subscription, claim.subscription_id)
    check_key(sub.subscriber if sub is not None else None, claim.key)
    if not sub.confirm_nonce or sub.confirm_nonce != claim.nonce:
        raise InvalidToken("this confirmation link was already used or replaced by a newer one")
    return sub


def confirm(session: Session, claim: ConfirmClaim, shown: str | None = None) -> Subscription:
    """The owner of the address confirms: active, with the sections, name and time zone
    this link's request asked for, and their own unsubscribe lifted. Conflict when an
    admin must act first."""
    sub = confirmation_target(session, claim)
    asked = pending(session, sub)
    if shown is not None and shown != asked.fingerprint():
        raise Conflict("what this confirmation applies has changed since the page was shown: "
                       "open the link again to see it; nothing was changed")
    subscriber = sub.subscriber
    activated = lifecycle.activate(session, subscriber, asked.publication, asked.sections, Method.WEB,
                                   EventKind.CONFIRM)
    if asked.name is not None:
        subscriber.name = asked.name
    if asked.timezone is not None:
        subscriber.timezone = asked.timezone
    session.flush()
    metrics.confirmed()
    return activated
