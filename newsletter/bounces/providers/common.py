"""What the provider modules share: the error of a bad signature, an event as stored, and
how a provider's event becomes a recipient's finding, judged by our one rule."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

from newsletter.bounces.models import BounceKind
from newsletter.bounces.parse import ParsedReport, RecipientReport, ReportUnreadable, finding
from newsletter.bounces.verdict import says_why
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


def failure(address: str, permanent: bool, status: str, diagnostic: str, gone: bool = False,
            label: str = "") -> RecipientReport:
    """A failed delivery the provider reports, judged like a mailed report's recipient: our
    rule (parse.finding, bounces/verdict.py) reads the status and the diagnostic the
    provider passed on, whatever the provider called the failure. So:
    - a "permanent" failure whose diagnostic speaks of policy, spam or the sender is a
      refusal of us (policy) and suppresses nobody; a bare 550 is uncertain, as in a DSN;
    - what the provider calls temporary is never more than soft;
    - the provider's own word that the address does not exist (`gone`: SES's NoEmail,
      Postmark's HardBounce, SendGrid's "Invalid Address") makes hard what our rule finds
      unproven (a bare 550, or nothing said), never words of policy or of a full mailbox;
    - a permanent failure that says nothing, without that word, is soft (counted).
    `label` stands in lists for the status and diagnostic the provider did not give."""
    found = finding(address, "failed", status, diagnostic)
    kind = found.kind
    if not permanent:
        kind = kind if kind in _AT_MOST_SOFT else K.SOFT
    elif gone and (kind == K.UNCERTAIN or not says_why(f"{status} {diagnostic}")):
        kind = K.HARD
    return replace(found, kind=kind, status=(status or label)[:16], diagnostic=found.diagnostic or label[:2000])


def classed(address: str, action: str, status: str, detail: str, kind: BounceKind) -> RecipientReport:
    """What the provider itself classes, with no failure of the address to judge: a
    complaint, a refusal of the message by category (policy), a delay, an address on its
    own suppression list (soft: we do not have the report it came from), or nothing."""
    return RecipientReport(address, action, status[:16], text(detail), kind)


def report(provider: str, recipients: list[RecipientReport], verp: list[str], message_ids: list[str]) -> ParsedReport:
    if not recipients or not any(r.address for r in recipients):
        raise ReportUnreadable(f"the {provider} event names no recipient")
    return ParsedReport(provider, recipients, [a for a in dict.fromkeys(verp) if a],
                        [m for m in dict.fromkeys(message_ids) if m])


def bracketed(message_id: str) -> str:
    """`<id>` whichever way the provider wrote it."""
    message_id = message_id.strip()
    return f"<{message_id.strip('<>')}>" if message_id else ""
