"""Amazon SNS messages, verified as AWS documents it (how Amazon SES reports over HTTPS).

Each message is signed with the private key of a certificate SNS publishes at
`SigningCertURL`: SignatureVersion 1 is RSA with SHA-1, 2 is RSA with SHA-256, over the
message's own fields in a fixed order ("Name\\nvalue\\n" each). The certificate is taken
only from an https URL on an SNS host (`sns.<region>.amazonaws.com`, or `.com.cn`), and
only a .pem file there; anything else is refused before any request is made, so a
forged message cannot make us fetch what it likes. Certificates are fetched once and
kept for the life of the process.

A subscription is confirmed by fetching its SubscribeURL, only on an SNS host too.

`extra_urls` (NEWSLETTER_SNS_EXTRA_URLS) adds URL prefixes to trust besides SNS's
hosts: for tests, which serve a certificate of their own from a local server. Production
leaves it empty.
"""
from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from newsletter.bounces.providers.common import Unauthorised
from newsletter.errors import Unavailable

SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?")
# The fields each type of message signs, in the order they are signed (Subject only when present).
SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
_MAX_FETCH = 64 * 1024


def on_sns_host(url: str, path_suffix: str = "") -> bool:
    """https, on an SNS host exactly (no user, no other port), the path ending as asked."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (parts.scheme == "https" and parts.hostname is not None and SNS_HOST.fullmatch(parts.hostname) is not None
            and port in (None, 443) and parts.username is None and parts.password is None
            and parts.path.endswith(path_suffix))


def _urlopen(url: str, timeout: float) -> bytes:
    # Redirects are not followed: the allow-list is about where the bytes come from.
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(url, timeout=timeout) as answer:
        data = answer.read(_MAX_FETCH + 1)
    if len(data) > _MAX_FETCH:
        raise ValueError("answer too large")
    return data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Sns:
    """Certificates by URL (fetched once) and subscription confirmations, for one process."""

    def __init__(self, extra_urls: tuple[str, ...] = (), timeout: float = 10.0,
                 fetch: Callable[[str, float], bytes] = _urlopen):
        self.extra_urls = tuple(u for u in extra_urls if u)
        self.timeout, self._fetch = timeout, fetch
        self._certificates: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def _extra(self, url: str) -> bool:
        return any(url.startswith(prefix) for prefix in self.extra_urls)

    def certificate(self, url: str) -> x509.Certificate:
        if not (on_sns_host(url, ".pem") or self._extra(url)):
            raise Unauthorised("the signing certificate is not on an Amazon SNS host")
        with self._lock:
            known = self._certificates.get(url)
        if known is not None:
            return known
        try:
            cert = x509.load_pem_x509_certificate(self._fetch(url, self.timeout))
        except ValueError:
            raise Unauthorised("the signing certificate cannot be read") from None
        except (OSError, urllib.error.URLError) as exc:
            raise Unavailable(f"the signing certificate could not be fetched ({type(exc).__name__})") from None
        with self._lock:
            self._certificates[url] = cert
        return cert

    def verify(self, message: dict, now: datetime | None = None) -> None:
        """Unauthorised unless SNS signed this message."""
        kind = message.get("Type")
        if kind not in SIGNED:
            raise Unauthorised("not an Amazon SNS message")
        algorithm = _HASHES.get(message.get("SignatureVersion"))
        if algorithm is None:
            raise Unauthorised("unknown SignatureVersion")
        signed = b""
        for name in SIGNED[kind]:
            value = message.get(name)
            if value is None and name == "Subject":
                continue
            if not isinstance(value, str):
                raise Unauthorised(f"the signed field {name} is missing")
            signed += f"{name}\n{value}\n".encode()
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        except (binascii.Error, ValueError):
            raise Unauthorised("the signature is not base64") from None
        cert = self.certificate(str(message.get("SigningCertURL", "")))
        now = now or datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise Unauthorised("the signing certificate is not valid now")
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise Unauthorised("the signing certificate does not hold an RSA key")
        try:
            key.verify(signature, signed, padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise Unauthorised("the signature does not match the message") from None

    def confirm(self, message: dict) -> None:
        """Confirm a subscription (a verified SubscriptionConfirmation): fetch its SubscribeURL."""
        url = str(message.get("SubscribeURL", ""))
        if not (on_sns_host(url) or self._extra(url)):
            raise Unauthorised("the SubscribeURL is not on an Amazon SNS host")
        try:
            self._fetch(url, self.timeout)
        except (OSError, ValueError, urllib.error.URLError) as exc:
            raise Unavailable(f"the subscription could not be confirmed ({type(exc).__name__})") from None
