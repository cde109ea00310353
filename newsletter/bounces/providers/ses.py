"""Amazon SES bounce and complaint notifications, delivered by Amazon SNS over HTTPS.

Setup: an SNS topic that SES publishes Bounce and Complaint notifications to (or event
publishing of the same events), an HTTPS subscription to `/bounces/ses`, and the topic's
ARN in NEWSLETTER_SES_TOPIC_ARNS: SNS signs messages of anyone's topics, so only the
topics named there are accepted (and confirmed). The subscription confirms itself: the
first message, SubscriptionConfirmation, is verified and its SubscribeURL fetched.

Stored: the SNS message as it came (its signature can be checked again). Read: every
bounced or complained recipient; `mail.source` is the MAIL FROM we gave SES, our VERP
address when the publication uses VERP; the original Message-ID comes from the headers
SES passes along.

Bounce types: each bounced recipient is a finding judged by our rule on the status and
diagnostic SES passes on (common.failure); the subtypes that say the address does not
exist (NoEmail, and SES's suppression lists, which hold addresses that bounced hard) make
hard what the rule finds unproven, never a diagnostic of policy or spam.
Transient is never more than soft; content and attachment refusals and messages too
large are about the message (policy: nobody suppressed). Complaints without a feedback
type, or of type abuse or fraud, are complaints; not-spam, virus, auth-failure and
other reports do nothing.
"""
from __future__ import annotations

import json

from newsletter.bounces.models import BounceKind
from newsletter.bounces.parse import ParsedReport, RecipientReport, ReportUnreadable
from newsletter.bounces.providers.common import (
    Event,
    bracketed,
    classed,
    failure,
    load_json,
    report,
    stored_json,
    text,
)
from newsletter.bounces.providers.sns import Sns
from newsletter.errors import Forbidden, InvalidInput

K = BounceKind
_GONE = frozenset({"NoEmail", "Suppressed", "OnAccountSuppressionList"})
_ABOUT_THE_MESSAGE = frozenset({"ContentRejected", "AttachmentRejected", "MessageTooLarge"})
_COMPLAINTS = frozenset({"", "abuse", "fraud"})


def verify(body: bytes, sns: Sns, topics: frozenset[str]) -> dict:
    """The SNS message, signed by SNS for one of our topics; Unauthorised (a bad or missing
    signature), Forbidden (another topic) or InvalidInput (not JSON) otherwise."""
    message = load_json(body, "SNS message")
    if not isinstance(message, dict):
        raise InvalidInput("the SNS message is not a JSON object")
    sns.verify(message)
    if message.get("TopicArn") not in topics:
        raise Forbidden("this SNS topic is not one of NEWSLETTER_SES_TOPIC_ARNS")
    return message


def events(message: dict, body: bytes) -> list[Event]:
    """A verified Notification of a bounce or a complaint: the message itself, once per
    MessageId. Other notifications (deliveries, sends, opens) are not kept."""
    if message.get("Type") != "Notification":
        return []
    try:
        notification = json.loads(message["Message"])
    except (TypeError, json.JSONDecodeError):
        raise InvalidInput("the SNS notification does not carry an SES event (JSON)") from None
    if not isinstance(notification, dict):
        raise InvalidInput("the SNS notification does not carry an SES event (a JSON object)")
    if (notification.get("notificationType") or notification.get("eventType")) not in ("Bounce", "Complaint"):
        return []
    return [Event(str(message.get("MessageId", "")), body)]


def read(raw: bytes) -> ParsedReport:
    try:
        notification = json.loads(stored_json(raw).get("Message", ""))
    except (TypeError, json.JSONDecodeError):
        raise ReportUnreadable("the SNS message carries no SES event") from None
    if not isinstance(notification, dict):
        raise ReportUnreadable("the SNS message carries no SES event")
    kind = notification.get("notificationType") or notification.get("eventType")
    mail = notification.get("mail") if isinstance(notification.get("mail"), dict) else {}
    if kind == "Bounce":
        recipients = _bounced(_object(notification, "bounce"))
    elif kind == "Complaint":
        recipients = _complained(_object(notification, "complaint"))
    else:
        raise ReportUnreadable(f"an SES {text(kind) or 'event'} notification is neither a bounce nor a complaint")
    return report("ses", recipients, [text(mail.get("source"), 320), text(mail.get("returnPath"), 320)],
                  _message_ids(mail))


def _object(data: dict, name: str) -> dict:
    value = data.get(name)
    if not isinstance(value, dict):
        raise ReportUnreadable(f"the SES event has no {name} object")
    return value


def _list(data: dict, name: str) -> list[dict]:
    value = data.get(name)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _bounced(bounce: dict) -> list[RecipientReport]:
    kind, subtype = text(bounce.get("bounceType")), text(bounce.get("bounceSubType"))
    label = f"SES {kind} {subtype}"
    found = []
    for r in _list(bounce, "bouncedRecipients"):
        address, status, diagnostic = text(r.get("emailAddress"), 320), text(r.get("status"), 16), \
            text(r.get("diagnosticCode"))
        if subtype in _ABOUT_THE_MESSAGE:
            found.append(classed(address, "failed", status or f"{kind}/{subtype}", diagnostic or label, K.POLICY))
        else:
            found.append(failure(address, kind == "Permanent", status, diagnostic, gone=subtype in _GONE,
                                 label=label))
    return found


def _complained(complaint: dict) -> list[RecipientReport]:
    ftype = text(complaint.get("complaintFeedbackType"), 16).lower()
    kind = K.COMPLAINT if ftype in _COMPLAINTS else K.OTHER
    detail = text(complaint.get("userAgent"), 500)
    return [classed(text(r.get("emailAddress"), 320), "complaint", ftype or "abuse", detail, kind)
            for r in _list(complaint, "complainedRecipients")]


def _message_ids(mail: dict) -> list[str]:
    ids = [text(h.get("value"), 300) for h in _list(mail, "headers") if text(h.get("name")).lower() == "message-id"]
    common = mail.get("commonHeaders")
    if isinstance(common, dict):
        ids.append(text(common.get("messageId"), 300))
    return [bracketed(i) for i in ids]
