"""The failure taxonomy: who is punished for which answer (nobody, unless it is about them)."""
import pytest

from newsletter.addresses import wire_address
from newsletter.transport.failures import FailureClass as F
from newsletter.transport.failures import Stage, classify, enhanced_code


@pytest.mark.parametrize("stage, code, text, expected", [
    # the recipient: hard bounce
    (Stage.RCPT, 550, "5.1.1 No such user", F.RECIPIENT_REFUSED),
    (Stage.RCPT, 550, "5.2.1 Mailbox disabled", F.RECIPIENT_REFUSED),
    (Stage.RCPT, 550, "No such user here", F.RECIPIENT_REFUSED),
    (Stage.RCPT, 551, "User not local", F.RECIPIENT_REFUSED),
    (Stage.RCPT, 553, "Mailbox name not allowed", F.RECIPIENT_REFUSED),
    (Stage.DATA, 550, "5.1.1 RESOLVER.ADR.RecipNotFound", F.RECIPIENT_REFUSED),
    # the sender, the message, policy: nobody suppressed
    (Stage.MAIL, 550, "5.7.1 Sender rejected", F.MESSAGE_REFUSED),
    (Stage.MAIL, 553, "Sender address rejected", F.MESSAGE_REFUSED),
    (Stage.MAIL, 550, "5.1.8 Bad sender's mailbox address syntax", F.MESSAGE_REFUSED),
    (Stage.DATA, 554, "5.7.1 Message rejected as spam", F.MESSAGE_REFUSED),
    (Stage.DATA, 554, "Transaction failed", F.MESSAGE_REFUSED),
    (Stage.DATA, 550, "5.6.0 Content rejected", F.MESSAGE_REFUSED),
    (Stage.RCPT, 550, "5.3.4 Message too big for system", F.MESSAGE_REFUSED),
    (Stage.RCPT, 554, "5.4.6 Routing loop detected", F.MESSAGE_REFUSED),
    (Stage.RCPT, 550, "5.7.1 Service unavailable; client host blocked", F.POLICY_REFUSED),
    (Stage.RCPT, 554, "Service unavailable; Client host blocked using zen.spamhaus.org", F.POLICY_REFUSED),
    (Stage.RCPT, 503, "Bad sequence of commands", F.MESSAGE_REFUSED),
    # temporary: 4xx, mailbox full, too big for this mailbox (RFC 5321, Mailman)
    (Stage.RCPT, 450, "4.2.0 Greylisted", F.TEMPORARY),
    (Stage.DATA, 451, "4.3.0 Try again later", F.TEMPORARY),
    (Stage.RCPT, 552, "Mailbox full", F.TEMPORARY),
    (Stage.DATA, 552, "5.3.4 Message size exceeds fixed limit", F.TEMPORARY),
    (Stage.RCPT, 550, "5.2.2 Mailbox full", F.TEMPORARY),
    (Stage.DATA, 554, "5.2.3 Message too long for this mailbox", F.TEMPORARY),
    (Stage.MAIL, 421, "4.7.0 Too many connections", F.TEMPORARY),
    # nobody answering
    (Stage.CONNECT, 0, "Connection refused", F.RELAY_DOWN),
])
def test_classes(stage, code, text, expected):
    assert classify(stage, code, text) == expected


def test_enhanced_codes_are_read_only_at_the_start():
    code = enhanced_code("5.1.1 user unknown")
    assert (code.klass, code.subject, code.detail) == (5, 1, 1)
    assert enhanced_code("user unknown 5.1.1") is None
    assert enhanced_code("") is None


def test_wire_addresses():
    idn = wire_address("x@bücher.example")
    assert idn.address == "x@xn--bcher-kva.example" and not idn.needs_smtputf8
    utf8 = wire_address("jörg@example.org")
    assert utf8.address == "jörg@example.org" and utf8.needs_smtputf8
    assert wire_address("ann@Example.ORG").domain == "example.org"
