"""Addresses: as given (`normalise_email`: one spelling per mailbox, for subscribers and
staff accounts alike) and as they go on the wire.

Decided: an IDN domain goes out as IDNA (punycode), in the envelope and in the To
header, so such a message needs nothing special from any relay. A local part that
is not ASCII can only travel with SMTPUTF8 (RFC 6531): the message then carries the
address in UTF-8 (RFC 6532); a relay that does not offer SMTPUTF8 makes that one
delivery fail as undeliverable (not a bounce: the address may well be right).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import idna
from email_validator import EmailNotValidError, validate_email

from newsletter.errors import InvalidInput


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


class InvalidAddress(InvalidInput):
    """An address that is not one (its syntax; nothing is asked of DNS)."""


# The plain ASCII addresses that make up almost every list: a dot-atom local part (RFC
# 5322, email_validator's own pattern) within the lengths it enforces. Their domain is
# validated once per import (cached) instead of once per row: imports run about three
# times faster, and anything else takes email_validator's whole path.
_ATEXT = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
_PLAIN = re.compile(f"([{_ATEXT}]+(?:\\.[{_ATEXT}]+)*)@([A-Za-z0-9.-]+)")


@lru_cache(maxsize=4096)
def _plain_domain(domain: str) -> str | None:
    try:
        normalised = validate_email(f"a@{domain}", check_deliverability=False).domain.lower()
    except EmailNotValidError:
        return None
    return normalised if normalised == domain else None


def normalise_email(address: str) -> str:
    """Validated syntax (no DNS), lower-cased so that one mailbox is one subscriber."""
    address = (address or "").strip()
    plain = _PLAIN.fullmatch(address) if len(address) <= 254 and address.isascii() else None
    if plain and len(plain.group(1)) <= 64 and _plain_domain(plain.group(2).lower()) is not None:
        return address.lower()
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidAddress(f"invalid email address {address!r}: {exc}") from None
