"""SendGrid's Signed Event Webhook.

Setup: in SendGrid's Mail Settings, the Event Webhook posting to `/bounces/sendgrid` with
the Bounced, Dropped, Spam Reports and Deferred events, and Signed Event Webhook
Requests on; its verification key (base64, as SendGrid shows it, or PEM) in
NEWSLETTER_SENDGRID_WEBHOOK_PUBLIC_KEY. Without it the endpoint does not exist.

SendGrid signs the timestamp followed by the request body with ECDSA on P-256 and
SHA-256, and sends the base64 DER signature and the timestamp in the headers
X-Twilio-Email-Event-Webhook-Signature and -Timestamp. A request posts a batch of
events: each one we act on is stored on its own, as its JSON, once per sg_event_id.
`smtp-id` is the Message-ID we gave the message: the delivery is matched by it.

Events: bounce (type bounce) is judged by our rule on its status and reason (common.failure;
"Invalid Address" makes hard what the rule finds unproven), and SendGrid's
bounce_classification Content, Reputation or Frequency or Volume, or a type of blocked,
make it a refusal of the message (policy: nobody suppressed). dropped for an address on
SendGrid's own bounce or spam-report list is soft (we do not have the report it came
from), for its unsubscribe list or an invalid message nothing. spamreport is a
complaint; deferred a delay.
"""
from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from newsletter.bounces.models import BounceKind
from newsletter.bounces.parse import ParsedReport, ReportUnreadable
from newsletter.bounces.providers.common import (
    Event,
    Unauthorised,
    bracketed,
    classed,
    dump,
    failure,
    load_json,
    report,
    stored_json,
    text,
)
from newsletter.errors import InvalidInput

K = BounceKind
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
EVENTS = frozenset({"bounce", "dropped", "spamreport", "deferred", "blocked"})
_ABOUT_THE_MESSAGE = frozenset({"content", "reputation", "frequency or volume"})
_THEIR_LISTS = frozenset({"bounced address", "spam reporting address"})


def verify(key: ec.EllipticCurvePublicKey, signature: str | None, timestamp: str | None, body: bytes) -> None:
    if not signature or not timestamp:
        raise Unauthorised(f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required")
    try:
        key.verify(base64.b64decode(signature, validate=True), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        raise Unauthorised("the signature does not match the request") from None


def events(body: bytes) -> list[Event]:
    batch = load_json(body, "SendGrid event batch")
    if not isinstance(batch, list) or not all(isinstance(e, dict) for e in batch):
        raise InvalidInput("the SendGrid event batch is not a JSON list of objects")
    kept = [e for e in batch if text(e.get("event"), 32) in EVENTS]
    if any(not text(e.get("email"), 320) for e in kept):
        raise InvalidInput("a SendGrid event names no email")
    return [Event(text(e.get("sg_event_id"), 128), dump(e)) for e in kept]


def read(raw: bytes) -> ParsedReport:
    e = stored_json(raw)
    event, reason, status = text(e.get("event"), 32), text(e.get("reason")), text(e.get("status"), 16)
    address, label = text(e.get("email"), 320), status or event[:16]
    classification = text(e.get("bounce_classification"), 64).lower()
    if event == "bounce" and not (text(e.get("type"), 16) == "blocked" or classification in _ABOUT_THE_MESSAGE):
        found = failure(address, True, status, reason, gone=classification == "invalid address", label=label)
    elif event in ("bounce", "blocked"):  # a block, or SendGrid's own class of a refusal of the message
        found = classed(address, "failed", label, reason, K.POLICY)
    elif event == "dropped":
        found = classed(address, "dropped", label, reason, K.SOFT if reason.lower() in _THEIR_LISTS else K.OTHER)
    elif event == "spamreport":
        found = classed(address, "complaint", label, reason, K.COMPLAINT)
    elif event == "deferred":
        found = classed(address, "delayed", label, text(e.get("response")) or reason, K.DELAYED)
    else:
        raise ReportUnreadable(f"a SendGrid {event or 'event'} event says nothing about the address")
    return report("sendgrid", [found], [], [bracketed(text(e.get("smtp-id"), 300))])
