"""Email bytes, built with the standard library's email package and SMTP policy.

A `MessageTemplate` is made once per (edition, section set): the email package
builds the constant headers and the MIME skeleton, with a marker where each body
goes. Per subscriber, the personal headers are folded by the same policy and the
quoted-printable bodies (render/quoted_printable.py) go in the gaps. This keeps
the per-message cost at a few hundred microseconds instead of milliseconds.

Header values pass through `one_line`, so a CR or LF in a headline or a name is
folded into a space and can never start a header of its own.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache

from newsletter.addresses import wire_address
from newsletter.dkim.sign import DkimSigner, split_fields
from newsletter.render.quoted_printable import dot_free, qp_body
from newsletter.text import one_line

POLICY = SMTP  # CRLF line ends, headers folded at 78 characters
_UNFOLDABLE = SMTP.clone(max_line_length=998)
_ASCII_SPACE = re.compile("[\t\n\x0b\x0c\r\x1c-\x1f ]")  # what str.isspace finds in ASCII
_UTF8 = SMTP.clone(utf8=True)
_TEXT_MARK = b"XNLXTEXTBODYXNLX"
_HTML_MARK = b"XNLXHTMLBODYXNLX"


def message_id(kind: str, key: tuple, domain: str, secret: str) -> str:
    """The same (kind, key) always gives the same Message-ID; the hash keeps it unguessable."""
    raw = f"{kind}:{':'.join(map(str, key))}"
    digest = hashlib.blake2b(raw.encode(), key=secret.encode()[:64], digest_size=8).hexdigest()
    return f"<{kind}.{'.'.join(map(str, key))}.{digest}@{domain}>"


def address(name: str, email: str) -> Address:
    """The address as it goes on the wire: an IDN domain in IDNA (punycode)."""
    local, _, domain = wire_address(email).address.rpartition("@")
    return Address(display_name=one_line(name), username=local, domain=domain)


def to_header(name: str, email: str) -> bytes:
    """The To line. A non-ASCII local part cannot be RFC 2047-encoded (RFC 2047 forbids
    encoded words in an address): such a message travels with SMTPUTF8, so the line is
    written in UTF-8 as RFC 6532 allows. Everything else stays ASCII."""
    value = str(address(name, email))
    if wire_address(email).needs_smtputf8:
        return _UTF8.fold_binary("To", value)
    return fold("To", value)


def _continuation(mailto: str) -> bytes:
    """` <mailto:ADDRESS>` and CRLF, to go after a folded line that ends in a comma: ASCII
    (an internationalised domain in IDNA), one word that is never broken."""
    address = one_line(mailto)
    if not address.isascii():
        address = wire_address(address).address
    return f" <mailto:{address}>\r\n".encode("ascii")


def fold(name: str, value: str) -> bytes:
    """One header line by the SMTP policy.

    Short ASCII values take the policy's direct path. Other values go through a parsed
    header object, which folds and RFC 2047-encodes itself (~40 us). One long ASCII
    word (a URL in angle brackets) cannot be broken: the policy moves it to a
    continuation line, which depends on its length alone, so that result is computed
    once per length. A word too long even for that would be RFC 2047-encoded by the
    policy, which breaks the URL for the mail client, so it stays whole on one line,
    within RFC 5322's limit of 998 characters."""
    if value.isascii() and len(name) + len(value) + 2 <= POLICY.max_line_length:
        if value.isprintable():
            # What the policy's fold_binary returns for one short printable ASCII line
            # (no line break for splitlines to find, nothing to refold), without its calls.
            return f"{name}: {value}\r\n".encode("ascii")
        return POLICY.fold_binary(name, value)
    if value.isascii() and "=?" not in value and not _ASCII_SPACE.search(value):
        if len(value) + 1 <= POLICY.max_line_length:
            return _folded_word(name, len(value)).replace(b"x" * len(value), value.encode("ascii"), 1)
        return _UNFOLDABLE.fold_binary(name, value)
    return POLICY.fold_binary(name, POLICY.header_factory(name, value))


@lru_cache(maxsize=256)
def _folded_word(name: str, length: int) -> bytes:
    return POLICY.fold_binary(name, POLICY.header_factory(name, "x" * length))


_last_date: tuple = (None, None, "")


def date_header(date: datetime) -> str:
    """`format_datetime(date)`, formatted once a second: the header has no fractions, and
    a batch sends hundreds of messages within the same second. Two datetimes with the same
    whole second and the same UTC offset (or both naive) format the same."""
    global _last_date
    second, offset = date.replace(microsecond=0), date.utcoffset()
    last_second, last_offset, formatted = _last_date
    if second != last_second or offset != last_offset or (last_second.tzinfo is None) != (date.tzinfo is None):
        formatted = format_datetime(date)
        _last_date = (second, offset, formatted)
    return formatted


class MessageTemplate:
    """Everything about a message that is the same for every recipient of a variant.

    With a `signer`, each rendered message gets a DKIM-Signature field on top; the
    fields it signs are the ones built here, canonicalised once (see dkim/sign.py).
    Without one, the bytes are exactly what they were before signing existed."""

    def __init__(self, *, sender_name: str, sender_address: str, subject: str,
                 reply_to: str = "", list_id: str = "", bulk: bool = True, has_html: bool = True,
                 signer: DkimSigner | None = None, feedback_id: str = ""):
        msg = EmailMessage(policy=POLICY)
        msg["From"] = address(sender_name, sender_address)
        msg["Subject"] = one_line(subject)
        if reply_to:
            msg["Reply-To"] = reply_to
        if list_id:
            msg["List-Id"] = one_line(list_id)
        if feedback_id:  # Gmail's feedback loop: a:b:c:SenderId, the same for every reader
            msg["Feedback-ID"] = one_line(feedback_id)
        if bulk:
            msg["Precedence"] = "bulk"
        msg["Auto-Submitted"] = "auto-generated"
        # text/plain first: clients show the last alternative they understand.
        msg.set_content(_TEXT_MARK.decode() + "\n", subtype="plain", charset="utf-8",
                        cte="quoted-printable")
        if has_html:
            msg.add_alternative(_HTML_MARK.decode() + "\n", subtype="html", charset="utf-8",
                                cte="quoted-printable")
        skeleton = msg.as_bytes(policy=POLICY)
        self._text_at = skeleton.index(_TEXT_MARK)
        self._html_at = skeleton.index(_HTML_MARK) if has_html else -1
        self._skeleton = skeleton
        self.has_html = has_html
        text_end = self._text_at + len(_TEXT_MARK) + 2
        frame = [skeleton[:self._text_at], skeleton[text_end:self._html_at] if has_html else skeleton[text_end:]]
        if has_html:
            frame.append(skeleton[self._html_at + len(_HTML_MARK) + 2:])
        self._frame_dot_free = all(map(dot_free, frame))
        self._signer = signer
        if signer is not None:
            header_end = skeleton.index(b"\r\n\r\n") + 2
            self._body_at = header_end + 2  # in the skeleton, after the personal fields
            self._constant_fields = signer.canonical(split_fields(skeleton[:header_end]))

    def render(self, *, to_name: str, to_address: str, msg_id: str, date: datetime,
               text: bytes, html: bytes | None = None, unsubscribe_url: str = "",
               unsubscribe_mailto: str = "") -> bytes:
        """`text` and `html` are quoted-printable bodies (see `qp_body` and `QPBody`).
        `unsubscribe_mailto`: an address offered beside the URL (needs the URL)."""
        return self.render_checked(to_name=to_name, to_address=to_address, msg_id=msg_id, date=date, text=text,
                                   html=html, unsubscribe_url=unsubscribe_url,
                                   unsubscribe_mailto=unsubscribe_mailto)[0]

    def render_checked(self, *, to_name: str, to_address: str, msg_id: str, date: datetime,
                       text: bytes, html: bytes | None = None, unsubscribe_url: str = "",
                       unsubscribe_mailto: str = "", bodies_dot_free: bool = False) -> tuple[bytes, bool]:
        """As `render`, and whether the message is dot-free (`dot_free`), given whether the
        bodies are (`QPBody.render_checked`); the header lines are looked at here."""
        return self.sign(self.render_unsigned(
            to_name=to_name, to_address=to_address, msg_id=msg_id, date=date, text=text, html=html,
            unsubscribe_url=unsubscribe_url, unsubscribe_mailto=unsubscribe_mailto, bodies_dot_free=bodies_dot_free))

    def render_unsigned(self, *, to_name: str, to_address: str, msg_id: str, date: datetime,
                        text: bytes, html: bytes | None = None, unsubscribe_url: str = "",
                        unsubscribe_mailto: str = "", bodies_dot_free: bool = False) -> Unsigned:
        """`render_checked` in two steps, this one and `sign`: the sender renders the next
        message while one wait for the relay lasts and signs it in the next."""
        lines = [to_header(to_name, to_address), fold("Date", date_header(date)),
                 fold("Message-ID", one_line(msg_id))]
        if unsubscribe_url:
            # RFC 2369 angle brackets; RFC 8058 one-click POST to the same https URL. A
            # mailto: goes on a continuation line of its own (folding white space after the
            # comma): the URL keeps `fold`'s fast path, and neither is ever broken.
            url = f"<{one_line(unsubscribe_url)}>"
            if unsubscribe_mailto:
                lines.append(fold("List-Unsubscribe", url + ",") + _continuation(unsubscribe_mailto))
            else:
                lines.append(fold("List-Unsubscribe", url))
            lines.append(fold("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        head = b"".join(lines)
        s = self._skeleton
        # The markers were encoded with a CRLF after them; the encoded body brings its own.
        text_end = self._text_at + len(_TEXT_MARK) + 2
        if not self.has_html:
            data = head + s[:self._text_at] + text + s[text_end:]
        else:
            html_end = self._html_at + len(_HTML_MARK) + 2
            data = b"".join((head, s[:self._text_at], text, s[text_end:self._html_at],
                             html or b"", s[html_end:]))
        safe = bodies_dot_free and self._frame_dot_free and dot_free(head)
        return Unsigned(data, safe, lines, len(head), int(date.timestamp()))

    def sign(self, message: Unsigned) -> tuple[bytes, bool]:
        """The message's bytes, with a DKIM-Signature field on top where the template has a
        signer, and whether they are dot-free."""
        if self._signer is None:
            return message.data, message.dot_free
        # Signed once, on the final bytes: the body is everything after the blank line.
        signer = self._signer
        body = memoryview(message.data)[message.head_length + self._body_at:]
        fields = signer.canonical(message.personal_lines) + self._constant_fields
        signature = signer.sign(fields, body, message.timestamp)
        return signature + message.data, message.dot_free and dot_free(signature)


@dataclass(frozen=True)
class Unsigned:
    """A rendered message before its signature (MessageTemplate.render_unsigned)."""

    data: bytes
    dot_free: bool
    personal_lines: list[bytes]  # the header lines made for this recipient, as the signer reads them
    head_length: int  # their bytes, at the top of `data`
    timestamp: int  # the signature's t=: the Date field's second


def build_message(*, sender_name: str, sender_address: str, to_name: str, to_address: str,
                  subject: str, text: str, html: str | None, msg_id: str, date: datetime,
                  reply_to: str = "", list_id: str = "", unsubscribe_url: str = "",
                  unsubscribe_mailto: str = "", bulk: bool = True, signer: DkimSigner | None = None) -> bytes:
    """A single message (confirmation emails and the like)."""
    template = MessageTemplate(sender_name=sender_name, sender_address=sender_address,
                               subject=subject, reply_to=reply_to, list_id=list_id, bulk=bulk,
                               has_html=html is not None, signer=signer)
    return template.render(to_name=to_name, to_address=to_address, msg_id=msg_id, date=date,
                           text=qp_body(text), html=None if html is None else qp_body(html),
                           unsubscribe_url=unsubscribe_url, unsubscribe_mailto=unsubscribe_mailto)
