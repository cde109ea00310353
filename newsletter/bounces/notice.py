"""The part of a bounce written for people: its text, the lines that name one address,
and who a plain-text bounce (not RFC 3464) is about.

The notice is the first text part that is not inside the returned message, cut where a
copy of the original begins ("----- Original message -----", "Message headers follow",
a block of header fields...): our own newsletter's words (its unsubscribe link, its
privacy policy) must never be read as the receiver's.

Who a plain-text bounce is about: the addresses flufl.bounce's detectors find (GNU
Mailman's, for the formats they know), in the order the notice names them; failing
those, in a message that presents itself as a delivery failure (from a mailer-daemon or
a postmaster, or with a subject that says so), the addresses the notice names that are
not the sender's side of the exchange; failing those, the recipients of the returned
message (ours are sent to one person each); failing those, an unnamed recipient (the
report is still about the message its VERP address or Message-ID names).
"""
from __future__ import annotations

import re
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from flufl.bounce import all_failures

from newsletter.bounces.verdict import says_why
from newsletter.text import one_line

SCAN_CHARS = 8000  # the notice is at the top; a returned message follows
_ORIGINAL = re.compile(
    r"^[\s>]*[-=*_]*\s*(?:original message|unsent message|returned message|undelivered message|included message"
    r"|message headers follow|this is a copy of|below this line is a copy|a copy of the original message"
    r"|the original message (?:headers|follows|is attached)|original message follows|text of (?:the )?(?:original"
    r"|your) message|here (?:is|are) the headers)", re.I | re.M)
_HEADER_LINE = re.compile(r"^[A-Za-z][\w-]{1,40}:[ \t]")
_MESSAGE_FIELDS = {"from", "received", "return-path", "message-id", "mime-version"}
_REPORT_FIELDS = {"reporting-mta", "final-recipient", "original-recipient", "action", "status", "diagnostic-code",
                  "remote-mta", "arrival-date", "last-attempt-date"}
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
_DAEMONS = {"postmaster", "mailer-daemon", "mailerdaemon", "mail-daemon", "mdaemon"}
_FAILURE_SUBJECT = re.compile(
    r"undeliver|deliver(?:y|ed)?[ -]?(?:status|fail|notif|report|problem|error)|returned mail|failure notice"
    r"|(?:could|can)not be delivered|not delivered|delivery failure|mail delivery|non-?deliver|\bndr\b|rejected"
    r"|\bbounce", re.I)
_FAILURE_FROM = re.compile(r"mailer.?daemon|post.?master|mail delivery|delivery subsystem|\bndr\b|mail ?administrator",
                           re.I)
_AUTO_REPLY = re.compile(r"out of (?:the )?office|auto.?(?:reply|response|matic reply)|vacation|away from", re.I)
_TAGS = re.compile(r"<[^>]{0,2000}>")


def text(msg: Message) -> str:
    """The notice, cut before the returned message, at most SCAN_CHARS characters."""
    return _split(_first_text(msg))[0]


def first_text(msg: Message) -> str:
    """The first text part, whole (the notice and whatever follows it in the same part)."""
    return _first_text(msg)


def returned_headers(msg: Message) -> Message | None:
    """The header fields of a message returned inline, after the notice, if any."""
    rest = _split(_first_text(msg))[1].lstrip("\n")
    if not rest:
        return None
    if _ORIGINAL.match(rest.splitlines()[0]):
        rest = rest.partition("\n")[2].lstrip("\n")
    return HeaderParser().parsestr(rest) if _HEADER_LINE.match(rest) else None


def _split(body: str) -> tuple[str, str]:
    """(the notice, the returned message that follows it)."""
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if _ORIGINAL.match(line) or _returned_headers_at(lines, i):
            return "\n".join(lines[:i]), "\n".join(lines[i:])
    return body, ""


def _returned_headers_at(lines: list[str], i: int) -> bool:
    """A block of header fields that is a message's (one of From, Received, Return-Path,
    Message-ID, MIME-Version among them), not a notice's own "Subject:"/"Date:" summary
    or the fields of a delivery report written out in it."""
    block = []
    for line in lines[i:i + 40]:
        if not line.strip():
            break
        if line[:1] not in " \t":
            block.append(line)
    names = {b.partition(":")[0].strip().lower() for b in block}
    return (len(block) >= 2 and all(_HEADER_LINE.match(b) for b in block[:2])
            and bool(names & _MESSAGE_FIELDS) and not names & _REPORT_FIELDS)


def lines_naming(notice: str, address: str, others: set[str] | frozenset = frozenset(), after: int = 3) -> str:
    """Each line that names `address` and the lines after it, up to a blank line or a line
    that names another of the report's recipients."""
    if not address:
        return ""
    wanted, keep = address.lower(), []
    lines = notice.splitlines()
    for i, line in enumerate(lines):
        if wanted not in line.lower():
            continue
        keep.append(line)
        for nxt in lines[i + 1:i + 1 + after]:
            named = {a.lower() for a in ADDRESS.findall(nxt)}
            if not nxt.strip() or (named & others and wanted not in named):
                break
            keep.append(nxt)
    return one_line("\n".join(dict.fromkeys(keep)))


def recipients(msg: Message, notice: str, original: Message | None, unnamed: bool = True) -> list[tuple[str, str]]:
    """(address, "failed" or "delayed") for a bounce that is not RFC 3464, in the order
    the notice names them; [] when it is not a bounce we can tell. `unnamed`: a notice
    that names nobody but says why the message failed may stand for one unnamed recipient."""
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - its detectors choke on odd input: treat as none found
        temporary, permanent = set(), set()
    found = [(a.decode("ascii", "replace"), "failed") for a in permanent]
    found += [(a.decode("ascii", "replace"), "delayed") for a in temporary - permanent]
    if not found and _presents_as_failure(msg):
        sender_side = _sender_side(msg, original)
        sent_to = [a for _, a in getaddresses(original.get_all("to", []))] if original is not None else []
        sent_to = {a.lower() for a in sent_to if a and a.lower() not in sender_side}
        named = [a for a in dict.fromkeys(a.strip("'") for a in ADDRESS.findall(notice)) if a.lower() in sent_to
                 or (a.lower() not in sender_side and a.partition("@")[0].lower() not in _DAEMONS)]
        # Naming nobody, it still speaks of the message our VERP address or Message-ID names.
        found = [(a, "failed") for a in named or sorted(sent_to)]
        if not found and unnamed and says_why(notice):
            found = [("", "failed")]
    lowered = notice.lower()

    def position(item: tuple[str, str]) -> tuple[int, str]:
        at = lowered.find(item[0].lower())
        return (at if at >= 0 else len(lowered), item[0].lower())
    return sorted(found, key=position)


def _presents_as_failure(msg: Message) -> bool:
    subject, sender = one_line(str(msg.get("subject", ""))), one_line(str(msg.get("from", "")))
    if _AUTO_REPLY.search(subject):
        return False
    return bool(_FAILURE_SUBJECT.search(subject) or _FAILURE_FROM.search(sender))


def _sender_side(msg: Message, original: Message | None) -> set[str]:
    """The bounce's own correspondents, the returned message's sender, and Message-IDs
    (which look like addresses)."""
    values = [msg.get_all(h, []) for h in ("from", "to", "cc", "reply-to", "sender", "return-path")]
    ids = [msg.get_all(h, []) for h in ("message-id", "in-reply-to", "references")]
    if original is not None:
        values += [original.get_all(h, []) for h in ("from", "sender", "reply-to", "return-path")]
        ids += [original.get_all(h, []) for h in ("message-id", "in-reply-to", "references")]
    found = {a.lower() for group in values for _, a in getaddresses([str(v) for v in group]) if a}
    found |= {a.lower() for group in ids for v in group for a in ADDRESS.findall(str(v))}
    return found


def _first_text(msg: Message) -> str:
    """The first text/plain part outside a returned message (else the first text/html, its
    tags removed)."""
    html = ""
    for part in _parts_outside_messages(msg):
        ctype = part.get_content_type()
        if part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), str):
            return _decoded(part)  # a multipart without its boundary: one text, as sent
        if ctype == "text/plain":
            return _decoded(part)
        if ctype == "text/html" and not html:
            html = _TAGS.sub(" ", _decoded(part))
    return html


def _parts_outside_messages(msg: Message):
    if msg.get_content_maintype() == "message":
        return
    if msg.is_multipart():
        for sub in msg.get_payload():
            if isinstance(sub, Message):
                yield from _parts_outside_messages(sub)
    else:
        yield msg


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    if not isinstance(payload, bytes):
        return ""
    payload = payload[:SCAN_CHARS * 4]
    try:
        return payload.decode(part.get_content_charset() or "utf-8", "replace")[:SCAN_CHARS]
    except LookupError:  # a charset Python does not know (ansi_x3.110-1983)
        return payload.decode("utf-8", "replace")[:SCAN_CHARS]
