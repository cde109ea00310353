"""Reading a bounce or a complaint: who it is about, what happened, and the traces of
the message it reports on (our VERP address, its Message-ID).

Three shapes, tried in this order:
- RFC 5965 feedback reports (ARF): a message/feedback-report part (Feedback-Type,
  Original-Mail-From, Original-Rcpt-To) and the original message or its headers;
- RFC 3464 delivery-status notifications: per-recipient blocks of a
  message/delivery-status part (Final-Recipient, Original-Recipient, Action, Status,
  Diagnostic-Code), the original message or its headers (text/rfc822-headers);
- anything else that flufl.bounce's heuristics recognise (classic Exim, qmail and
  other plain-text bounces), with the status code read from the text when it has one;
  one without a code that says the user is unknown (Exchange 5.5's "The recipient name
  is not recognized") counts as 5.1.1.

A DSN names the recipient as we sent it in Original-Recipient and, after a rewrite or
forwarding, as the receiving system knows it in Final-Recipient: the first is ours.

What a status means is decided by delivery/failures.py, as for a refusal to RCPT
while sending: 5.1.x and 5.2.1 are hard, 5.2.2/5.2.3 and 4.x.x soft, 5.7.x is the
receiver's policy about us and never the address's fault. A code that says nothing
(x.0.0, or none) next to words of a full mailbox ("quota") is soft too.
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures

from newsletter.bounces.models import BounceKind
from newsletter.delivery.failures import FailureClass, Stage, classify, enhanced_code
from newsletter.errors import InvalidInput
from newsletter.text import one_line


class ReportUnreadable(InvalidInput):
    """The bytes are not a report we can read: no recipient, no feedback type."""


@dataclass(frozen=True)
class RecipientReport:
    address: str  # the recipient the report names ("" when a provider redacted it)
    action: str  # failed, delayed, delivered, relayed, expanded; "complaint" for ARF
    status: str  # an RFC 3463 code, or the ARF Feedback-Type
    diagnostic: str
    kind: BounceKind


@dataclass
class ParsedReport:
    report_type: str  # "arf", "dsn" or "text"
    recipients: list[RecipientReport]
    verp_candidates: list[str] = field(default_factory=list)  # addresses that may be ours, best first
    message_ids: list[str] = field(default_factory=list)  # of the original message

    @property
    def first(self) -> RecipientReport:
        """The recipient that decides: the first failure, else the first of any kind."""
        decisive = [r for r in self.recipients if r.kind not in (BounceKind.DELAYED, BounceKind.OTHER)]
        return (decisive or self.recipients)[0]


# Where the bounce's own envelope recipient (our VERP address) shows, most reliable first.
_ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-rcpt-to", "to")
_RECEIVED_FOR = re.compile(r"\bfor\s+<?([^\s<>;]+@[^\s<>;]+)>?", re.I)
_VERP_ANYWHERE = re.compile(rb"bounces\+[A-Za-z2-7]{18,29}@[A-Za-z0-9.-]+")
_MESSAGE_ID_LINE = re.compile(rb"^message-id:[ \t]*(<[^>\s]{3,250}>)", re.I | re.M)
_SMTP_AND_ENHANCED = re.compile(r"\b[245]\d\d[ -]#?([245]\.\d{1,3}\.\d{1,3})\b")
_ENHANCED_ANYWHERE = re.compile(r"(?<![\d.])#?([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"\b([245]\d\d)\b")
_UNKNOWN_USER = re.compile(r"user unknown|unknown user|unknown recipient|recipient name is not recognized|"
                           r"no such user|no mailbox here by that name", re.I)
_MAILBOX_FULL = re.compile(r"quota|mailbox (?:is )?full", re.I)
COMPLAINT_TYPES = frozenset({"abuse", "fraud"})
_SCAN_CHARS = 8000  # the notification text is at the top; the returned message follows


def parse(raw: bytes) -> ParsedReport:
    """ReportUnreadable when the bytes are not a report; any other exception is a bug
    (the caller stores it with the report, which stays for reprocessing)."""
    if not raw or not raw.strip():
        raise ReportUnreadable("empty report")
    msg = email.message_from_bytes(raw)
    if not msg.keys():
        raise ReportUnreadable("not an email message (no header fields)")
    feedback = _parts(msg, "message/feedback-report")
    if feedback:
        report = ParsedReport("arf", _feedback(feedback[0], msg))
    else:
        blocks = [b for part in _parts(msg, "message/delivery-status") for b in _status_blocks(part)]
        recipients = [r for r in (_dsn_recipient(b) for b in blocks) if r is not None]
        report = ParsedReport("dsn", recipients) if recipients else ParsedReport("text", _heuristic(msg))
    if not report.recipients:
        raise ReportUnreadable("no delivery-status notification, feedback report or bounced recipient found")
    report.verp_candidates = _envelope_candidates(msg, raw)
    report.message_ids = _original_message_ids(msg, raw)
    return report


def kind_of(action: str, status: str, diagnostic: str) -> BounceKind:
    action = action.strip().lower()
    if action.startswith("delayed"):
        return BounceKind.DELAYED
    if action.startswith(("delivered", "relayed", "expanded")):
        return BounceKind.OTHER
    ext = enhanced_code(status) or enhanced_code(_enhanced_in(diagnostic))
    if (ext is None or (ext.subject, ext.detail) == (0, 0)) and _MAILBOX_FULL.search(f"{status} {diagnostic}"):
        return BounceKind.SOFT  # "5.0.0 (recipient reached disk quota)": the mailbox exists
    smtp = _SMTP_CODE.search(diagnostic.partition(";")[2] or diagnostic)
    if ext is None and smtp is None:
        return BounceKind.SOFT  # a failure without a code: no proof the address is gone
    code = int(smtp[1]) if smtp else (550 if ext.klass == 5 else 450)
    if ext is not None and ext.klass in (4, 5) and code // 100 != ext.klass:
        code = 550 if ext.klass == 5 else 450  # the Status field is the one RFC 3464 makes mandatory
    text = f"{ext.klass}.{ext.subject}.{ext.detail}" if ext else ""
    cls = classify(Stage.RCPT, code, text)
    if cls == FailureClass.RECIPIENT_REFUSED:
        return BounceKind.HARD
    if cls == FailureClass.POLICY_REFUSED:
        return BounceKind.POLICY
    return BounceKind.SOFT  # temporary, mailbox full, a refusal of the message


def _parts(msg: Message, content_type: str) -> list[Message]:
    return [p for p in msg.walk() if p.get_content_type() == content_type]


def _address(value: str | None) -> str:
    """`rfc822; ann@example.org` (DSN, address type first) or `<ann@example.org>` (ARF)."""
    value = one_line(str(value or ""))
    kind, semi, rest = value.partition(";")
    if semi and "@" not in kind:
        value = rest
    return parseaddr(value.strip())[1] or value.strip().strip("<>")


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    # Some MTAs send a part the email package does not split: read its blocks ourselves.
    text = payload if isinstance(payload, str) else ""
    return [HeaderParser().parsestr(b.strip() + "\n") for b in re.split(r"\r?\n[ \t]*\r?\n", text) if b.strip()]


def _dsn_recipient(block: Message) -> RecipientReport | None:
    address = _address(block.get("original-recipient")) or _address(block.get("final-recipient"))
    if not address:
        return None  # the per-message block (Reporting-MTA, Arrival-Date)
    action = one_line(block.get("action", "")).lower()
    status = one_line(block.get("status", ""))
    diagnostic = one_line(block.get("diagnostic-code", ""))[:2000]
    return RecipientReport(address, action, status[:16], diagnostic, kind_of(action, status[:200], diagnostic))


def _feedback(part: Message, msg: Message) -> list[RecipientReport]:
    fields = _first_message(part)
    if fields is None or not fields.get("feedback-type"):
        raise ReportUnreadable("feedback report without a Feedback-Type field")
    ftype = one_line(fields["feedback-type"]).lower()[:16]
    kind = BounceKind.COMPLAINT if ftype in COMPLAINT_TYPES else BounceKind.OTHER
    detail = one_line(f"{fields.get('user-agent', '')} {fields.get('reported-domain', '')}")[:500]
    addresses = [_address(v) for v in fields.get_all("original-rcpt-to", [])]
    if not any(addresses):
        original = _original(msg)
        addresses = [a for _, a in getaddresses(original.get_all("to", []))] if original is not None else []
    return [RecipientReport(a, "complaint", ftype, detail, kind) for a in (addresses or [""])]


def _heuristic(msg: Message) -> list[RecipientReport]:
    """flufl.bounce's detectors, for bounces that are not RFC 3464."""
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - its detectors choke on odd input: treat as none found
        return []
    text = _notification_text(msg)
    found = []
    for raw_address, action in [(a, "failed") for a in sorted(permanent)] + [(a, "delayed") for a in sorted(temporary)]:
        address = raw_address.decode("ascii", "replace")
        # One failed address: the whole notice is about it. Several: only the lines that
        # name each one speak for it (a full mailbox beside an unknown user stays soft).
        code, line = _code_in(text if len(permanent) == 1 else _lines_about(text, address))
        status = code if action == "failed" else "4.0.0"
        found.append(RecipientReport(address, action, status, line, kind_of(action, status, line)))
    return found


def _code_in(text: str) -> tuple[str, str]:
    """(the enhanced status code the text gives, or 5.1.1 for words of an unknown user;
    the line that says so)."""
    code, marker = _enhanced_in(text), ""
    if not code and (unknown := _UNKNOWN_USER.search(text)):
        code, marker = "5.1.1", unknown[0]
    return code, next((one_line(x) for x in text.splitlines() if code and (marker or code) in x), "")[:2000]


def _lines_about(text: str, address: str, after: int = 2) -> str:
    """The lines that name `address` and the few after each (where bounces put the reason)."""
    lines, wanted = text.splitlines(), address.lower()
    keep: list[str] = []
    for i, line in enumerate(lines):
        if wanted in line.lower():
            keep.extend(lines[i:i + 1 + after])
    return "\n".join(keep)


def _notification_text(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True) or b""
            try:
                return payload.decode(part.get_content_charset() or "utf-8", "replace")[:_SCAN_CHARS]
            except LookupError:  # a charset Python does not know (ansi_x3.110-1983)
                return payload.decode("utf-8", "replace")[:_SCAN_CHARS]
    return ""


def _enhanced_in(text: str) -> str:
    m = _SMTP_AND_ENHANCED.search(text or "") or _ENHANCED_ANYWHERE.search(text or "")
    return m[1] if m else ""


def _first_message(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str) and payload.strip():
        return HeaderParser().parsestr(payload.lstrip())
    return None


def _original(msg: Message) -> Message | None:
    """The reported message, or its headers."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers") and part is not msg:
            if ctype == "message/rfc822":
                return _first_message(part)
            text = part.get_payload(decode=True) or b""
            return HeaderParser().parsestr(text.decode("utf-8", "replace").lstrip())
    return None


def _envelope_candidates(msg: Message, raw: bytes) -> list[str]:
    found: list[str] = []
    for name in _ENVELOPE_HEADERS:
        found += [a for _, a in getaddresses([one_line(v) for v in msg.get_all(name, [])]) if a]
    for received in msg.get_all("received", []):
        found += _RECEIVED_FOR.findall(one_line(received))
    feedback = _parts(msg, "message/feedback-report")
    fields = _first_message(feedback[0]) if feedback else None
    if fields is not None:
        found += [_address(v) for v in fields.get_all("original-mail-from", [])]
    original = _original(msg)
    if original is not None:
        found += [_address(v) for v in original.get_all("return-path", [])]
    found += [m.decode("ascii") for m in _VERP_ANYWHERE.findall(raw)]
    return list(dict.fromkeys(a for a in found if a))


def _original_message_ids(msg: Message, raw: bytes) -> list[str]:
    ids = []
    original = _original(msg)
    if original is not None and original.get("message-id"):
        ids.append(one_line(original["message-id"]))
    own = one_line(msg.get("message-id", ""))
    ids += [m.decode("ascii", "replace") for m in _MESSAGE_ID_LINE.findall(raw)]
    return [i for i in dict.fromkeys(ids) if i and i != own]
