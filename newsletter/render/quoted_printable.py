"""Quoted-printable bodies made for speed, with gaps for per-subscriber values.

A body is encoded once per variant by `binascii.b2a_qp` (the C encoder behind the
standard library's `quopri`), which wraps lines at 76 characters; per message only
the values (a name, two links) are encoded and spliced in (`QPBody`). Every fragment
ends in a line break, so every fragment starts a line.

No line starts with a dot: where one would, the dot is written =2E (the same text
once decoded), so the message needs no dot-stuffing on the SMTP wire (`dot_free`;
transport/smtp_client.py sends such a message as it is).
"""
from __future__ import annotations

import binascii
import re
from functools import lru_cache


def qp_body(text: str) -> bytes:
    """UTF-8, quoted-printable, CRLF line ends, no line over 76 characters, none
    starting with a dot."""
    return _dot_free_lines(_qp(text))


def _qp(text: str) -> bytes:
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    lines = encoded.split(b"\n")
    if any(len(line) > 76 for line in lines):
        lines = [piece for line in lines for piece in _wrap(line)]
    return b"\r\n".join(lines)


def _dot_free_lines(encoded: bytes) -> bytes:
    """A line that would start with a dot starts with its escape, =2E, instead: the same
    text once decoded, and bytes SMTP sends as they are (`dot_free`) instead of searching
    the whole message for dots to double. A line made too long by it is cut with a soft
    break, never inside an =XX escape."""
    if encoded[:1] != b"." and b"\n." not in encoded:
        return encoded
    out = []
    for line in encoded.split(b"\r\n"):
        while line[:1] == b".":
            line = b"=2E" + line[1:]
            if len(line) > 76:
                cut = 75
                while b"=" in line[cut - 2:cut]:
                    cut -= 1
                out.append(line[:cut] + b"=")
                line = line[cut:]
        out.append(line)
    return b"\r\n".join(out)


def _wrap(line: bytes) -> list[bytes]:
    """b2a_qp can overrun 76 where it escapes trailing white space: re-wrap with soft breaks."""
    out = []
    while len(line) > 76:
        cut = 75
        while b"=" in line[cut - 2:cut]:  # never split an =XX escape
            cut -= 1
        out.append(line[:cut] + b"=")
        line = line[cut:]
    out.append(line)
    return out


def _qp_piece(text: str) -> bytes:
    """A QP fragment that can be concatenated with others: it ends in a line break.

    Where the text itself does not end a line, a soft line break (=CRLF) is added;
    a decoder removes it, so fragments joined this way decode to the joined text.

    Per-subscriber values (a name, two links) are mostly printable ASCII with no '=':
    b2a_qp copies such characters as they are, and where it breaks the lines depends
    on the length alone, except for a space or a dot that ends the text. Those values
    take the same cuts as a run of letters of their length, found once per length.
    """
    if _QP_PLAIN.fullmatch(text):
        if len(text) <= 75:
            return _dot_free_lines(text.encode("ascii") + b"=\r\n")
        data = text.encode("ascii")
        return _dot_free_lines(b"".join([data[a:b] + b"=\r\n" for a, b in _qp_cuts(len(text))]))
    return _qp_piece_encoded(text)


# Printable ASCII without '=', ending in neither a space nor a dot (see _qp_piece).
_QP_PLAIN = re.compile(r"[ -<>-~]*[!-\-/-<>-~]")


@lru_cache(maxsize=512)
def _qp_cuts(length: int) -> tuple[tuple[int, int], ...]:
    lines = _qp_piece_encoded("a" * length).split(b"=\r\n")[:-1]
    cuts, start = [], 0
    for line in lines:
        cuts.append((start, start + len(line)))
        start += len(line)
    return tuple(cuts)


def _qp_piece_encoded(text: str) -> bytes:
    encoded = _qp(text)
    if not encoded or encoded.endswith(b"\r\n"):
        return _dot_free_lines(encoded)
    head, sep, last = encoded.rpartition(b"\r\n")
    prefix = head + sep
    if len(last) > 75:  # room for the '=' of the soft break: split, never inside an =XX escape
        cut = 75
        while b"=" in last[cut - 2:cut]:
            cut -= 1
        prefix += last[:cut] + b"=\r\n"
        last = last[cut:]
    return _dot_free_lines(prefix + last + b"=\r\n")


def dot_free(piece: bytes) -> bool:
    """No line of `piece`, which starts a line, starts with a dot: SMTP sends it as it is
    (RFC 5321 4.5.2 doubles such a dot). A message's parts each start a line (a QP
    fragment ends in a line break), so the message is dot-free when every part is."""
    return piece[:1] != b"." and b"\n." not in piece


class QPBody:
    """A body encoded once, with gaps where per-subscriber values go.

    `source` holds placeholders (plain ASCII words); `escape` prepares a value
    for the body's format (HTML escaping for the HTML part).
    """

    def __init__(self, source: str, placeholders: dict[str, str], escape=lambda v: v):
        pieces: list[bytes | str] = []
        rest = source
        while True:
            found = [(rest.find(ph), key, ph) for key, ph in placeholders.items() if ph in rest]
            if not found:
                break
            at, key, ph = min(found)
            pieces.append(_qp_piece(rest[:at]))
            pieces.append(key)
            rest = rest[at + len(ph):]
        pieces.append(qp_body(rest))
        self._pieces = [p for p in pieces if p != b""]
        # Where the values go, and which: each is encoded once per message, however often
        # it appears (a counted link's part follows every headline: render/click_links.py).
        self._slots = [(i, p) for i, p in enumerate(self._pieces) if isinstance(p, str)]
        self._keys = list(dict.fromkeys(p for _, p in self._slots))
        self._escape = escape
        self._dot_free = all(dot_free(p) for p in self._pieces if isinstance(p, bytes))

    def render(self, values: dict[str, str]) -> bytes:
        return self.render_checked(values)[0]

    def render_checked(self, values: dict[str, str]) -> tuple[bytes, bool]:
        """The body, and whether it is dot-free (`dot_free`): the constant pieces were
        looked at once, the values are looked at here."""
        esc = self._escape
        encoded = {key: _qp_piece(esc(values[key])) for key in self._keys}
        out = self._pieces.copy()
        for i, key in self._slots:
            out[i] = encoded[key]
        return b"".join(out), self._dot_free and all(map(dot_free, encoded.values()))
