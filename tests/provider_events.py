"""Provider webhook requests as the providers send them, signed with keys the tests make:
Amazon SNS (an RSA key and its self-signed certificate), SendGrid (an ECDSA P-256 key),
Mailgun (an HMAC key), Postmark (basic auth). The event fields follow each provider's
documentation of its bounce and complaint payloads."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from newsletter.bounces.providers.sns import SIGNED

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"


# Amazon SES through SNS

class SnsSigner:
    """An RSA key and a certificate for it, as SNS's signing certificate would be."""

    def __init__(self, valid_days: int = 30):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=valid_days))
                     .sign(self.key, hashes.SHA256()))
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: dict, cert_url: str, version: str = "1") -> dict:
        message = {**message, "SignatureVersion": version, "SigningCertURL": cert_url}
        data = b"".join(f"{n}\n{message[n]}\n".encode() for n in SIGNED[message["Type"]] if n in message)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        message["Signature"] = base64.b64encode(self.key.sign(data, padding.PKCS1v15(), algorithm)).decode()
        return message


def sns_notification(inner: dict, topic: str = TOPIC) -> dict:
    return {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": topic,
            "Message": json.dumps(inner), "Timestamp": "2026-11-30T06:15:44.000Z",
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe"}


def sns_subscription(subscribe_url: str, topic: str = TOPIC) -> dict:
    return {"Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()), "TopicArn": topic,
            "Token": secrets.token_hex(32), "Message": f"You have chosen to subscribe to the topic {topic}.",
            "SubscribeURL": subscribe_url, "Timestamp": "2026-11-30T06:00:00.000Z"}


def ses_mail(recipient: str, source: str = "newsletter@spacewar.example.com", message_id: str = "") -> dict:
    headers = [{"name": "From", "value": "SpaceWar Daily <newsletter@spacewar.example.com>"},
               {"name": "To", "value": recipient}]
    if message_id:
        headers.append({"name": "Message-ID", "value": message_id})
    return {"timestamp": "2026-11-30T06:12:05.000Z", "source": source, "messageId": str(uuid.uuid4()),
            "destination": [recipient], "headersTruncated": False, "headers": headers,
            "commonHeaders": {"from": ["newsletter@spacewar.example.com"], "to": [recipient],
                              **({"messageId": message_id} if message_id else {})}}


def ses_bounce(recipient: str, bounce_type: str = "Permanent", subtype: str = "General", status: str = "5.1.1",
               diagnostic: str = "smtp; 550 5.1.1 user unknown", **mail) -> dict:
    bounced = {"emailAddress": recipient, "action": "failed"}
    if status:
        bounced["status"] = status
    if diagnostic:
        bounced["diagnosticCode"] = diagnostic
    return {"notificationType": "Bounce", "mail": ses_mail(recipient, **mail),
            "bounce": {"bounceType": bounce_type, "bounceSubType": subtype, "bouncedRecipients": [bounced],
                       "timestamp": "2026-11-30T06:15:44.000Z", "feedbackId": str(uuid.uuid4()),
                       "reportingMTA": "dsn; a8-1.smtp-out.amazonses.com"}}


def ses_complaint(recipient: str, feedback_type: str | None = "abuse", **mail) -> dict:
    complaint = {"complainedRecipients": [{"emailAddress": recipient}], "timestamp": "2026-11-30T07:00:00.000Z",
                 "feedbackId": str(uuid.uuid4()), "userAgent": "Yahoo!-Mail-Feedback/2.0"}
    if feedback_type is not None:
        complaint["complaintFeedbackType"] = feedback_type
    return {"notificationType": "Complaint", "mail": ses_mail(recipient, **mail), "complaint": complaint}


# Postmark

def postmark_bounce(recipient: str, kind: str = "HardBounce", details: str = "smtp;550 5.1.1 The email account "
                    "that you tried to reach does not exist", record: str = "Bounce", ident: int | None = None) -> dict:
    return {"RecordType": record, "ID": ident or secrets.randbelow(10**9), "Type": kind, "TypeCode": 1,
            "Name": kind, "MessageID": str(uuid.uuid4()), "ServerID": 23, "MessageStream": "outbound",
            "Description": "The server was unable to deliver your message", "Details": details,
            "Email": recipient, "From": "newsletter@spacewar.example.com", "BouncedAt": "2026-11-30T06:15:44Z",
            "DumpAvailable": False, "Inactive": True, "CanActivate": True, "Subject": "Today's headlines"}


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# SendGrid

class SendGridSigner:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public = base64.b64encode(der).decode()  # as SendGrid shows the verification key

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        signature = self.key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp, "Content-Type": "application/json"}


def sendgrid_event(recipient: str, event: str = "bounce", **fields) -> dict:
    base = {"email": recipient, "timestamp": 1796019344, "event": event, "sg_event_id": secrets.token_urlsafe(16),
            "sg_message_id": secrets.token_urlsafe(12) + ".filter0001", "category": ["daily"]}
    if event == "bounce":
        base.update({"type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 The email account does not exist",
                     "bounce_classification": "Invalid Address"})
    return {**base, **fields}


# Mailgun

def mailgun_request(key: str, event: dict, timestamp: int | None = None, token: str | None = None) -> dict:
    timestamp = str(timestamp if timestamp is not None else int(time.time()))
    token = token or secrets.token_hex(25)
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event}


def mailgun_failed(recipient: str, severity: str = "permanent", reason: str = "bounce", code: int = 550,
                   message: str = "5.1.1 The email account that you tried to reach does not exist",
                   message_id: str = "", sender: str = "newsletter@spacewar.example.com") -> dict:
    return {"event": "failed", "id": secrets.token_urlsafe(16), "timestamp": 1796019344.5, "severity": severity,
            "reason": reason, "recipient": recipient, "envelope": {"sender": sender, "transport": "smtp"},
            "delivery-status": {"code": code, "message": message, "description": "", "attempt-no": 1},
            "message": {"headers": {"to": recipient, "message-id": message_id.strip("<>"),
                                    "from": "newsletter@spacewar.example.com", "subject": "Today's headlines"}}}


def mailgun_complained(recipient: str, message_id: str = "") -> dict:
    return {"event": "complained", "id": secrets.token_urlsafe(16), "timestamp": 1796019344.5,
            "recipient": recipient, "message": {"headers": {"message-id": message_id.strip("<>")}}}
