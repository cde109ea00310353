"""Telling a link scanner from a reader, by what the request itself shows.

Corporate mail systems (Microsoft Defender's Safe Links, Mimecast, Proofpoint,
Barracuda, ...) open every link of a message, usually within seconds of delivery, and
link previews and browsers prefetch. None of that is a reader. A request is taken for
a scanner, the first rule that matches naming why:

1. `head`: a HEAD request (a check that the link works; browsers follow links with GET);
2. `prefetch`: it says it is one (`Purpose: prefetch`, `Sec-Purpose: prefetch...`,
   `X-Purpose: preview`, `X-Moz: prefetch`);
3. `agent`: no User-Agent, or one of known scanners, crawlers, link previewers, HTTP
   libraries and headless browsers (words below);
4. `early`: within `NEWSLETTER_CLICK_SCANNER_SECONDS` (60) of the message's sending, read
   from the link's message token (render/click_links.py: the send time in 10 s steps,
   so "within 60 s" is measured from the start of the step: a click counts as early
   only when it came less than 60 s after the send, and some up to 70 s after are
   counted as readers).

Everything else is a reader. What this cannot see: a scanner that waits, sends a
browser's User-Agent and says nothing about prefetching is counted as a reader (some
re-scan at click time, which the reader's own click then comes with); a reader who
opens the mail the moment it lands and clicks within the minute is counted as a scanner.
bench/clicks.py measures both on a simulated mix.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum


class ClickKind(StrEnum):
    READER = "reader"
    HEAD = "head"
    PREFETCH = "prefetch"
    AGENT = "agent"
    EARLY = "early"
    OPEN = "open"  # an open pixel's load, as far as it can be told (it cannot: see stats)


SCANNER_KINDS = frozenset({ClickKind.HEAD, ClickKind.PREFETCH, ClickKind.AGENT, ClickKind.EARLY})

# Lower-case words of User-Agents that are never a person clicking.
SCANNER_AGENTS = (
    # mail security gateways and link checkers
    "barracuda", "mimecast", "proofpoint", "urldefense", "safelinks", "safe links", "messagelabs", "symantec",
    "trend micro", "trendmicro", "fireeye", "forcepoint", "sophos", "ironport", "zscaler", "appriver",
    "spamtitan", "mailcontrol", "existence discovery", "google-safety", "virustotal",
    # crawlers and link previews (bots are matched as a word, below: "CUBOT" is a phone)
    "crawler", "spider", "slurp", "facebookexternalhit", "whatsapp", "embedly", "skypeuripreview",
    # HTTP libraries and automation
    "python-requests", "python-urllib", "python-httpx", "aiohttp", "curl/", "wget/", "go-http-client",
    "java/", "okhttp", "libwww-perl", "apache-httpclient", "axios", "node-fetch", "headlesschrome",
    "phantomjs", "scrapy",
)
# "Googlebot/2.1", "Slackbot-LinkExpanding", "bot;", "(+https://example.com/bot)": a crawler's name or address.
_BOT = re.compile(r"[a-z]bot[/-]|(?:^|[^a-z])bot(?:[^a-z]|$)|\+https?://")
_PREFETCH = (("purpose", "prefetch"), ("sec-purpose", "prefetch"), ("x-purpose", "preview"),
             ("x-moz", "prefetch"))


def classify(method: str, headers: Mapping[str, str], sent_at: float | None, now: float,
             early_seconds: int) -> ClickKind:
    """`headers` with lower-case names; `sent_at`: when the message went out (seconds since
    the epoch; None when the link carries no message part)."""
    if method.upper() == "HEAD":
        return ClickKind.HEAD
    for name, word in _PREFETCH:
        if word in headers.get(name, "").lower():
            return ClickKind.PREFETCH
    agent = headers.get("user-agent", "").strip().lower()
    if not agent or _BOT.search(agent) or any(word in agent for word in SCANNER_AGENTS):
        return ClickKind.AGENT
    if sent_at is not None and 0 <= now - sent_at < early_seconds:
        return ClickKind.EARLY
    return ClickKind.READER
