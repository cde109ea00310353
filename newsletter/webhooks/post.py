"""Posting a webhook without letting its URL reach inside the network: the host is
resolved and every address checked (ingest/fetch.py's rule: no loopback, private,
link-local, shared or reserved address unless the settings allow private targets), the
connection made to a checked address (no DNS rebinding), redirects not followed (a 3xx
is an answer that did not take the event), the answer's body not read beyond a little."""
from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

from newsletter.ingest.fetch import (
    FetchError,
    Resolver,
    _PinnedHTTP,
    _PinnedHTTPS,
    anything,
    checked_addresses,
    public_only,
    system_resolver,
)

USER_AGENT = "newsletter-webhooks/1"


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer
    error: str = ""


def url_problem(url: str) -> str:
    """What is wrong with a webhook URL as written ("" when nothing)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url) or len(url) > 2048:
        return "must not contain spaces or control characters (at most 2048 characters)"
    return ""


def target_problem(url: str, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    """Where the URL leads now, refused ("" when allowed)."""
    parts = urlsplit(url)
    try:
        checked_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), resolve,
                          anything if allow_private else public_only)
    except FetchError as exc:
        return str(exc).replace(" (set allow_private = true on a feed that must fetch it)",
                                " (private targets need the setting webhooks_allow_private)")
    return ""


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool,
         resolve: Resolver = system_resolver) -> Answer:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = checked_addresses(parts.hostname, port, resolve, anything if allow_private else public_only)
    except FetchError as exc:
        return Answer(None, str(exc)[:300])
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = cls(parts.hostname, port, addresses, timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers={"User-Agent": USER_AGENT, "Content-Type": "application/json",
                                                       **headers})
        response = conn.getresponse()
        response.read(4096)
        return Answer(response.status)
    except (OSError, http.client.HTTPException, FetchError) as exc:
        if isinstance(exc, TimeoutError) or "timed out" in str(exc):
            return Answer(None, f"no answer within {timeout:g}s")
        return Answer(None, f"{type(exc).__name__}: {exc}"[:300])
    finally:
        conn.release()
