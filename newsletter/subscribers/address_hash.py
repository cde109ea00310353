"""The keyed hash that is all that remains of an erased address (in its suppression).

An HMAC under a key derived from the secret key: it answers "was this address erased?"
for whoever already has the address, and nothing to whoever has only the database.
Rotating NEWSLETTER_SECRET_KEY forgets who was erased, as it ends every link.
"""
from __future__ import annotations

import hashlib
import hmac


def erased_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"erased-address", hashlib.sha256).digest()


def address_hash(secret: str, email: str) -> str:
    """The normalised address's keyed hash, hex."""
    return hmac.new(erased_key(secret), email.strip().lower().encode(), hashlib.sha256).hexdigest()
