"""Bounces and complaints that arrive after sending: the mailbox beat reads, the relay's
and the providers' webhooks, the Feedback-ID, and when bounces suppress an address.

Part of newsletter.config.Settings (import from there).
"""
from __future__ import annotations

import base64
import binascii
from typing import Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, Field, field_validator, model_validator


class BounceSettings(BaseModel):
    """Bounce mailboxes, webhooks and thresholds (a group of Settings' fields)."""

    # Bounces and complaints that arrive later (newsletter/bounces/): where beat reads them
    # ("" none, a Maildir folder, an mbox file, or "imap" with the bounce_imap_* settings),
    # how often, and the shared secret a relay posts raw reports with (empty: endpoint off).
    bounce_mailbox: str = ""
    bounce_poll_seconds: int = Field(default=300, ge=10)
    bounce_imap_host: str = ""
    bounce_imap_port: int = Field(default=993, ge=1, le=65535)
    bounce_imap_ssl: bool = True
    bounce_imap_username: str = ""
    bounce_imap_password: str = ""
    bounce_imap_folder: str = "INBOX"
    bounce_webhook_secret: str = ""
    bounce_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    # Providers' signed webhooks of bounces and complaints (bounces/providers/; each
    # endpoint exists only when its setting is set). SES through SNS: the topic ARNs to
    # accept, comma-separated; SNS's certificates come from SNS hosts only (extra URL
    # prefixes to trust: for tests, never in production). Postmark: basic auth. SendGrid:
    # the Signed Event Webhook's verification key. Mailgun: the webhook signing key; its
    # requests are refused past this age (either way), as are tokens seen before.
    ses_topic_arns: str = ""
    sns_extra_urls: str = ""
    postmark_webhook_username: str = ""
    postmark_webhook_password: str = ""
    sendgrid_webhook_public_key: str = ""
    mailgun_webhook_signing_key: str = ""
    webhook_max_age_seconds: int = Field(default=300, ge=30, le=24 * 3600)
    # Gmail's feedback loop: the SenderId of every edition's Feedback-ID header (5 to 15
    # characters, the same for all your mail; empty: no header). delivery/compose.py
    feedback_sender_id: str = Field(default="newsletter", pattern=r"^([A-Za-z0-9._-]{5,15})?$")
    # Soft bounces (mailbox full, 4.x.x, ...) suppress only when this many editions bounced
    # softly within the window, like Mailman's bounce score. Policy refusals (5.7.x) never do.
    soft_bounce_threshold: int = Field(default=5, ge=1)
    soft_bounce_window_days: int = Field(default=14, ge=1, le=365)
    # A permanent failure that proves nothing about the address (a bare 550, a 5.0.0 with no
    # words: bounces/verdict.py) suppresses when this many editions failed so within the window.
    uncertain_bounce_threshold: int = Field(default=2, ge=1)

    @field_validator("sendgrid_webhook_public_key")
    @classmethod
    def _a_p256_key(cls, value: str) -> str:
        if value:
            p256_public_key(value)  # ValueError, with what is wrong
        return value

    @model_validator(mode="after")
    def _postmark_both(self) -> Self:
        if bool(self.postmark_webhook_username) != bool(self.postmark_webhook_password):
            raise ValueError("NEWSLETTER_POSTMARK_WEBHOOK_USERNAME and _PASSWORD go together (or neither)")
        return self

    @property
    def ses_topics(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.ses_topic_arns.split(",") if t.strip())


def p256_public_key(value: str) -> ec.EllipticCurvePublicKey:
    """A webhook verification key as SendGrid shows it (base64 of DER) or as PEM; ValueError
    when it is not a P-256 public key."""
    value = value.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(value.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("not a public key (base64 DER or PEM)") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not an ECDSA P-256 public key")
    return key
