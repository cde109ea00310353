"""Signed bytes that live in the local part of an email address: the VERP bounce
addresses and the mailto: unsubscribe address (tracking/tokens.py says what each holds).

A token is lower-case base32 of the bytes followed by an 80-bit HMAC under a key of the
token's own purpose: mail systems may change the case of a local part, and base32 reads
the same either way. `loads` answers None for anything that is not one of ours
(malformed, of another size, or with a wrong MAC); tokens.py turns that into its one
error, InvalidToken.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from email.utils import parseaddr

from itsdangerous import Signer

MAC_BYTES = 10
_TOKEN = re.compile(r"[a-z2-7]{2,48}")
_B32_PAIRS = [a + b for a in "abcdefghijklmnopqrstuvwxyz234567" for b in "abcdefghijklmnopqrstuvwxyz234567"]


def b32(data: bytes) -> str:
    """base64.b32encode, lower case and unpadded, one lookup per 10 bits: made for every
    message sent, this is a few microseconds less than the standard library's."""
    bits = len(data) * 8
    pairs = -(-bits // 10)
    n = int.from_bytes(data, "big") << (pairs * 10 - bits)
    return "".join([_B32_PAIRS[(n >> s) & 1023] for s in range(pairs * 10 - 10, -10, -10)])[:-(-bits // 5)]


class LocalPartSigner:
    def __init__(self, secret: str, salt: str):
        # itsdangerous derives the key for the purpose; the MAC is ours (its signatures
        # are case-sensitive base64). Made once: one token per message sent.
        self._key = Signer(secret, salt=salt, digest_method=hashlib.sha256).derive_key()

    def dumps(self, ident: bytes) -> str:
        return b32(ident + self._mac(ident))

    def loads(self, token: str, sizes: range) -> bytes | None:
        """The bytes, whatever the token's case, if their size is one of `sizes` and the
        MAC is right; None otherwise."""
        token = (token or "").strip().lower()
        if not _TOKEN.fullmatch(token):
            return None
        try:
            raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
        except binascii.Error:
            return None
        ident, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        if len(ident) not in sizes or not hmac.compare_digest(mac, self._mac(ident)):
            return None
        return ident

    def _mac(self, ident: bytes) -> bytes:
        return hmac.digest(self._key, ident, "sha256")[:MAC_BYTES]


def token_of(address: str, prefix: str) -> str | None:
    """The token of `prefix<token>@domain` (in angle brackets, with a display name, in any
    case); None for another address. The domain is not checked: the signature is what
    counts, and the bounce domain may change."""
    addr = parseaddr(address or "")[1] or (address or "").strip()
    local, at, _ = addr.rpartition("@")
    if not at or not local.lower().startswith(prefix):
        return None
    return local[len(prefix):]
