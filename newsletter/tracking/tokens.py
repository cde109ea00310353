"""Signed tokens for subscriber links (itsdangerous).

Tokens name ids, never the email address. Each purpose has its own salt, so a
token made for one purpose is refused by every other.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode


class InvalidToken(ValueError):
    """Forged, tampered with, expired, or naming someone who no longer exists."""


@dataclass(frozen=True)
class UnsubscribeClaim:
    subscriber_id: int
    publication_id: int
    edition_id: int | None


def _dumps_ints(signer, values: list[int]) -> str:
    """What URLSafeSerializer.dumps makes of a short list of ints, without its attempt
    to compress (which never wins on a few bytes): compact JSON, base64, signature.
    The serializer's own loads reads it back."""
    payload = base64_encode(json.dumps(values, separators=(",", ":")).encode())
    return signer.sign(payload).decode("ascii")


class Tokens:
    def __init__(self, secret: str):
        # Compact serialisers: payloads are short lists of ints.
        self._unsubscribe = URLSafeSerializer(secret, salt="unsubscribe")
        self._preferences = URLSafeSerializer(secret, salt="preferences")
        # Made once: two tokens are signed for every message sent.
        self._unsubscribe_signer = self._unsubscribe.make_signer()
        self._preferences_signer = self._preferences.make_signer()
        self._confirm = URLSafeTimedSerializer(secret, salt="confirm-subscription")
        self._csrf = URLSafeTimedSerializer(secret, salt="csrf")

    # unsubscribe: one subscriber, one publication, the edition the link came from
    def unsubscribe(self, subscriber_id: int, publication_id: int, edition_id: int | None) -> str:
        return _dumps_ints(self._unsubscribe_signer, [subscriber_id, publication_id, edition_id or 0])

    def read_unsubscribe(self, token: str) -> UnsubscribeClaim:
        data = self._load(self._unsubscribe, token)
        if not (isinstance(data, list) and len(data) == 3 and all(isinstance(x, int) for x in data)):
            raise InvalidToken("malformed link")
        return UnsubscribeClaim(data[0], data[1], data[2] or None)

    # preferences: one subscriber, every publication; carries the edition for tracking
    def preferences(self, subscriber_id: int, edition_id: int | None = None) -> str:
        return _dumps_ints(self._preferences_signer, [subscriber_id, edition_id or 0])

    def read_preferences(self, token: str) -> tuple[int, int | None]:
        data = self._load(self._preferences, token)
        if not (isinstance(data, list) and len(data) == 2 and all(isinstance(x, int) for x in data)):
            raise InvalidToken("malformed link")
        return data[0], data[1] or None

    # double opt-in confirmation: expires
    def confirm(self, subscription_id: int) -> str:
        return self._confirm.dumps(subscription_id)

    def read_confirm(self, token: str, max_age: int) -> int:
        data = self._load(self._confirm, token, max_age=max_age)
        if not isinstance(data, int):
            raise InvalidToken("malformed link")
        return data

    def csrf(self, subscriber_id: int) -> str:
        return self._csrf.dumps(subscriber_id)

    def check_csrf(self, token: str, subscriber_id: int, max_age: int = 86400) -> None:
        if self._load(self._csrf, token, max_age=max_age) != subscriber_id:
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
