"""Whom a report's recipient is about: the message of ours it returns (by its VERP token,
else its original Message-ID: `by_traces`), or a subscriber by address (`by_address`).

- VERP: the report was sent to `bounces+<token>@...` (the envelope recipient, shown in
  Delivered-To, X-Original-To, To or a Received `for` clause; for a complaint, the
  report's Original-Mail-From or the original's Return-Path; a provider's event gives
  the MAIL FROM it was asked to use). The token is signed, so a match is certain, even
  when the mailbox forwarded our mail to another address.
- Message-ID: ours are `<edition.E.S.digest@domain>` (and `<confirm.SUB.N.digest@...>`
  and the like for personal emails), the digest keyed with our secret: a Message-ID that
  verifies names the delivery without any lookup by text. It names the edition and the
  subscriber, so it still finds the reader once retention removed the delivery row (a
  VERP token names the row: then the Message-ID, else the address, decides).
- Personal emails (confirmation, welcome, address change: bounces/personal.py) have VERP
  addresses and Message-IDs of their own; a bounce of one that was about a request, not
  a subscriber, gives a Match with `request` set and no subscriber, which ends that
  request and nothing else.
- Address: the recipient the report names, as a subscriber's email; every publication
  they subscribe to is concerned (the suppression is global anyway).

Which recipient of a report the traces speak for is process.plan's business.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from newsletter.addresses import normalise_email
from newsletter.bounces import personal
from newsletter.bounces.parse import ParsedReport
from newsletter.delivery.models import Delivery
from newsletter.delivery.tallies import DeliveryTally
from newsletter.editions.models import Edition
from newsletter.errors import InvalidInput
from newsletter.lookups import valid_id
from newsletter.render.message import message_id
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.tracking.tokens import InvalidToken, Tokens

_OUR_MESSAGE_ID = re.compile(r"<(edition|confirm|welcome|address-old|address-new|address-taken)"
                             r"\.(\d{1,19})\.(\d{1,19})\.([0-9a-f]{16})@([^<>\s]{1,255})>")


@dataclass(frozen=True)
class Match:
    by: str  # "verp", "message-id" or "address"
    subscriber_id: int | None  # None: a request's email (`request`), nobody's
    email: str
    publication_ids: tuple[int, ...]  # empty: suppress the address only
    delivery_id: int | None = None
    edition_id: int | None = None
    request: personal.Request | None = None  # set: the email was about a request (bounces/personal.py)


def by_traces(session: Session, tokens: Tokens, secret: str, report: ParsedReport, envelope_to: str) -> Match | None:
    """The message of ours the report returns, by its VERP address or its Message-ID (a
    personal email's Message-ID without its VERP tag counts for a subscriber only while
    the report's decisive recipient is still their address: personal.by_message_id)."""
    recipient = report.first.address
    for address in [envelope_to, *report.verp_candidates]:
        found = _by_verp(session, tokens, address) if address else None
        if found is not None:
            return found
    for mid in report.message_ids:
        found = _by_message_id(session, secret, mid, recipient)
        if found is not None:
            return found
    return None


def _delivery_match(session: Session, delivery: Delivery | None, by: str) -> Match | None:
    if delivery is None:
        return None
    subscriber = session.get(Subscriber, delivery.subscriber_id)
    publication_id = session.scalar(select(Edition.publication_id).where(Edition.id == delivery.edition_id))
    if subscriber is None or publication_id is None:
        return None
    return Match(by, subscriber.id, subscriber.email, (publication_id,), delivery.id, delivery.edition_id)


def _by_verp(session: Session, tokens: Tokens, address: str) -> Match | None:
    try:
        delivery_id = tokens.read_verp_address(address)
    except InvalidToken:
        return _personal("verp", personal.by_verp(session, tokens, address))
    if not valid_id(delivery_id):
        return None
    return _delivery_match(session, session.get(Delivery, delivery_id), "verp")


def _personal(by: str, target: personal.Target | None) -> Match | None:
    if target is None:
        return None
    return Match(by, target.subscriber_id, target.email, target.publication_ids, request=target.request)


def _by_message_id(session: Session, secret: str, mid: str, recipient: str) -> Match | None:
    m = _OUR_MESSAGE_ID.fullmatch(mid.strip())
    if m is None:
        return None
    kind, first, second, domain = m[1], int(m[2]), int(m[3]), m[5]
    if max(first, second) > 2**63 or message_id(kind, (first, second), domain, secret) != m[0]:
        return None  # not made by us (or with another secret)
    if kind != "edition":
        return _personal("message-id", personal.by_message_id(session, kind, first, recipient))
    if not (valid_id(first) and valid_id(second)):
        return None
    delivery = session.scalar(select(Delivery).where(Delivery.edition_id == first, Delivery.subscriber_id == second))
    if delivery is None:
        return _rolled_up_match(session, first, second)
    if delivery.message_id and delivery.message_id != m[0]:
        return None
    return _delivery_match(session, delivery, "message-id")


def _rolled_up_match(session: Session, edition_id: int, subscriber_id: int) -> Match | None:
    """The reader of an edition whose delivery rows retention removed (its tallies say it
    was sent): the Message-ID names them both, no row is needed."""
    if not session.scalar(select(exists().where(DeliveryTally.edition_id == edition_id))):
        return None
    subscriber = session.get(Subscriber, subscriber_id)
    publication_id = session.scalar(select(Edition.publication_id).where(Edition.id == edition_id))
    if subscriber is None or publication_id is None:
        return None
    return Match("message-id", subscriber.id, subscriber.email, (publication_id,), None, edition_id)


def by_address(session: Session, recipient: str) -> Match | None:
    """The subscriber whose address this is; every publication they subscribe to."""
    if not recipient:
        return None
    try:
        email = normalise_email(recipient)
    except InvalidInput:
        return None
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email == email))
    if subscriber is None:
        return None
    publications = tuple(session.scalars(select(Subscription.publication_id)
                                         .where(Subscription.subscriber_id == subscriber.id)
                                         .order_by(Subscription.publication_id)))
    return Match("address", subscriber.id, subscriber.email, publications)
