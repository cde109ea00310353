"""Staff passwords: Argon2id hashes (argon2-cffi), a minimum standard, and one-time links
to set a password (the link carries a nonce stored on the account; setting a password
clears it, so a link works once)."""
from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from newsletter.errors import InvalidInput
from newsletter.tracking.tokens import InvalidToken

MIN_LENGTH = 12
MAX_LENGTH = 1024  # hashing megabytes of "password" is a denial of service, not a password
LINK_MAX_AGE = 3 * 24 * 3600

_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile


def check_strength(password: str, email: str = "") -> None:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_LENGTH} characters")
    if email and password.strip().lower() in (email.lower(), email.partition("@")[0].lower()):
        raise InvalidInput("a password must not be the address")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify(encoded: str, password: str) -> bool:
    """True when the password matches. An account without a password (or none at all:
    pass "") costs the same time, so the answer's timing names no account."""
    if not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(encoded or _dummy_hash(), password) and bool(encoded)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    return _hasher.check_needs_rehash(encoded)


def new_nonce() -> int:
    return secrets.randbits(62) or 1


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="staff-set-password")


def link_token(secret: str, staff_id: int, nonce: int) -> str:
    return _serializer(secret).dumps([staff_id, nonce])


def read_link_token(secret: str, token: str) -> tuple[int, int]:
    if not token or len(token) > 500:
        raise InvalidToken("missing or malformed link")
    try:
        data = _serializer(secret).loads(token, max_age=LINK_MAX_AGE)
    except SignatureExpired:
        raise InvalidToken("this link has expired; ask an admin for a new one") from None
    except BadSignature:
        raise InvalidToken("this link is not valid (it may have been altered)") from None
    if not (isinstance(data, list) and len(data) == 2 and all(isinstance(x, int) and x > 0 for x in data)):
        raise InvalidToken("malformed link")
    return data[0], data[1]
