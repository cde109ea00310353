"""The keyed hash that is all that remains of an erased address (in its suppression).

An HMAC under a key derived from the secret key: it answers "was this address erased?"
for whoever already has the address, and nothing to whoever has only the database.
Rotating NEWSLETTER_SECRET_KEY forgets who was erased, as it ends every link.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable


def erased_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"erased-address", hashlib.sha256).digest()


def address_hash(secret: str, email: str) -> str:
    """The normalised address's keyed hash, hex."""
    return hmac.new(erased_key(secret), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def address_hasher(secret: str) -> Callable[[str], str]:
    """address_hash for many addresses: the keyed state is made once (imports, batches)."""
    base = hmac.new(erased_key(secret), digestmod=hashlib.sha256)

    def digest(email: str) -> str:
        h = base.copy()
        h.update(email.strip().lower().encode())
        return h.hexdigest()
    return digest
