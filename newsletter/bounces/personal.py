"""Bounces of personal emails: the confirmation, the welcome, the address-change notes.

Their VERP envelope sender (mail/oneoff.py) names which email it was, for which row,
and a tag of the request or address it went for (tracking/tokens.py); their Message-IDs
(`<welcome.SUB...>`, `<confirm.SUB...>`, ...) name the row too, when a report carries no
VERP address. What a bounce means depends on who asked for the email:

- the welcome, and the notice to the current address, went to a subscriber's own
  address: a bounce counts against that subscriber as an edition's would (`Target`
  with the subscriber), as long as it is still their address (the tag);
- the confirmation of a sign-up and the link to a new address went to an address that
  nobody has proven to own (anyone can sign any address up): a bounce ends that request,
  if it still waits, and nothing else: no suppression, no event, no score, nothing about
  a subscriber who may hold the address for another publication (`Request`);
- the note that a new address already belongs to someone went to another subscriber
  because of someone else's request: its bounce changes nothing.

The answer to a sign-up or an address change never depends on any of this: it was given
before the email was sent (web/signup_routes.py, web/preference_routes.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.addresses import normalise_email
from newsletter.bounces.models import BounceKind
from newsletter.errors import InvalidInput
from newsletter.subscribers import lifecycle
from newsletter.subscribers.address_change import AddressChange, withdraw
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.tracking.token_claims import PersonalKind
from newsletter.tracking.tokens import InvalidToken, Tokens

K = PersonalKind
# The Message-ID kinds of personal emails (mail/confirmation.py, account_mail.py) and
# the row each one's number names.
MESSAGE_ID_KINDS = {"confirm": K.CONFIRM, "welcome": K.WELCOME, "address-old": K.ADDRESS_OLD,
                    "address-new": K.ADDRESS_NEW, "address-taken": K.ADDRESS_TAKEN}
_ID_MAX = 2**31 - 1


@dataclass(frozen=True)
class Request:
    """A bounced email that was about a request, not about a subscriber."""

    kind: PersonalKind
    row_id: int  # the subscription (CONFIRM) or the address change (ADDRESS_NEW, ADDRESS_TAKEN)
    current: bool  # the request it was for still waits (False: confirmed, replaced or gone since)


@dataclass(frozen=True)
class Target:
    """What a personal email's bounce is about: a subscriber (counted like an edition's
    bounce), or a request (`request` set; no subscriber)."""

    subscriber_id: int | None
    email: str
    publication_ids: tuple[int, ...]
    request: Request | None = None


def _nothing(kind: PersonalKind, row_id: int) -> Target:
    return Target(None, "", (), Request(kind, row_id, False))


def by_verp(session: Session, tokens: Tokens, address: str) -> Target | None:
    """None when `address` is not a personal VERP address of ours. A valid one always
    decides (a Target), so that no weaker match acts on what it says."""
    try:
        claim = tokens.read_personal_verp_address(address)
    except InvalidToken:
        return None
    kind, row = claim.kind, claim.row_id
    if kind == K.CONFIRM:
        sub = session.get(Subscription, row) if row else None
        current = sub is not None and bool(sub.confirm_nonce) and tokens.tag(sub.confirm_nonce) == claim.tag
        return Target(None, "", (), Request(kind, row, current))
    if kind in (K.ADDRESS_NEW, K.ADDRESS_TAKEN):
        change = session.get(AddressChange, row) if row else None
        current = kind == K.ADDRESS_NEW and change is not None and tokens.tag(change.nonce) == claim.tag
        return Target(None, "", (), Request(kind, row, current))
    subscriber = _subscriber_of(session, kind, row)
    if subscriber is None or tokens.tag(subscriber.email) != claim.tag:
        return _nothing(kind, row)  # gone, or the address it went to is no longer theirs
    return _counted(session, kind, row, subscriber)


def by_message_id(session: Session, kind_name: str, row: int, recipient: str) -> Target | None:
    """The Message-ID of a personal email, already verified as ours (bounces/match.py).
    Without the VERP tag, a request is taken as the one waiting now, and a subscriber
    only while the report's recipient (when it names one) is still their address."""
    kind = MESSAGE_ID_KINDS[kind_name]
    row = row if 0 < row <= _ID_MAX else 0
    if kind == K.CONFIRM:
        sub = session.get(Subscription, row) if row else None
        return Target(None, "", (), Request(kind, row, sub is not None and bool(sub.confirm_nonce)))
    if kind in (K.ADDRESS_NEW, K.ADDRESS_TAKEN):
        current = kind == K.ADDRESS_NEW and row and session.get(AddressChange, row) is not None
        return Target(None, "", (), Request(kind, row, bool(current)))
    if kind == K.ADDRESS_OLD:  # its Message-ID names the change (gone once confirmed or replaced)
        change = session.get(AddressChange, row) if row else None
        subscriber = session.get(Subscriber, change.subscriber_id) if change is not None else None
    else:
        subscriber = _subscriber_of(session, kind, row)
    if subscriber is None or not _same_address(recipient, subscriber.email):
        return _nothing(kind, row)
    return _counted(session, kind, subscriber.id if kind == K.ADDRESS_OLD else row, subscriber)


def _subscriber_of(session: Session, kind: PersonalKind, row: int) -> Subscriber | None:
    if not row:
        return None
    if kind == K.WELCOME:
        sub = session.get(Subscription, row)
        return sub.subscriber if sub is not None else None
    return session.get(Subscriber, row)  # ADDRESS_OLD: the VERP names the subscriber


def _counted(session: Session, kind: PersonalKind, row: int, subscriber: Subscriber) -> Target:
    """The welcome concerns its publication; the address notice every one of theirs."""
    if kind == K.WELCOME:
        publications = (session.get(Subscription, row).publication_id,)
    else:
        publications = tuple(session.scalars(select(Subscription.publication_id)
                                             .where(Subscription.subscriber_id == subscriber.id)
                                             .order_by(Subscription.publication_id)))
    return Target(subscriber.id, subscriber.email, publications)


def _same_address(recipient: str, email: str) -> bool:
    if not recipient:
        return True
    try:
        return normalise_email(recipient) == email
    except InvalidInput:
        return False


_WHAT = {K.CONFIRM: "the confirmation of a sign-up", K.ADDRESS_NEW: "the link to a new address",
         K.ADDRESS_TAKEN: "the note to an address another subscriber holds",
         K.WELCOME: "the welcome", K.ADDRESS_OLD: "the notice of an address change"}


def settle(session: Session, request: Request, kind: BounceKind) -> str:
    """What a bounce of a request's email does: end that request if it still waits; never
    anything else (the finding names no subscriber: it counts in no score of theirs).
    Returns the outcome, in words."""
    what = _WHAT[request.kind]
    if kind in (BounceKind.DELAYED, BounceKind.OTHER):
        return f"{what}: {kind}, nothing to do"
    if request.kind == K.ADDRESS_TAKEN:
        return f"{what} bounced: nothing to do (nobody suppressed)"
    if not request.current:
        return f"{what} bounced; its request was confirmed, replaced or withdrawn since: nothing to do"
    if request.kind == K.CONFIRM:
        lifecycle.drop_request(session, session.get(Subscription, request.row_id))
        return f"{what} bounced ({kind}): that sign-up request ended (nobody suppressed)"
    withdraw(session, session.get(AddressChange, request.row_id))
    return f"{what} bounced ({kind}): that address change request ended (nobody suppressed)"
