"""The SMTP send path against aiosmtpd on loopback, with and without PIPELINING.

aiosmtpd reads commands one line at a time, so it handles a pipelined group, but it
does not advertise PIPELINING: the handler here adds it to the EHLO answer or not.
It also records, for each MAIL, whether RCPT and DATA had already arrived with it
(the client wrote the group at once), and refuses on demand at every stage."""
from __future__ import annotations

import smtplib
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from newsletter.transport.backends import SMTPBackend
from newsletter.transport.failures import FailureClass, SendFailure, Stage
from tests.integration.servers import OffersPipelining, authenticator, free_port

SENDER = "bounces+abc@example.com"
MESSAGE = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
EDGES = [b".", b"..", b".\r\n", b"Subject: x\r\n\r\n.\r\n", b"Subject: x\r\n\r\na\r\n.\r\nb\r\n",
         b".start\r\nline\r\n", b"Subject: x\r\n\r\nno line end", b"Subject: x\r\n\r\nends in a dot\r\n.",
         b"x\r\n..\r\n...\r\n", b"Subject: x\r\n\r\n\r\n.\r\n\r\n"]


class Handler(OffersPipelining):
    def __init__(self, pipelining: bool):
        self.pipelining = pipelining
        self.sessions: list = []  # the session objects themselves: an id() can be reused once one is gone
        self.grouped: list[bool] = []  # per MAIL: RCPT already in the server's buffer
        self.reset_once: set[str] = set()
        self.messages: list[tuple[str, list[str], list[str], bytes]] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not any(seen is session for seen in self.sessions):
            self.sessions.append(session)
        self.grouped.append(b"RCPT TO:" in bytes(server._reader._buffer))
        if address.startswith("blocked"):
            return "550 5.7.1 sender refused by policy"
        if address.startswith("closing"):
            return "421 4.3.2 shutting down"
        if address.startswith("stale") and address not in self.reset_once:  # an idle connection the relay closed
            self.reset_once.add(address)
            server.transport.close()
            return None
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local == "gone":
            return "550 5.1.1 no such user"
        if local == "blocked":
            return "550 5.7.1 blocked by policy"
        if local == "later":
            return "451 4.3.0 try again later"
        if local == "gone-but-data":  # a relay that answers 354 to DATA all the same
            envelope.rcpt_tos.append(address)
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options),
                              envelope.original_content))
        rcpt = envelope.rcpt_tos[0].split("@")[0]
        if rcpt == "gone-but-data":
            return "554 5.5.1 no valid recipients"
        if rcpt == "spam":
            return "554 5.6.0 content refused"
        if rcpt == "drop":
            server.transport.close()  # no answer at all: the outcome is unknown
            return "250 OK"
        return "250 OK"

    def delivered(self) -> list[tuple[str, bytes]]:
        return [(rcpts[0], content) for _, rcpts, _, content in self.messages
                if rcpts[0].split("@")[0] not in ("gone-but-data", "spam", "drop")]


class RefusingDataSMTP(SMTP):
    """Refuses the DATA command itself for recipients named refuse-data."""

    async def smtp_DATA(self, arg):
        if any(r.startswith("refuse-data@") for r in self.envelope.rcpt_tos):
            await self.push("554 5.3.0 not accepting data now")
            return
        await super().smtp_DATA(arg)


class Server(Controller):
    def factory(self):
        return RefusingDataSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture(params=[True, False], ids=["pipelining", "no-pipelining"])
def relay(request):
    handler = Handler(pipelining=request.param)
    server = Server(handler, hostname="127.0.0.1", port=free_port(), decode_data=False)
    server.start()
    yield server
    server.stop()


def backend_for(server, **kwargs) -> SMTPBackend:
    backend = SMTPBackend("127.0.0.1", server.port, timeout=10, **kwargs)
    backend.open()
    return backend


def test_the_group_is_written_at_once_only_when_the_relay_offers_pipelining(relay):
    backend = backend_for(relay)
    for i in range(3):
        backend.send(SENDER, f"r{i}@example.org", MESSAGE, f"<{i}@x>")
    backend.close()
    assert backend.session is None
    assert relay.handler.grouped == [relay.handler.pipelining] * 3
    assert [r for r, _ in relay.handler.delivered()] == ["r0@example.org", "r1@example.org", "r2@example.org"]
    assert all(content == MESSAGE for _, content in relay.handler.delivered())
    assert relay.handler.messages[0][2] == [f"SIZE={len(MESSAGE)}"]
    assert len(relay.handler.sessions) == 1


def test_dot_edge_cases_arrive_exactly_as_smtplib_sends_them(relay):
    ours = backend_for(relay)
    for i, message in enumerate(EDGES):
        ours.send(SENDER, f"ours{i}@example.org", message, f"<{i}@x>")
    ours.close()
    theirs = smtplib.SMTP("127.0.0.1", relay.port, timeout=10)
    for i, message in enumerate(EDGES):
        theirs.sendmail(SENDER, [f"smtplib{i}@example.org"], message)
    theirs.quit()
    received = dict(relay.handler.delivered())
    for i, message in enumerate(EDGES):
        assert received[f"ours{i}@example.org"] == received[f"smtplib{i}@example.org"], message
    assert received["ours2@example.org"] == b".\r\n"  # the single dot line survived, unstuffed


@pytest.mark.parametrize("sender, recipient, failure_class, stage", [
    (SENDER, "gone@example.org", FailureClass.RECIPIENT_REFUSED, Stage.RCPT),
    (SENDER, "blocked@example.org", FailureClass.POLICY_REFUSED, Stage.RCPT),
    (SENDER, "later@example.org", FailureClass.TEMPORARY, Stage.RCPT),
    ("blocked@example.com", "r@example.org", FailureClass.MESSAGE_REFUSED, Stage.MAIL),
    (SENDER, "refuse-data@example.org", FailureClass.MESSAGE_REFUSED, Stage.DATA),
    (SENDER, "spam@example.org", FailureClass.MESSAGE_REFUSED, Stage.DATA),
])
def test_each_refusal_lands_in_its_class_and_the_connection_goes_on(relay, sender, recipient, failure_class,
                                                                     stage):
    backend = backend_for(relay)
    with pytest.raises(SendFailure) as refused:
        backend.send(sender, recipient, MESSAGE, "<1@x>")
    assert (refused.value.failure_class, refused.value.stage) == (failure_class, stage)
    backend.send(SENDER, "next@example.org", MESSAGE, "<2@x>")  # RSET left the session clean
    backend.close()
    assert relay.handler.delivered() == [("next@example.org", MESSAGE)]
    assert len(relay.handler.sessions) == 1


def test_a_refused_recipient_whose_data_got_354_gets_a_lone_dot_and_no_body(relay):
    backend = backend_for(relay)
    with pytest.raises(SendFailure) as refused:
        backend.send(SENDER, "gone-but-data@example.org", MESSAGE, "<1@x>")
    assert refused.value.failure_class == FailureClass.RECIPIENT_REFUSED and refused.value.stage == Stage.RCPT
    backend.send(SENDER, "next@example.org", MESSAGE, "<2@x>")
    backend.close()
    contents = [(rcpts[0], content) for _, rcpts, _, content in relay.handler.messages]
    if relay.handler.pipelining:  # the DATA was in the group: ended at once, empty
        assert contents == [("gone-but-data@example.org", b""), ("next@example.org", MESSAGE)]
    else:  # one command at a time: no DATA after a refused RCPT
        assert contents == [("next@example.org", MESSAGE)]
    assert len(relay.handler.sessions) == 1


def test_a_relay_that_closes_or_drops_costs_that_message_a_retry_and_the_next_reconnects(relay):
    """421 says the relay is unavailable, whoever the recipient: no attempt is charged
    (relay_down). A connection dropped after the body leaves that message's outcome
    unknown: a retry, charged. Either way the next message goes on a new connection."""
    backend = backend_for(relay)
    with pytest.raises(SendFailure) as closing:
        backend.send("closing@example.com", "r@example.org", MESSAGE, "<1@x>")
    assert closing.value.failure_class == FailureClass.RELAY_DOWN and closing.value.code == 421
    backend.send(SENDER, "a@example.org", MESSAGE, "<2@x>")
    with pytest.raises(SendFailure) as dropped:
        backend.send(SENDER, "drop@example.org", MESSAGE, "<3@x>")
    assert dropped.value.failure_class == FailureClass.TEMPORARY and "connection lost" in str(dropped.value)
    backend.send(SENDER, "b@example.org", MESSAGE, "<4@x>")
    backend.close()
    assert [r for r, _ in relay.handler.delivered()] == ["a@example.org", "b@example.org"]
    assert len(relay.handler.sessions) == 3  # a new connection after the 421 and after the drop


def test_a_reused_connection_the_relay_closed_is_opened_again_for_the_same_message(relay):
    """The relay closed an idle connection: the message had not gone out, it goes on a new
    one at once. A new connection that breaks before the message: the relay is unavailable."""
    backend = backend_for(relay)
    backend.send(SENDER, "a@example.org", MESSAGE, "<1@x>")
    backend.send("stale@example.com", "b@example.org", MESSAGE, "<2@x>")  # reset at MAIL, then again
    assert [r for r, _ in relay.handler.delivered()] == ["a@example.org", "b@example.org"]
    backend.close()
    relay.handler.reset_once.clear()
    with pytest.raises(SendFailure) as broken:  # the first message of a new connection
        backend.send("stale@example.com", "c@example.org", MESSAGE, "<3@x>")
    assert broken.value.failure_class == FailureClass.RELAY_DOWN and "lost before the message" in str(broken.value)


@pytest.mark.parametrize("smtputf8", [True, False], ids=["smtputf8", "no-smtputf8"])
def test_non_ascii_local_parts_need_smtputf8_and_idn_domains_go_as_idna(smtputf8):
    handler = Handler(pipelining=True)
    server = Server(handler, hostname="127.0.0.1", port=free_port(), decode_data=False,
                    enable_SMTPUTF8=smtputf8)
    server.start()
    try:
        backend = backend_for(server)
        backend.send(SENDER, "reader@bücher.example", MESSAGE, "<1@x>")
        if smtputf8:
            backend.send(SENDER, "jörg@example.org", MESSAGE, "<2@x>")
        else:
            with pytest.raises(SendFailure) as undeliverable:
                backend.send(SENDER, "jörg@example.org", MESSAGE, "<2@x>")
            assert undeliverable.value.failure_class == FailureClass.UNDELIVERABLE
        backend.send(SENDER, "after@example.org", MESSAGE, "<3@x>")
        backend.close()
    finally:
        server.stop()
    sent = [(rcpts[0], options) for _, rcpts, options, _ in handler.messages]
    size = f"SIZE={len(MESSAGE)}"
    expected = [("reader@xn--bcher-kva.example", [size])]
    if smtputf8:
        expected.append(("jörg@example.org", [size, "SMTPUTF8"]))
    assert sent == expected + [("after@example.org", [size])]
    assert len(handler.grouped) == len(expected) + 1  # nothing at all was sent for the refused one


def test_starttls_and_login_then_pipelined_sends(tls_files):
    key, cert = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    handler = Handler(pipelining=True)
    server = Server(handler, hostname="127.0.0.1", port=free_port(), decode_data=False, tls_context=context,
                    require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    server.start()
    try:
        backend = backend_for(server, starttls=True, username="relayuser", password="s3cret", ca_file=str(cert))
        assert backend.session.pipelining
        for i in range(3):
            backend.send(SENDER, f"r{i}@example.org", EDGES[4], f"<{i}@x>")
        backend.close()
    finally:
        server.stop()
    assert handler.grouped == [True] * 3
    assert [content for _, content in handler.delivered()] == [EDGES[4]] * 3
