"""Erasure where a person is stored as bytes or as JSON: their addresses, their name and
the Message-IDs of our messages to them are removed from raw reports (any blob) and from
JSON values; the row stays (a bounce report is kept, redacted, for the figures).

In bytes, what stands as written is replaced (any case; the address also as it travels,
in IDNA, and URL-encoded). What a MIME message encodes is read too: base64 and
quoted-printable parts and RFC 2047 header words are decoded, redacted and encoded
again, and the message is written out anew. A part that still cannot be read clean
loses its content; a message that still cannot, its bytes ("[erased]").
"""
from __future__ import annotations

import base64
import email
import quopri
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from urllib.parse import quote

from newsletter.addresses import wire_address

ERASED = "[erased]"
_STUB = b"X-Erased: the person this report named was erased\r\n\r\n[erased]\r\n"
# An address as a whole, not inside a longer one (as people/erase.py reads text).
_BEFORE, _AFTER = rb"(?<![A-Za-z0-9.!#$%&'*+/=?^_`{|}~-])", rb"(?![A-Za-z0-9_-])(?!\.[A-Za-z0-9-])"


@dataclass(frozen=True)
class Person:
    """What must not be left of someone: their addresses, their name, and Message-IDs of
    ours to them (given whole, and as the ids our Message-IDs are built from)."""

    addresses: tuple[str, ...]
    name: str = ""
    message_ids: tuple[str, ...] = ()
    subscriber_id: int | None = None  # <edition.E.{subscriber}.digest@...>
    subscription_ids: tuple[int, ...] = ()  # <confirm|welcome.{subscription}.N.digest@...>
    change_ids: tuple[int, ...] = ()  # <address-old|-new|-taken.{change}.N.digest@...>

    def patterns(self) -> list[re.Pattern]:
        found = []
        for address in self.addresses:
            forms = {address, wire_address(address).address, quote(address, safe="")}
            found += [re.compile(_BEFORE + re.escape(f.encode()) + _AFTER, re.I) for f in forms]
        words = self.name.split()
        if len("".join(words)) >= 2:
            found.append(re.compile(rb"(?<!\w)" + rb"\s+".join(re.escape(w.encode()) for w in words) + rb"(?!\w)",
                                    re.I))
        found += [re.compile(re.escape(m.strip("<>").encode()), re.I) for m in self.message_ids if m]
        ours = []
        if self.subscriber_id is not None:
            ours.append(rb"edition\.\d{1,19}\." + str(self.subscriber_id).encode())
        if self.subscription_ids:
            ours.append(rb"(?:confirm|welcome)\.(?:" + b"|".join(str(i).encode() for i in self.subscription_ids)
                        + rb")\.\d{1,19}")
        if self.change_ids:
            ours.append(rb"address-(?:old|new|taken)\.(?:" + b"|".join(str(i).encode() for i in self.change_ids)
                        + rb")\.\d{1,19}")
        if ours:
            found.append(re.compile(rb"(?:" + b"|".join(ours) + rb")\.[0-9a-f]{16}@[A-Za-z0-9.-]{1,255}", re.I))
        return found


def holds(data: bytes, person: Person) -> bool:
    """Whether the bytes hold anything of the person, as written or as a MIME message
    encodes it."""
    patterns = person.patterns()
    if _found(data, patterns):
        return True
    msg = _message(data)
    return msg is not None and any(_found(chunk, patterns) for chunk in _decoded(msg))


def redact(data: bytes, person: Person) -> bytes:
    patterns = person.patterns()
    data = _sub(data, patterns)
    if not holds(data, person):
        return data
    msg = _message(data)
    if msg is not None:
        try:
            for part in msg.walk():
                _redact_headers(part, patterns)
                if not part.is_multipart():
                    _redact_payload(part, patterns)
            data = _sub(msg.as_bytes(policy=compat32), patterns)
        except Exception:  # noqa: BLE001 - a message the email package cannot write again
            return _STUB
        if not holds(data, person):
            return data
    return _STUB


def redact_json(value, person: Person):
    """The same value, every string in it redacted."""
    if isinstance(value, str):
        return _sub(value.encode("utf-8", "surrogateescape"), person.patterns()).decode("utf-8", "surrogateescape")
    if isinstance(value, list):
        return [redact_json(v, person) for v in value]
    if isinstance(value, dict):
        return {redact_json(k, person): redact_json(v, person) for k, v in value.items()}
    return value


def _found(data: bytes, patterns: list[re.Pattern]) -> bool:
    return any(p.search(data) for p in patterns)


def _sub(data: bytes, patterns: list[re.Pattern]) -> bytes:
    for p in patterns:
        data = p.sub(ERASED.encode(), data)
    return data


def _message(data: bytes) -> Message | None:
    try:
        msg = email.message_from_bytes(data, policy=compat32)
    except Exception:  # noqa: BLE001 - not a message we can read: the bytes as written are all there is
        return None
    return msg if msg.keys() else None


def _decoded(msg: Message):
    for part in msg.walk():
        for value in part.values():
            if "=?" in str(value):
                yield _header_text(str(value)).encode("utf-8", "replace")
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                yield payload


def _header_text(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001 - a broken encoded word: read as written
        return value


def _redact_headers(part: Message, patterns: list[re.Pattern]) -> None:
    for name, value in list(part.items()):
        value = str(value)
        if "=?" not in value:
            continue
        text = _header_text(value).encode("utf-8", "replace")
        if _found(text, patterns):
            part.replace_header(name, _sub(text, patterns).decode("utf-8", "replace"))


def _redact_payload(part: Message, patterns: list[re.Pattern]) -> None:
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not _found(payload, patterns):
        return
    clean = _sub(payload, patterns)
    if cte == "base64":
        part.set_payload(base64.encodebytes(clean).decode("ascii"))
    elif cte == "quoted-printable":
        part.set_payload(quopri.encodestring(clean).decode("ascii"))
    else:
        part.set_payload(clean.decode("utf-8", "surrogateescape"))
    if _found(part.get_payload(decode=True) or b"", patterns):  # a part that will not come clean
        part.set_payload(ERASED)
        del part["content-transfer-encoding"]
