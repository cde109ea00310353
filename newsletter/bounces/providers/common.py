"""What the provider modules share: the error of a bad signature, an event as stored, and
how a provider's verdict becomes one of our classes."""
from __future__ import annotations

import json
from dataclasses import dataclass

from newsletter.bounces.models import BounceKind
from newsletter.bounces.parse import ParsedReport, RecipientReport, ReportUnreadable, kind_of
from newsletter.errors import InvalidInput, NewsletterError
from newsletter.text import one_line

K = BounceKind
_AT_MOST_SOFT = frozenset({K.SOFT, K.POLICY, K.DELAYED, K.OTHER})


class Unauthorised(NewsletterError):
    """The request does not carry the provider's valid signature (or credentials)."""

    status = 401
    title = "Unauthorised"


@dataclass(frozen=True)
class Event:
    key: str  # the provider's id of the event: the same one is stored once
    raw: bytes  # its JSON, as stored and read again by the provider's `read`


def load_json(body: bytes, what: str):
    """The request's JSON; InvalidInput (a 400, nothing stored) when it is not JSON."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput(f"the {what} is not JSON") from None


def dump(event: dict) -> bytes:
    """One event of a batch, stored on its own (SendGrid posts several in one request)."""
    return json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def stored_json(raw: bytes) -> dict:
    """A stored event, read again; ReportUnreadable when it is not an object."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ReportUnreadable("the stored event is not JSON") from None
    if not isinstance(data, dict):
        raise ReportUnreadable("the stored event is not a JSON object")
    return data


def text(value, limit: int = 2000) -> str:
    """A field as one line of text ('' for what is missing or not text)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return one_line(value)[:limit] if isinstance(value, str) else ""


def failure(permanent: bool, status: str, diagnostic: str, gone: bool = False) -> BounceKind:
    """A provider's failed delivery in our classes, conservatively:
    - with a status code or a diagnostic, our rule reads them (parse.kind_of, the rule of
      delivery/failures.py), whatever the provider called the failure: a "permanent"
      refusal whose diagnostic speaks of policy, spam or the sender suppresses nobody;
      and what the provider calls temporary is never more than soft;
    - without either, only the provider's own word that the address does not exist
      (`gone`) is hard; anything else is soft (counted, suppressed past the threshold)."""
    if status or diagnostic:
        kind = kind_of("failed", status, diagnostic)
        # Temporary by the provider's word: whatever would suppress sooner than a soft
        # bounce (hard, or any stronger kind the rule may give) counts as soft.
        return kind if permanent or kind in _AT_MOST_SOFT else K.SOFT
    return K.HARD if permanent and gone else K.SOFT


def report(provider: str, recipients: list[RecipientReport], verp: list[str], message_ids: list[str]) -> ParsedReport:
    if not recipients or not any(r.address for r in recipients):
        raise ReportUnreadable(f"the {provider} event names no recipient")
    return ParsedReport(provider, recipients, [a for a in dict.fromkeys(verp) if a],
                        [m for m in dict.fromkeys(message_ids) if m])


def bracketed(message_id: str) -> str:
    """`<id>` whichever way the provider wrote it."""
    message_id = message_id.strip()
    return f"<{message_id.strip('<>')}>" if message_id else ""
