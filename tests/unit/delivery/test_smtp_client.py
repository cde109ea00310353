"""The send path's shortcuts give smtplib's bytes: dot-stuffing and envelope addresses,
over many generated inputs (the server side is in tests/integration/test_send_path.py)."""
from __future__ import annotations

import random
import smtplib

import pytest

from newsletter.transport.smtp_client import dot_stuff, envelope_address

EDGES = [b"", b".", b"..", b".\r\n", b"\r\n.\r\n", b"a\r\n.\r\nb\r\n", b".start\r\n", b"no end",
         b"no end\r\n.", b"x\r\n..\r\n", b"\n.", b"\r.", b"a\r\n", b"a\n", b"a\r", b"\r\n\r\n.."]


class _DataRecorder(smtplib.SMTP):
    """smtplib's own `data()` with the socket replaced by a list: what it would write."""

    def __init__(self):
        super().__init__()  # no host: not connected
        self.written: list[bytes] = []
        self.replies = [(354, b"go ahead"), (250, b"ok")]

    def send(self, s):
        self.written.append(s if isinstance(s, bytes) else s.encode("ascii"))

    def getreply(self):
        return self.replies.pop(0)


def smtplib_payload(message: bytes) -> bytes:
    """Everything smtplib.SMTP.data() writes after the DATA command."""
    recorder = _DataRecorder()
    recorder.data(message)
    assert recorder.written[0] == b"data\r\n"
    return b"".join(recorder.written[1:])


def smtplib_reference(message: bytes) -> bytes:
    """The same from smtplib's helpers, as data() composes them."""
    stuffed = smtplib._quote_periods(message)
    if stuffed[-2:] != b"\r\n":
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


@pytest.mark.parametrize("message", EDGES)
def test_dot_stuffing_edge_cases_equal_smtplib(message):
    assert dot_stuff(message) == smtplib_payload(message) == smtplib_reference(message)


def test_dot_stuffing_equals_smtplib_over_generated_messages():
    rng = random.Random(20261129)
    pieces = [b".", b"..", b"\r\n", b"\n", b"\r", b"a", b" ", b"=2E", b".\r\n", b"\r\n.\r\n"]
    for _ in range(20_000):
        message = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 30)))
        assert dot_stuff(message) == smtplib_reference(message), message
    for _ in range(500):
        message = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 30)))
        assert dot_stuff(message) == smtplib_payload(message), message


def test_dot_stuffing_of_crlf_normalised_text_equals_smtplib_on_str():
    """A str message: smtplib normalises line ends (_fix_eols) before stuffing; stuffing
    the already normalised bytes gives the same payload."""
    rng = random.Random(7)
    pieces = [".", "\r\n", "\n", "\r", "x", ".\n", "\n.", "\r."]
    for _ in range(5_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 25)))
        normalised = smtplib._fix_eols(text).encode("ascii")
        assert dot_stuff(normalised) == smtplib_payload(text), text


def test_a_real_message_is_stuffed_only_where_a_line_starts_with_a_dot():
    message = b"Subject: x\r\n\r\n.hidden\r\nline\r\n.\r\nend.\r\n"
    assert dot_stuff(message) == b"Subject: x\r\n\r\n..hidden\r\nline\r\n..\r\nend.\r\n.\r\n"


def test_plain_addresses_skip_parsing_and_equal_quoteaddr():
    rng = random.Random(3)
    local = "abcXYZ0189.!#$%&'*+/=?^_`{|}~-"
    domain = "abcxyz019.-"
    for _ in range(20_000):
        address = ("".join(rng.choice(local) for _ in range(rng.randrange(1, 20))) + "@"
                   + "".join(rng.choice(domain) for _ in range(rng.randrange(1, 20))))
        assert envelope_address(address) == smtplib.quoteaddr(address), address


@pytest.mark.parametrize("address", ['"a b"@example.org', "Reader <r@example.org>", "<r@example.org>",
                                     "jörg@example.org", "a(comment)@example.org", "", "nobody"])
def test_other_addresses_go_through_quoteaddr(address):
    assert envelope_address(address) == smtplib.quoteaddr(address)


@pytest.mark.parametrize("address", ["\r\n", " <\n>"])  # quoteaddr gives these back as they are
def test_line_breaks_never_reach_the_envelope(address):
    with pytest.raises(ValueError):
        envelope_address(address)


class _Dialogue:
    """An smtplib.SMTP stand-in that writes down what the session does, in order."""

    def __init__(self, pipelining: bool):
        import socket

        self.sock = socket.socket()  # for the session's TCP_NODELAY
        self.pipelining, self.steps = pipelining, []
        self.replies = [(250, b"ok"), (250, b"ok"), (354, b"go"), (250, b"ok")]  # MAIL, RCPT, DATA, end of data

    def has_extn(self, name):
        return name == "pipelining" and self.pipelining

    def send(self, data):
        self.steps.append("write " + bytes(data)[:4].decode())

    def getreply(self):
        self.steps.append("read")
        return self.replies.pop(0)


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-by-one"])
def test_the_hooks_come_while_the_relay_answers(pipelining):
    """The next message is drafted while the relay answers the envelope and signed while it
    reads the data (delivery/completion.Lookahead): each hook comes after a write and
    before the read of its answer; the last mark is settled before the end of data."""
    from newsletter.transport.smtp_client import SMTPSession

    conn = _Dialogue(pipelining)
    session = SMTPSession(conn)
    hook = lambda name: lambda: conn.steps.append(name)  # noqa: E731
    session.send("a@example.org", "b@example.org", b"Subject: x\r\n\r\nbody\r\n", before_end=hook("before_end"),
                 while_waiting=hook("while_waiting"), dot_safe=True, while_envelope=hook("while_envelope"))
    conn.sock.close()
    if pipelining:
        assert conn.steps == ["write MAIL", "while_envelope", "read", "read", "read", "write Subj", "before_end",
                              "write .\r\n", "while_waiting", "read"]
    else:
        assert conn.steps == ["write MAIL", "while_envelope", "read", "write RCPT", "read", "write DATA", "read",
                              "write Subj", "before_end", "write .\r\n", "while_waiting", "read"]
