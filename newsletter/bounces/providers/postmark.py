"""Postmark's bounce and spam-complaint webhooks.

Setup: in the Postmark server's Webhooks, a webhook to `/bounces/postmark` for Bounce
and Spam Complaint, with HTTP basic auth credentials (Postmark's way of authenticating
a webhook) set in NEWSLETTER_POSTMARK_WEBHOOK_USERNAME and _PASSWORD. Without them the
endpoint does not exist.

One event per request, stored as it came, once per RecordType and ID. Postmark keeps no
trace of our VERP address or Message-ID in it: the recipient is matched by address.

Types: HardBounce and BadEmailAddress are judged by our rule on their Details (a "hard"
bounce whose diagnostic is about policy or spam suppresses nobody), and are hard where
the Details prove nothing (common.failure); SoftBounce, Transient and DnsError are
judged so too and never more than soft.
SpamNotification, Blocked, DMARCPolicy, VirusNotification and ContentRelated are about
the message (policy). SpamComplaint is a complaint. The rest (auto-responders, address
changes, challenge verifications, manual deactivations, ...) do nothing.
"""
from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import replace

from newsletter.bounces.models import BounceKind
from newsletter.bounces.parse import ParsedReport, ReportUnreadable
from newsletter.bounces.providers.common import (
    Event,
    Unauthorised,
    classed,
    failure,
    load_json,
    report,
    stored_json,
    text,
)
from newsletter.errors import InvalidInput

K = BounceKind
_HARD = frozenset({"HardBounce", "BadEmailAddress"})
_SOFT = frozenset({"SoftBounce", "Transient", "DnsError"})
_ABOUT_THE_MESSAGE = frozenset({"SpamNotification", "Blocked", "DMARCPolicy", "VirusNotification", "ContentRelated"})
RECORD_TYPES = ("Bounce", "SpamComplaint")


def verify(authorization: str | None, username: str, password: str) -> None:
    """Unauthorised unless the request carries the configured basic auth credentials."""
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        given = b""
    user, _, secret = given.partition(b":")
    # Both compared, in constant time, whichever fails first.
    ok = hmac.compare_digest(user, username.encode()) & hmac.compare_digest(secret, password.encode())
    if scheme.lower() != "basic" or not ok:
        raise Unauthorised("valid basic auth credentials are required")


def events(body: bytes) -> list[Event]:
    data = load_json(body, "Postmark webhook")
    if not isinstance(data, dict):
        raise InvalidInput("the Postmark webhook is not a JSON object")
    record = text(data.get("RecordType"), 32)
    if record not in RECORD_TYPES:
        return []  # deliveries, opens, clicks, subscription changes: nothing of ours
    if not text(data.get("ID"), 64) or not text(data.get("Email"), 320):
        raise InvalidInput(f"the Postmark {record} has no ID or no Email")
    return [Event(f"{record}:{text(data.get('ID'), 64)}", body)]


def read(raw: bytes) -> ParsedReport:
    data = stored_json(raw)
    record, kind = text(data.get("RecordType"), 32), text(data.get("Type"), 32)
    address, details = text(data.get("Email"), 320), text(data.get("Details"))
    label, shown = kind or record, details or text(data.get("Description"))
    if record == "SpamComplaint" or kind == "SpamComplaint":
        found = classed(address, "complaint", label, shown, K.COMPLAINT)
    elif record != "Bounce":
        raise ReportUnreadable(f"a Postmark {record or 'record'} is neither a bounce nor a spam complaint")
    elif kind in _HARD or kind in _SOFT:  # judged on the Details only: the Description is the type's
        found = replace(failure(address, kind in _HARD, "", details, gone=kind in _HARD, label=label),
                        diagnostic=shown)
    elif kind in _ABOUT_THE_MESSAGE:
        found = classed(address, "failed", label, shown, K.POLICY)
    else:
        found = classed(address, kind.lower() or "other", label, shown, K.OTHER)
    return report("postmark", [found], [], [])
