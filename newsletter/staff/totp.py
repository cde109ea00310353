"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), the second factor of
staff sign-in, and the secret's storage and enrolment QR code.

Our own few lines rather than a library: the algorithm is one HMAC and a truncation,
checked against the RFC's own test vectors (tests/unit/staff/test_totp.py); what a
library would not do for us is the part that matters here: a code is accepted once
(the time step of the last accepted code is kept on the account and only later steps
pass), one step either side of now is allowed for clocks that drift, and the secret is
stored encrypted under a key derived from NEWSLETTER_SECRET_KEY (a copy of the database
alone gives nobody the second factors).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

from cryptography.fernet import Fernet, InvalidToken

STEP = 30  # seconds (RFC 6238's default, and every authenticator app's)
DIGITS = 6
DRIFT = 1  # steps accepted either side of now


def new_secret() -> str:
    """160 random bits (RFC 4226's recommended length), base32 as authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def _key(secret: str) -> bytes:
    return base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """RFC 4226 section 5.3: HMAC of the counter, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def code_at(secret: str, when: float, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    return hotp(_key(secret), int(when // STEP), digits, digest)


def step_of(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step the code belongs to, if it is right for now (give or take DRIFT
    steps) and later than the last accepted one; None otherwise."""
    code = "".join(code.split())
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    now_step = int((time.time() if now is None else now) // STEP)
    key = _key(secret)
    found = None
    for step in range(now_step - DRIFT, now_step + DRIFT + 1):  # every candidate, in constant time
        if hmac.compare_digest(hotp(key, step), code) and step > last_step:
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI authenticator apps read from the QR code (Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": issuer, "period": STEP,
                                                   "digits": DIGITS, "algorithm": "SHA1"})


def qr_svg(uri: str) -> str:
    """An inline <svg> of the QR code (segno: pure Python, no other dependency); the page's
    Content-Security-Policy loads nothing for it."""
    import segno

    return segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#111", light="#fff",
                                                 title="QR code of your second-factor secret")


def _fernet(signing_key: str) -> Fernet:
    derived = hashlib.sha256(b"newsletter staff totp secret\0" + signing_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(signing_key: str, secret: str) -> str:
    return _fernet(signing_key).encrypt(secret.encode()).decode()


def unseal(signing_key: str, stored: str) -> str:
    """The secret; "" if it cannot be read (the secret key changed): no code will pass."""
    try:
        return _fernet(signing_key).decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return ""
