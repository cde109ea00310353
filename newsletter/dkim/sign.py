"""DKIM signatures (RFC 6376) over the bytes we build, signed by OpenSSL through `cryptography`.

`dkim.sign` from dkimpy parses the finished message back and signs in pure Python
(about 13 ms a message). We need neither: `MessageTemplate` knows every header
field it emits as folded bytes, and where the body starts. So a signature here is
a relaxed canonicalisation of the dozen fields we sign (the template's constant
fields are canonicalised once), SHA-256 of the body as it is, and one RSA
PKCS#1 v1.5 signature in C.

Canonicalisation is c=relaxed/simple. Relaxed for headers, because relays do
re-fold and re-case header lines; simple for the body, because the body is our
own quoted-printable output (no trailing white space, no line over 76
characters, CRLF ends) that a relay has no reason to touch, and simple costs
nothing but the hash.

Signed: the fields in `SIGNED` that the message has. `OVERSIGNED` fields are
listed once more than they occur (RFC 6376 section 8.15): the extra entry signs
"no further field of this name", so nobody can add a second From or Subject or
a List-Unsubscribe to a signed message, and one absent (a Reply-To, the
List-Unsubscribe of a confirmation email) cannot be added either.

Key material stays in the `cryptography` key object: it is never formatted
into a message, a log line or an error.
"""
from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

RSA_SHA256 = "rsa-sha256"
ALGORITHMS = (RSA_SHA256,)
MIN_RSA_BITS = 1024  # RFC 8301: verifiers must reject smaller keys; 2048 is what keygen makes

SIGNED = ("from", "reply-to", "subject", "to", "date", "message-id", "list-id", "list-unsubscribe",
          "list-unsubscribe-post", "feedback-id", "mime-version", "content-type")
# Gmail reads a Feedback-ID only where a signature covers it; oversigned, none can be added.
OVERSIGNED = frozenset({"from", "reply-to", "subject", "list-id", "list-unsubscribe", "list-unsubscribe-post",
                        "feedback-id"})

_FIELD = re.compile(rb"[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*")
_WSP = re.compile(rb"[ \t]+")
_CRLF = b"\r\n"
_MAX_LINE = 78


class DkimKeyError(ValueError):
    """The key is unusable for DKIM; the message never holds key material."""


def split_fields(block: bytes) -> list[bytes]:
    """The header fields of a header block, each with its folding and final CRLF."""
    return _FIELD.findall(block)


def relaxed_field(field: bytes) -> tuple[str, bytes]:
    """(lower-case name, RFC 6376 3.4.2 relaxed form): name lower-cased, the value
    unfolded, runs of white space made one space, white space at both ends of the
    value and around the colon removed; ends in CRLF."""
    name, _, value = field.partition(b":")
    name = name.rstrip(b" \t").lower()
    value = _WSP.sub(b" ", value.replace(_CRLF, b"")).strip(b" \t")
    return name.decode("ascii"), name + b":" + value + _CRLF


def simple_body_hash(body: bytes | memoryview) -> bytes:
    """SHA-256 of the body by RFC 6376 3.4.3: empty lines at the end are ignored, and a
    body that is empty or does not end in CRLF gets one."""
    end = len(body)
    while end >= 4 and body[end - 4:end] == b"\r\n\r\n":
        end -= 2
    digest = hashlib.sha256(body[:end])
    if end < 2 or body[end - 2:end] != _CRLF:
        digest.update(_CRLF)
    return digest.digest()


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """An unencrypted PEM RSA private key. Errors name the problem, never the key."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise DkimKeyError("not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimKeyError("not an RSA key (a=rsa-sha256 needs one)")
    if key.key_size < MIN_RSA_BITS:
        raise DkimKeyError(f"RSA key of {key.key_size} bits; DKIM needs at least {MIN_RSA_BITS}")
    return key


def public_key_record(public_key: rsa.RSAPublicKey) -> str:
    """The value of the selector's DNS TXT record (RFC 6376 3.6.1)."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def _fold(pieces: Iterable[tuple[str, str]]) -> str:
    """Lay out (separator, piece) pairs on lines of at most 78 characters; a piece that
    does not fit starts a continuation line. Every separator used here is a place where
    RFC 6376 allows folding white space.

    The one header line not folded by the email package's policy: the policy would
    RFC 2047-encode the long base64 words of b= and bh=, which breaks the signature."""
    lines, line = [], "DKIM-Signature:"
    for sep, piece in pieces:
        if len(line) + len(sep) + len(piece) <= _MAX_LINE:
            line += sep + piece
        else:
            lines.append(line)
            line = " " + piece
    lines.append(line)
    return "\r\n".join(lines)


class DkimSigner:
    """Signs messages for one (domain, selector, key)."""

    def __init__(self, domain: str, selector: str, private_key: rsa.RSAPrivateKey,
                 algorithm: str = RSA_SHA256):
        if algorithm not in ALGORITHMS:
            raise DkimKeyError(f"unsupported DKIM algorithm {algorithm!r} (supported: {', '.join(ALGORITHMS)})")
        self.domain, self.selector, self.algorithm = domain.lower(), selector.lower(), algorithm
        self._key = private_key
        self._h_cache: dict[tuple[str, ...], list[tuple[str, str]]] = {}

    def __repr__(self) -> str:  # never the key
        return f"DkimSigner(d={self.domain}, s={self.selector}, a={self.algorithm})"

    def public_record(self) -> str:
        return public_key_record(self._key.public_key())

    @staticmethod
    def canonical(fields: Iterable[bytes]) -> list[tuple[str, bytes]]:
        """Fields in relaxed form, to be passed to `sign` (cache the constant ones)."""
        return [relaxed_field(f) for f in fields]

    def sign(self, fields: Sequence[tuple[str, bytes]], body: bytes | memoryview, timestamp: int) -> bytes:
        """The DKIM-Signature field (folded, ending in CRLF) to put above the header.

        `fields` are the message's header fields in order, as `canonical` gives them."""
        by_name: dict[str, list[bytes]] = {}
        for name, canon in fields:
            if name in SIGNED:
                by_name.setdefault(name, []).append(canon)
        names: list[str] = []
        signed: list[bytes] = []
        for name in SIGNED:
            found = by_name.get(name, ())
            count = len(found) + (name in OVERSIGNED)
            names += [name] * count
            # RFC 6376 5.4.2: repeated names take instances from the bottom up; an entry
            # beyond the last instance signs the empty string.
            signed += reversed(found)
        bh = base64.b64encode(simple_body_hash(body)).decode("ascii")
        pieces = [(" ", "v=1;"), (" ", f"a={self.algorithm};"), (" ", "c=relaxed/simple;"),
                  (" ", f"d={self.domain};"), (" ", f"s={self.selector};"), (" ", f"t={int(timestamp)};")]
        pieces += self._h_pieces(tuple(names))
        pieces += [(" ", f"bh={bh};"), (" ", "b=")]
        head = _fold(pieces)
        _, canon_head = relaxed_field(head.encode("ascii") + _CRLF)
        data = b"".join(signed) + canon_head[:-2]  # the signature field itself: no CRLF
        signature = base64.b64encode(self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")
        # FWS may stand anywhere inside b=; verifiers remove the whole value before hashing.
        room = max(_MAX_LINE - (len(head) - head.rfind("\n") - 1), 0)
        rest = signature[room:]
        tail = signature[:room] + "".join("\r\n " + rest[i:i + 76] for i in range(0, len(rest), 76))
        return (head + tail + "\r\n").encode("ascii")

    def _h_pieces(self, names: tuple[str, ...]) -> list[tuple[str, str]]:
        """h= as foldable pieces: a break may follow any colon. The same few lists recur."""
        pieces = self._h_cache.get(names)
        if pieces is None:
            parts = [f"{n}:" for n in names[:-1]] + [f"{names[-1]};"]
            pieces = [(" ", "h=" + parts[0])] + [("", p) for p in parts[1:]]
            self._h_cache[names] = pieces
        return pieces

    def sign_message(self, message: bytes, timestamp: int) -> bytes:
        """A whole message, signed: for messages not built by `MessageTemplate`."""
        at = message.find(b"\r\n\r\n")
        block, body = (message, b"") if at < 0 else (message[:at + 2], memoryview(message)[at + 4:])
        return self.sign(self.canonical(split_fields(block)), body, timestamp) + message
