"""Addresses as they go on the wire.

Decided: an IDN domain goes out as IDNA (punycode), in the envelope and in the To
header, so such a message needs nothing special from any relay. A local part that
is not ASCII can only travel with SMTPUTF8 (RFC 6531): the message then carries the
address in UTF-8 (RFC 6532); a relay that does not offer SMTPUTF8 makes that one
delivery fail as undeliverable (not a bounce: the address may well be right).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import idna


@dataclass(frozen=True)
class WireAddress:
    address: str  # local@ascii-domain; the local part may still be UTF-8
    domain: str  # ASCII (punycode), lower case: for limits and holds
    needs_smtputf8: bool


@lru_cache(maxsize=4096)
def ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except idna.IDNAError:
        return domain.encode("idna").decode("ascii").lower()  # IDNA 2003 as a last resort


def wire_address(email: str) -> WireAddress:
    local, _, domain = email.rpartition("@")
    wire_domain = ascii_domain(domain)
    return WireAddress(f"{local}@{wire_domain}", wire_domain, not local.isascii())
