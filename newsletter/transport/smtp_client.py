"""One message's SMTP transaction, with no work the wire does not need.

smtplib's `sendmail` spends more CPU than the rest of a send together: a regular
expression over the whole message to stuff dots, two address parses, and four
round trips. Here the connection is still set up by smtplib (EHLO, STARTTLS, AUTH:
rare and delicate), and each message is then:

- dot-stuffed with one `bytes.replace` (`dot_stuff`: byte for byte what smtplib's
  `data()` sends, proven over generated inputs in tests/unit/delivery), or not at all
  when the caller knows no line of the message starts with a dot (`dot_safe`: the
  composer knows it of its digests, render/quoted_printable.py; the search alone costs 30 us
  of a 34 KB message);
- addressed without parsing when the address is plain ASCII (`envelope_address`);
- sent as MAIL, RCPT and DATA in one write when the relay offers PIPELINING
  (RFC 2920), then the body: two round trips instead of four. Without PIPELINING,
  the plain dialogue, one command at a time.

One message at a time, never the next MAIL before the last message's final reply.
The caller may hook two moments of a message (delivery/batch.py: so that only the
message in flight can go twice, and the wait is not spent asleep):
- `before_end`, once the body is written but not the end-of-data line: the relay
  cannot take the message yet. If the hook raises, the connection is dropped
  without that line, and the hook's exception goes up: a relay keeps no message
  whose data never ended (as when a sender dies mid-message, which the delivery
  guarantee already counts on). Nothing else can abort DATA: an RSET there would
  only be part of the body.
- `while_envelope`, once the envelope (MAIL, RCPT, DATA) is written, before its
  replies are read, and `while_waiting`, once the end-of-data line is written, before
  its reply is read: work for the next message, done while the relay reads this one
  (the sender renders the next message in the first wait and signs it in the second).
  They must not raise.

Every refusal leaves through `failures.refusal(stage, code, text)` with the stage of
the command that was refused: MAIL (the message's sender), RCPT (that recipient),
DATA (the message, at the DATA command or after the body). After a refusal inside a
pipelined group the DATA stage is closed as RFC 2920 says (a DATA that got 354 all
the same is ended with a lone dot, no body) and the transaction is reset with RSET.
A connection that breaks mid-message raises `ConnectionLost`: its outcome is unknown
once the body went out (`unsent` False); before that, the relay cannot have taken it.
"""
from __future__ import annotations

import re
import smtplib
import socket

from newsletter.transport.failures import SendFailure, Stage, refusal

CRLF = b"\r\n"
END_OF_DATA = b".\r\n"
# Plain addresses, which smtplib's quoteaddr returns unchanged in angle brackets: an
# RFC 5322 dot-atom-ish local part (dots anywhere, as parseaddr keeps them) and a
# hostname. Anything else (quotes, spaces, brackets, UTF-8) goes through quoteaddr.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_RCPT_OK = (250, 251)  # 251: "user not local; will forward" (smtplib accepts it too)


class ConnectionLost(Exception):
    """The connection broke, or timed out, before the message's final reply. `unsent`:
    before the body was sent, so the relay did not take the message."""

    def __init__(self, message: str, unsent: bool = False):
        super().__init__(message)
        self.unsent = unsent


def dot_stuff(data: bytes) -> bytes:
    """The DATA payload for `data`: what smtplib.SMTP.data() sends for bytes.

    smtplib doubles a dot that starts a line (`(?m)^\\.`: at the very start, or after
    a LF), makes sure the message ends with CRLF, and adds the terminating dot line.
    One replace does the same: b"\\n." never overlaps itself."""
    stuffed = data.replace(b"\n.", b"\n..")
    if stuffed[:1] == b".":
        stuffed = b"." + stuffed
    if stuffed[-2:] != CRLF:
        stuffed += CRLF
    return stuffed + END_OF_DATA


def with_end_of_data(data: bytes) -> bytes:
    """The DATA payload for `data` in which no line starts with a dot: `dot_stuff` without
    the search."""
    return data + (END_OF_DATA if data[-2:] == CRLF else CRLF + END_OF_DATA)


def envelope_address(address: str) -> str:
    """`<address>` as smtplib's quoteaddr makes it, without parsing a plain address."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    quoted = smtplib.quoteaddr(address)
    if "\r" in quoted or "\n" in quoted:  # as smtplib's putcmd refuses them
        raise ValueError("an envelope address must not contain line breaks")
    return quoted


def _first_refusal(mail, rcpt, data) -> tuple[Stage, int, bytes] | None:
    """The first refused command of a MAIL, RCPT, DATA group, in command order.
    A reply still missing (None) refuses nothing."""
    if mail is not None and mail[0] != 250:
        return Stage.MAIL, *mail
    if rcpt is not None and rcpt[0] not in _RCPT_OK:
        return Stage.RCPT, *rcpt
    if data is not None and data[0] != 354:
        return Stage.DATA, *data
    return None


class SMTPSession:
    """Transactions on one smtplib connection that has been greeted (and secured, and
    logged in). `alive` turns False when the connection can no longer be used."""

    def __init__(self, conn: smtplib.SMTP):
        self.conn = conn
        self.alive = True
        # Each burst goes out in one write, so Nagle's algorithm could only hold back
        # the tail of a large body until the relay acknowledges the rest.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pipelining = conn.has_extn("pipelining")
        self.size = conn.has_extn("size")
        self.smtputf8 = conn.has_extn("smtputf8")

    def send(self, sender: str, recipient: str, data: bytes, smtputf8: bool = False,
             before_end=None, while_waiting=None, dot_safe: bool = False, while_envelope=None) -> None:
        """Deliver `data` (CRLF line ends) to one recipient; returns after the final 250.
        `dot_safe`: no line of `data` starts with a dot (it is sent without stuffing).
        Raises SendFailure for a refusal, ConnectionLost for a broken connection, and
        what `before_end` raises (the message withheld; see the module's docstring)."""
        params = f" SIZE={len(data)}" if self.size else ""
        if smtputf8:
            params += " SMTPUTF8"
        encoding = "utf-8" if smtputf8 else "ascii"
        mail = f"MAIL FROM:{envelope_address(sender)}{params}\r\n".encode(encoding)
        rcpt = f"RCPT TO:{envelope_address(recipient)}\r\n".encode(encoding)
        try:
            if self.pipelining:
                payload = self._pipelined(mail + rcpt + b"DATA\r\n", data, dot_safe, while_envelope)
            else:
                payload = self._one_by_one(mail, rcpt, data, dot_safe, while_envelope)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            raise ConnectionLost(str(exc) or type(exc).__name__, unsent=True) from exc
        ending = END_OF_DATA if before_end is not None else b""
        try:
            self.conn.send(memoryview(payload)[:-len(ending)] if ending else payload)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            raise ConnectionLost(str(exc) or type(exc).__name__) from exc
        if before_end is not None:
            try:
                before_end()
            except BaseException:
                self.drop()  # the data never ends: the relay discards this message
                raise
        try:
            if ending:
                self.conn.send(ending)
            if while_waiting is not None:
                while_waiting()
            code, text = self.conn.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            raise ConnectionLost(str(exc) or type(exc).__name__) from exc
        if code != 250:
            raise self._refused(Stage.DATA, code, text)

    def _pipelined(self, group: bytes, data: bytes, dot_safe: bool, while_envelope=None) -> bytes:
        """MAIL, RCPT and DATA in one write; returns the payload to send when DATA got 354.
        The payload is stuffed while the relay reads the group: its answers are then
        usually there before we ask, and the process does not sleep to wait for them."""
        conn = self.conn
        conn.send(group)
        payload = with_end_of_data(data) if dot_safe else dot_stuff(data)
        if while_envelope is not None:
            while_envelope()
        replies = [None, None, None]
        try:
            for i in range(3):
                replies[i] = conn.getreply()
        except (smtplib.SMTPServerDisconnected, OSError):
            refused = _first_refusal(*replies)
            if refused is None:
                raise
            self.drop()  # the relay said no, then hung up: its answer is the outcome
            raise refusal(*refused) from None
        refused = _first_refusal(*replies)
        if refused is None:
            return payload
        if replies[2][0] == 354:
            # DATA accepted with no valid sender or recipient before it (RFC 2920,
            # 3.1): end the data at once, with no body, and ignore that answer.
            try:
                conn.send(END_OF_DATA)
                conn.getreply()
            except (smtplib.SMTPServerDisconnected, OSError):
                self.drop()
        raise self._refused(*refused)

    def _one_by_one(self, mail: bytes, rcpt: bytes, data: bytes, dot_safe: bool, while_envelope=None) -> bytes:
        payload = b""
        for stage, command, accepted in ((Stage.MAIL, mail, (250,)), (Stage.RCPT, rcpt, _RCPT_OK),
                                         (Stage.DATA, b"DATA\r\n", (354,))):
            self.conn.send(command)
            if not payload:  # while the relay answers MAIL
                payload = with_end_of_data(data) if dot_safe else dot_stuff(data)
                if while_envelope is not None:
                    while_envelope()
            code, text = self.conn.getreply()
            if code not in accepted:
                raise self._refused(stage, code, text)
        return payload

    def _refused(self, stage: Stage, code: int, text: bytes) -> SendFailure:
        """The refusal to raise, after making the connection ready for the next message:
        RSET, or nothing more at all when the relay is closing (421) or RSET fails."""
        if code == 421:
            self.drop()
        elif self.alive:
            try:
                self.conn.send(b"RSET\r\n")
                if self.conn.getreply()[0] != 250:
                    self.drop()
            except (smtplib.SMTPServerDisconnected, OSError):
                self.drop()
        return refusal(stage, code, text)

    def drop(self) -> None:
        """Close without a word: after a failure the dialogue's state is unknown."""
        self.alive = False
        try:
            self.conn.close()
        except OSError:
            pass

    def quit(self) -> None:
        if self.alive:
            self.alive = False
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.drop()
