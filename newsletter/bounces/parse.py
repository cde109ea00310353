"""Reading a bounce or a complaint: who it is about, what happened, and the traces of
the message it reports on (our VERP address, its Message-ID).

Three shapes, tried in this order:
- RFC 5965 feedback reports (ARF): a message/feedback-report part (Feedback-Type,
  Original-Mail-From, Original-Rcpt-To) and the original message or its headers;
- RFC 3464 delivery-status notifications: per-recipient blocks of a
  message/delivery-status part (Final-Recipient, Original-Recipient, Action, Status,
  Diagnostic-Code), the original message or its headers (text/rfc822-headers);
- plain-text bounces (classic Exim, qmail, Sendmail, Notes...): who they are about is
  notice.py's business.

A DSN names the recipient as we sent it in Original-Recipient and, after a rewrite or
forwarding, as the receiving system knows it in Final-Recipient: the first is ours.

What a report says about each recipient is decided by verdict.py, from the texts that
speak of it, closest first: the Diagnostic-Code (the receiver's own reply), the lines of
the notice that name the address, and the whole notice when it is about one address.
An event stored from a provider's webhook is read by that provider's reader
(bounces/providers/), which builds each recipient with `finding` too: the same rule
judges what every source says.
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

from newsletter.bounces import notice, verdict
from newsletter.bounces.models import BounceKind
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
    report_type: str  # "arf", "dsn" or "text"; a provider's name for its events
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
COMPLAINT_TYPES = frozenset({"abuse", "fraud"})
_INLINE_REPORT = re.compile(r"^(?:final|original)-recipient:[ \t]*rfc822;", re.I | re.M)


def parse(raw: bytes) -> ParsedReport:
    """ReportUnreadable when the bytes are not a report; any other exception is a bug
    (the caller stores it with the report, which stays for reprocessing)."""
    if not raw or not raw.strip():
        raise ReportUnreadable("empty report")
    msg = _message(raw)
    if not msg.keys():
        raise ReportUnreadable("not an email message (no header fields)")
    feedback = _parts(msg, "message/feedback-report")
    text = notice.text(msg)
    if feedback:
        report = ParsedReport("arf", _feedback(feedback[0], msg))
    else:
        blocks = [b for part in _parts(msg, "message/delivery-status") for b in _status_blocks(part)]
        if not blocks:  # a report written out in the text (its MIME broken, or inlined by the MTA)
            blocks = _blocks_of(notice.first_text(msg)) if _INLINE_REPORT.search(notice.first_text(msg)) else []
        named = [b for b in blocks if _recipient_of(b)]
        others = {_recipient_of(b).lower() for b in named}
        recipients = [_dsn_recipient(b, text, others) for b in named]
        report = ParsedReport("dsn", recipients) if recipients else ParsedReport("text", _plain(msg, text))
    if not report.recipients:
        raise ReportUnreadable("no delivery-status notification, feedback report or bounced recipient found")
    report.verp_candidates = _envelope_candidates(msg, raw)
    report.message_ids = _original_message_ids(msg, raw)
    return report


def finding(address: str, action: str, status: str, diagnostic: str, context: tuple[str, ...] | list[str] = ()
            ) -> RecipientReport:
    """One recipient of a report, judged by verdict.py: the diagnostic first, then the
    other texts that speak of this address (closest first). Provider readers build their
    recipients with this too."""
    diagnostic = one_line(diagnostic)[:2000]
    judged = verdict.read(action, status, [diagnostic, *context])
    return RecipientReport(address, action, status[:16], diagnostic, judged.kind)


def _message(raw: bytes) -> Message:
    """The message; a multipart whose declared boundary never occurs (a relay rewrote
    one or the other) is read again with the boundary its body does use."""
    msg = email.message_from_bytes(raw)
    if msg.get_content_maintype() == "multipart" and not msg.is_multipart():
        found = re.search(rb"^--([^\s-][^\s]{0,69})\r?$", raw.partition(b"\n\n")[2] or raw, re.M)
        if found is not None:
            msg.set_param("boundary", found[1].decode("ascii", "replace"))
            msg = email.message_from_bytes(msg.as_bytes())
    return msg


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
    return _blocks_of(payload if isinstance(payload, str) else "")


def _blocks_of(text: str) -> list[Message]:
    """The field blocks of a delivery-status report's text (one per recipient, blank lines between)."""
    return [HeaderParser().parsestr(b.strip() + "\n") for b in re.split(r"\r?\n[ \t]*\r?\n", text) if b.strip()]


def _recipient_of(block: Message) -> str:
    return _address(block.get("original-recipient")) or _address(block.get("final-recipient"))


def _dsn_recipient(block: Message, text: str, others: set[str]) -> RecipientReport:
    """The Status field's comment ("5.4.4 (Illegal host/domain name found)") speaks with
    the Diagnostic-Code."""
    address = _recipient_of(block)
    action = one_line(block.get("action", "")).lower()
    status = one_line(block.get("status", ""))[:200]
    final = _address(block.get("final-recipient"))
    lines = notice.lines_naming(text, address, others) or (
        notice.lines_naming(text, final, others) if final else "")
    diagnostic = f"{one_line(block.get('diagnostic-code', ''))} {verdict.comment_of(status)}".strip()
    return finding(address, action, status, diagnostic, [lines, text if len(others) == 1 else ""])


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


def _plain(msg: Message, text: str) -> list[RecipientReport]:
    """A bounce that is not RFC 3464: each recipient by the lines that name it (and by the
    whole notice when it names one), with the status code those lines give."""
    found = notice.recipients(msg, text, _original(msg) or notice.returned_headers(msg),
                              unnamed=not _parts(msg, "message/delivery-status"))
    others = {a.lower() for a, _ in found}
    reports = []
    for address, action in found:
        lines = notice.lines_naming(text, address, others)
        whole = text if len(found) == 1 else ""
        code = verdict.enhanced_in(lines) or verdict.enhanced_in(whole)
        status = code if action == "failed" else "4.0.0"
        reports.append(finding(address, action, status, lines, [whole]))
    return reports


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
