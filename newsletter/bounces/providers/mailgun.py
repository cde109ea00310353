"""Mailgun's webhooks (failed and complained events).

Setup: in the Mailgun domain's Webhooks, Permanent Failure, Temporary Failure and Spam
Complaints posting to `/bounces/mailgun`; the domain's HTTP webhook signing key in
NEWSLETTER_MAILGUN_WEBHOOK_SIGNING_KEY. Without it the endpoint does not exist.

Mailgun signs the timestamp and a random token of each request with HMAC-SHA256 under
that key: the signature does not cover the event, so a captured request could carry
another event. Replays are therefore refused: a timestamp further than
NEWSLETTER_WEBHOOK_MAX_AGE_SECONDS from now, or a token seen before (bounces/webhooks.py
keeps them for as long as their timestamp could pass), is a 401.

The request (one event) is stored as it came, once per event id. `message.headers.
message-id` is our Message-ID; `envelope.sender` the MAIL FROM we gave.

Events: failed with severity temporary is a delay (Mailgun is still trying). Permanent:
an address on Mailgun's own bounce or complaint list is soft (we do not have the report
it came from), on its unsubscribe list nothing, and a delivery Mailgun gave up after
retrying ("old") soft; any other is judged by our rule on its delivery status (code,
enhanced code, message: common.failure). complained is a complaint.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from newsletter.bounces.models import BounceKind
from newsletter.bounces.parse import ParsedReport, ReportUnreadable
from newsletter.bounces.providers.common import (
    Event,
    Unauthorised,
    bracketed,
    classed,
    failure,
    load_json,
    report,
    stored_json,
    text,
)
from newsletter.errors import InvalidInput

K = BounceKind
EVENTS = frozenset({"failed", "complained"})
_THEIR_LISTS = frozenset({"suppress-bounce", "suppress-complaint"})


@dataclass(frozen=True)
class Signed:
    token: str  # seen once only (bounces/webhooks.py)
    body: dict


def verify(body: bytes, signing_key: str, now: float, max_age: int) -> Signed:
    data = load_json(body, "Mailgun webhook")
    signature = data.get("signature") if isinstance(data, dict) else None
    if not isinstance(signature, dict):
        raise Unauthorised("the request carries no signature")
    timestamp, token, given = (text(signature.get(k), 256) for k in ("timestamp", "token", "signature"))
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not (timestamp and token and hmac.compare_digest(given.lower().encode(), expected.encode())):
        raise Unauthorised("the signature does not match")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > max_age:
        raise Unauthorised("the signature's timestamp is too old (or in the future)")
    if len(token) > 128:
        raise Unauthorised("the signature's token is too long")
    return Signed(token, data)


def events(signed: Signed, body: bytes) -> list[Event]:
    event = signed.body.get("event-data")
    if not isinstance(event, dict):
        raise InvalidInput("the Mailgun webhook carries no event-data object")
    if text(event.get("event"), 32) not in EVENTS:
        return []
    if not text(event.get("id"), 128) or not text(event.get("recipient"), 320):
        raise InvalidInput("the Mailgun event has no id or no recipient")
    return [Event(text(event.get("id"), 128), body)]


def read(raw: bytes) -> ParsedReport:
    e = stored_json(raw).get("event-data")
    if not isinstance(e, dict):
        raise ReportUnreadable("the Mailgun webhook carries no event-data object")
    event, reason = text(e.get("event"), 32), text(e.get("reason"), 64)
    status = e.get("delivery-status") if isinstance(e.get("delivery-status"), dict) else {}
    enhanced = text(status.get("enhanced-code"), 16)
    diagnostic = f"{text(status.get('code'), 8)} {text(status.get('message')) or text(status.get('description'))}"
    address, diagnostic = text(e.get("recipient"), 320), diagnostic.strip()
    label = enhanced or reason[:16] or event[:16]
    if event == "complained":
        found = classed(address, "complaint", label, diagnostic, K.COMPLAINT)
    elif event != "failed":
        raise ReportUnreadable(f"a Mailgun {event or 'event'} event is neither a failure nor a complaint")
    elif text(e.get("severity"), 16) != "permanent":
        found = classed(address, "delayed", label, diagnostic, K.DELAYED)
    elif reason in _THEIR_LISTS or reason == "old":
        found = classed(address, "failed", label, diagnostic, K.SOFT)
    elif reason == "suppress-unsubscribe":
        found = classed(address, "dropped", label, diagnostic, K.OTHER)
    else:
        found = failure(address, True, enhanced, diagnostic, label=label)
    message = e.get("message") if isinstance(e.get("message"), dict) else {}
    headers = message.get("headers") if isinstance(message.get("headers"), dict) else {}
    envelope = e.get("envelope") if isinstance(e.get("envelope"), dict) else {}
    return report("mailgun", [found], [text(envelope.get("sender"), 320)],
                  [bracketed(text(headers.get("message-id"), 300))])
