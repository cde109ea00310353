"""What a valid token says: one frozen value per purpose (tokens.py makes and reads
them). They name ids and the subscriber's link key, never an email address."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class PersonalKind(IntEnum):  # the personal emails a VERP address names, and the row its id is
    CONFIRM = 1  # a sign-up's confirmation: the subscription; tag: the request's nonce
    WELCOME = 2  # the subscription; tag: the address it went to
    ADDRESS_OLD = 3  # the notice to the current address: the subscriber; tag: that address
    ADDRESS_NEW = 4  # the link to the new address: the address change; tag: its nonce
    ADDRESS_TAKEN = 5  # the note to an address another subscriber holds: the address change


@dataclass(frozen=True)
class UnsubscribeClaim:
    subscriber_id: int
    key: int
    publication_id: int
    edition_id: int | None


@dataclass(frozen=True)
class UndoClaim:
    subscriber_id: int
    key: int
    publication_id: int
    event_id: int  # the unsubscribe it undoes: works only while that is the latest event


@dataclass(frozen=True)
class PreferencesClaim:
    subscriber_id: int
    key: int
    edition_id: int | None


@dataclass(frozen=True)
class ClickClaim:
    edition_id: int
    position: int  # the item's position in the edition; OPEN_PIXEL for the open pixel


@dataclass(frozen=True)
class MessageClaim:
    """The part of a click link that differs per message: when it was sent (a stamp of
    render/click_links.STAMP_SECONDS), and a person only where they agreed to a history."""
    edition_id: int
    stamp: int
    subscriber_id: int | None
    key: int


@dataclass(frozen=True)
class AddressClaim:
    change_id: int  # the pending change (subscribers/address_change.py), never the address
    key: int
    nonce: int


@dataclass(frozen=True)
class ConfirmClaim:
    subscription_id: int
    key: int
    nonce: int  # the sign-up request it confirms (subscriptions.confirm_nonce)


@dataclass(frozen=True)
class PersonalVerpClaim:
    kind: PersonalKind
    row_id: int
    tag: int  # 24 bits: see `Tokens.tag`
