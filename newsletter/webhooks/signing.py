"""Signing a webhook's body, and checking a signature as a receiver should.

The header `Newsletter-Signature: t=<unix seconds>,v1=<hex>` carries the time of the
attempt and HMAC-SHA256, keyed with the endpoint's secret, of `<t>.<the raw body>`.
A receiver recomputes it over the bytes it received (before parsing the JSON), compares
in constant time, and refuses a `t` further than its window (five minutes) from its own
clock, so that a captured request cannot be replayed later; within the window, the
`id` in the body (also in `Newsletter-Event-Id`) tells a repeat from a new event.
Every attempt is signed afresh: a retry carries a new `t`, the same id.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "Newsletter-Signature"
WINDOW_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, value: str, body: bytes, now: float, window: int = WINDOW_SECONDS) -> bool:
    """Whether `value` (the header) signs `body` with `secret`, made within `window` seconds of `now`."""
    parts = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > window:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), parts.get("v1", ""))
