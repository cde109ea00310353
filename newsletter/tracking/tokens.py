"""Signed tokens for subscriber links (itsdangerous).

Tokens name ids and the subscriber's random link key, never the email address.
The key is checked on every use (see `check_key`), so a link stops working when
its subscriber is erased (the key is rotated) and never reaches someone who got
a reused id. Each purpose has its own salt, so a token made for one purpose is
refused by every other, and every failure is the one error, InvalidToken.
"""
from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, SignatureExpired, Signer, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.signer import HMACAlgorithm

from newsletter.errors import InvalidInput
from newsletter.tracking.local_part import LocalPartSigner, token_of
from newsletter.tracking.token_claims import (
    AddressClaim,
    ClickClaim,
    ConfirmClaim,
    MessageClaim,
    PersonalKind,
    PersonalVerpClaim,
    PreferencesClaim,
    UndoClaim,
    UnsubscribeClaim,
)


class InvalidToken(InvalidInput):
    """Forged, tampered with, expired, or naming someone who no longer exists."""


GONE = "this link is for a subscription that no longer exists"

# Tokens in an address's local part (local_part.py): lower-case base32 of a few bytes and
# an 80-bit HMAC (mail systems may change the case of a local part; base32 reads the same).
# - VERP: bounces+<token>@<bounce domain>; an edition's names the delivery (at most 8 + 10
#   bytes: 29 characters), a personal email's (its own key) a kind, a row and a 3-byte tag
#   of the request or address it went for, 8 bytes too: both fit what bounce readers scan.
# - mailto: unsubscribe+<token>@<bounce domain>, the unsubscribe link's four values in
#   20 bytes: 48 characters, 60 with the prefix (RFC 5321 allows 64).
VERP_PREFIX = "bounces+"
MAILTO_PREFIX = "unsubscribe+"
_ID_MAX = 2**31 - 1


def check_key(subscriber, key: int) -> None:
    """The subscriber a token names must exist and still hold the token's key."""
    if subscriber is None or subscriber.token_key != key:
        raise InvalidToken(GONE)


class _IntsSigner:
    """What URLSafeSerializer.dumps makes of a short list of ints (two tokens for every
    message sent), with the work itsdangerous repeats per token done once per process:
    the key is derived once, and the MAC is OpenSSL's one-shot `hmac.digest` (itsdangerous
    builds a pure-Python HMAC object around its lazy sha1 each time). The JSON of a list
    of ints is its digits joined, as `json.dumps(..., separators=(",", ":"))` writes them.
    The serializer's attempt to compress is not made (nor was it before): it rarely wins
    on a few digits, and `loads` reads both forms. tests/unit/delivery/test_fast_paths.py
    compares the tokens with itsdangerous' own over random inputs."""

    def __init__(self, serializer: URLSafeSerializer):
        signer = serializer.make_signer()
        if not isinstance(signer.algorithm, HMACAlgorithm):
            raise TypeError("only HMAC signers can be sped up")
        self._key = signer.derive_key()
        self._digest = signer.digest_method().name  # "sha1": hmac.digest takes a name
        self._sep = signer.sep

    def dumps(self, values: list[int]) -> str:
        payload = base64_encode(("[" + ",".join([str(int(v)) for v in values]) + "]").encode("ascii"))
        mac = hmac.digest(self._key, payload, self._digest)
        return (payload + self._sep + base64_encode(mac)).decode("ascii")


def _local_token(address: str, prefix: str) -> str:
    token = token_of(address, prefix)
    if token is None:
        raise InvalidToken(f"not an address of the form {prefix}TOKEN@domain")
    return token


def _loaded(ident: bytes | None, what: str) -> bytes:
    if ident is None:
        raise InvalidToken(f"{what} token not valid (it may have been altered)")
    return ident


def _ints(data, n: int) -> list[int]:
    if not (isinstance(data, list) and len(data) == n
            and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**63 for x in data)):
        raise InvalidToken("malformed link")
    return data


class Tokens:
    def __init__(self, secret: str):
        # Compact serialisers: payloads are short lists of ints.
        self._unsubscribe = URLSafeSerializer(secret, salt="unsubscribe")
        self._preferences = URLSafeSerializer(secret, salt="preferences")
        # Made once: two tokens are signed for every message sent.
        self._unsubscribe_signer = _IntsSigner(self._unsubscribe)
        self._preferences_signer = _IntsSigner(self._preferences)
        # Click statistics (editions/clicks.py): a link of an edition, and the message it came in.
        self._click = URLSafeSerializer(secret, salt="click")
        self._click_message = URLSafeSerializer(secret, salt="click-message")
        self._click_message_signer = _IntsSigner(self._click_message)
        self._confirm = URLSafeTimedSerializer(secret, salt="confirm-subscription")
        self._csrf = URLSafeTimedSerializer(secret, salt="csrf")
        self._address = URLSafeTimedSerializer(secret, salt="address-change")
        self._undo = URLSafeTimedSerializer(secret, salt="undo-unsubscribe")
        self._verp = LocalPartSigner(secret, "verp-bounce")
        self._personal_verp = LocalPartSigner(secret, "verp-personal")
        self._mailto = LocalPartSigner(secret, "mailto-unsubscribe")
        self._tag_key = Signer(secret, salt="personal-tag", digest_method=hashlib.sha256).derive_key()

    # unsubscribe: one subscriber, one publication, the edition the link came from
    def unsubscribe(self, subscriber_id: int, key: int, publication_id: int, edition_id: int | None) -> str:
        return self._unsubscribe_signer.dumps([subscriber_id, key, publication_id, edition_id or 0])

    def read_unsubscribe(self, token: str) -> UnsubscribeClaim:
        sid, key, pid, eid = _ints(self._load(self._unsubscribe, token), 4)
        return UnsubscribeClaim(sid, key, pid, eid or None)

    # undoing an unsubscribe: only on the page that answered it, for a short while
    def undo_unsubscribe(self, subscriber_id: int, key: int, publication_id: int, event_id: int) -> str:
        return self._undo.dumps([subscriber_id, key, publication_id, event_id])

    def read_undo_unsubscribe(self, token: str, max_age: int) -> UndoClaim:
        return UndoClaim(*_ints(self._load(self._undo, token, max_age=max_age), 4))

    # preferences: one subscriber, every publication; carries the edition for tracking
    def preferences(self, subscriber_id: int, key: int, edition_id: int | None = None) -> str:
        return self._preferences_signer.dumps([subscriber_id, key, edition_id or 0])

    def read_preferences(self, token: str) -> PreferencesClaim:
        sid, key, eid = _ints(self._load(self._preferences, token), 3)
        return PreferencesClaim(sid, key, eid or None)

    # a link of an edition (or its open pixel): edition and position, no person
    def click(self, edition_id: int, position: int) -> str:
        return self._click.dumps([edition_id, position + 1])  # +1: the open pixel is -1

    def read_click(self, token: str) -> ClickClaim:
        eid, pos = _ints(self._load(self._click, token), 2)
        return ClickClaim(eid, pos - 1)

    # ... and the message it came in: signed once per message, shared by its links
    def click_message(self, edition_id: int, stamp: int, subscriber_id: int = 0, key: int = 0) -> str:
        return self._click_message_signer.dumps([edition_id, stamp, subscriber_id, key])

    def read_click_message(self, token: str) -> MessageClaim:
        eid, stamp, sid, key = _ints(self._load(self._click_message, token), 4)
        return MessageClaim(eid, stamp, sid or None, key)

    # double opt-in confirmation: expires
    def confirm(self, subscription_id: int, key: int, nonce: int) -> str:
        return self._confirm.dumps([subscription_id, key, nonce])

    def read_confirm(self, token: str, max_age: int) -> ConfirmClaim:
        return ConfirmClaim(*_ints(self._load(self._confirm, token, max_age=max_age), 3))

    # a change of address, confirmed from the new address: expires
    def address_change(self, change_id: int, key: int, nonce: int) -> str:
        return self._address.dumps([change_id, key, nonce])

    def read_address_change(self, token: str, max_age: int) -> AddressClaim:
        return AddressClaim(*_ints(self._load(self._address, token, max_age=max_age), 3))

    # VERP: the envelope sender of one delivery, so that a bounce names the delivery
    def verp(self, delivery_id: int) -> str:
        if not 0 <= delivery_id < 2**63:
            raise ValueError("delivery id out of range")
        return self._verp.dumps(delivery_id.to_bytes(max(1, (delivery_id.bit_length() + 7) // 8), "big"))

    def read_verp(self, token: str) -> int:
        """The delivery id in a VERP token, whatever its case; InvalidToken otherwise."""
        if not 18 <= len((token or "").strip()) <= 29:
            raise InvalidToken("not a bounce token")
        return int.from_bytes(_loaded(self._verp.loads(token, range(1, 9)), "bounce"), "big")

    def verp_address(self, delivery_id: int, domain: str) -> str:
        return f"{VERP_PREFIX}{self.verp(delivery_id)}@{domain}"

    def read_verp_address(self, address: str) -> int:
        """The delivery id of a bounce address (`bounces+TOKEN@domain`, also in angle
        brackets or with a display name, in any case); InvalidToken otherwise."""
        return self.read_verp(_local_token(address, VERP_PREFIX))

    # VERP of a personal email: which email it was, for which row, and the tag of the
    # request or address it went for (a bounce that arrives after a newer request or a
    # change of address is recognised as being about the older one)
    def personal_verp_address(self, kind: PersonalKind, row_id: int, tag: int, domain: str) -> str:
        if not 0 <= row_id <= _ID_MAX or not 0 <= tag < 2**24:  # 0: a rehearsal, naming no row
            raise ValueError("personal VERP values out of range")
        ident = bytes([kind]) + row_id.to_bytes(4, "big") + tag.to_bytes(3, "big")
        return f"{VERP_PREFIX}{self._personal_verp.dumps(ident)}@{domain}"

    def read_personal_verp_address(self, address: str) -> PersonalVerpClaim:
        ident = _loaded(self._personal_verp.loads(_local_token(address, VERP_PREFIX), range(8, 9)), "bounce")
        try:
            kind = PersonalKind(ident[0])
        except ValueError:
            raise InvalidToken("not a bounce token") from None
        return PersonalVerpClaim(kind, int.from_bytes(ident[1:5], "big"), int.from_bytes(ident[5:], "big"))

    def tag(self, value: int | str) -> int:
        """24 bits that recognise a nonce or an address without carrying it."""
        return int.from_bytes(hmac.digest(self._tag_key, str(value).encode(), "sha256")[:3], "big")

    # mailto: unsubscribe: what the unsubscribe link names, in an address
    def mailto_unsubscribe_address(self, subscriber_id: int, key: int, publication_id: int,
                                   edition_id: int | None, domain: str) -> str:
        ident = b"".join([subscriber_id.to_bytes(4, "big"), key.to_bytes(8, "big"), publication_id.to_bytes(4, "big"),
                          (edition_id or 0).to_bytes(4, "big")])  # OverflowError past 32 bits (ids) or 64 (the key)
        return f"{MAILTO_PREFIX}{self._mailto.dumps(ident)}@{domain}"

    def read_mailto_unsubscribe(self, address: str) -> UnsubscribeClaim:
        ident = _loaded(self._mailto.loads(_local_token(address, MAILTO_PREFIX), range(20, 21)), "unsubscribe")
        sid, key, pid, eid = (int.from_bytes(ident[a:b], "big") for a, b in ((0, 4), (4, 12), (12, 16), (16, 20)))
        return UnsubscribeClaim(sid, key, pid, eid or None)

    def csrf(self, subscriber_id: int, key: int) -> str:
        return self._csrf.dumps([subscriber_id, key])

    def check_csrf(self, token: str, subscriber_id: int, key: int, max_age: int = 86400) -> None:
        if self._load(self._csrf, token, max_age=max_age) != [subscriber_id, key]:
            raise InvalidToken("form expired or not from this page")

    @staticmethod
    def _load(serializer, token: str, **kwargs):
        if not token or len(token) > 500:
            raise InvalidToken("missing or malformed link")
        try:
            return serializer.loads(token, **kwargs)
        except SignatureExpired:
            raise InvalidToken("this link has expired") from None
        except BadSignature:
            raise InvalidToken("this link is not valid (it may have been altered)") from None
