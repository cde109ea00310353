"""Reading real report formats: the recipient, the status, what it means, and the traces
of our message (VERP address, Message-ID)."""
import pytest

from newsletter.bounces.models import BounceKind as K
from newsletter.bounces.parse import ReportUnreadable, finding, parse
from tests.bounce_samples import sample

VERP = "bounces+mfrggzdfmztwq2lknnwg23tpobyxe@bounces.example.com"
MID = "<edition.7.42.0123456789abcdef@spacewar.example.com>"


@pytest.mark.parametrize("name, report_type, kind, status", [
    ("postfix_user_unknown.eml", "dsn", K.HARD, "5.1.1"),
    ("exim_plain_user_unknown.eml", "text", K.HARD, "5.1.1"),  # not RFC 3464: flufl.bounce finds it
    ("gmail_no_such_user.eml", "dsn", K.HARD, "5.1.1"),
    ("gmail_over_quota.eml", "dsn", K.SOFT, "5.2.2"),
    ("gmail_policy_blocked.eml", "dsn", K.POLICY, "5.7.1"),
    ("exchange_recipient_not_found.eml", "dsn", K.HARD, "5.1.10"),
    ("exchange_delayed.eml", "dsn", K.DELAYED, "4.4.7"),
    ("yahoo_arf_abuse.eml", "arf", K.COMPLAINT, "abuse"),
    ("arf_address_only.eml", "arf", K.COMPLAINT, "abuse"),
])
def test_each_format_names_the_recipient_and_what_happened(name, report_type, kind, status):
    report = parse(sample(name, verp=VERP, rcpt="Ann.Reader@example.org", message_id=MID))
    first = report.first
    assert (report.report_type, first.kind, first.status) == (report_type, kind, status)
    assert first.address.lower() == "ann.reader@example.org"
    if name != "arf_address_only.eml":
        assert MID in report.message_ids
    if name not in ("arf_address_only.eml", "exim_plain_user_unknown.eml"):
        assert VERP in report.verp_candidates
    else:
        assert not any(a.startswith("bounces+") for a in report.verp_candidates)


def test_the_bounce_envelope_recipient_comes_before_the_rest():
    report = parse(sample("postfix_user_unknown.eml", verp=VERP))
    assert report.verp_candidates[0] == VERP  # Delivered-To
    assert "<20261130061208.4Qx7Zk0L3Gz1xy2@mx1.mail.example.net>" not in report.message_ids  # the bounce's own


@pytest.mark.parametrize("raw, why", [
    (b"", "empty"),
    (b"\x00\x01 not a message at all", "no header fields"),
    (sample("malformed_report.eml"), "no delivery-status"),
    (b"From: a@example.org\r\nSubject: out of office\r\n\r\nI am away until Monday.\r\n", "no delivery-status"),
])
def test_what_is_not_a_report_is_refused_with_a_reason(raw, why):
    with pytest.raises(ReportUnreadable, match=why):
        parse(raw)


def test_a_feedback_report_without_its_type_is_unreadable():
    raw = sample("yahoo_arf_abuse.eml").replace(b"Feedback-Type: abuse\r\n", b"")
    with pytest.raises(ReportUnreadable, match="Feedback-Type"):
        parse(raw)


def test_a_not_spam_report_is_no_complaint():
    raw = sample("yahoo_arf_abuse.eml").replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    assert parse(raw).first.kind == K.OTHER


@pytest.mark.parametrize("action, status, diagnostic, kind", [
    ("failed", "5.1.1", "smtp; 550 5.1.1 no such user", K.HARD),
    ("failed", "5.2.1", "smtp; 550 5.2.1 account disabled", K.SOFT),  # disabled: it may come back
    ("failed", "5.2.1", "smtp; 550 5.2.1 this account has been closed", K.HARD),
    ("failed", "5.2.2", "smtp; 552 5.2.2 mailbox full", K.SOFT),
    ("failed", "5.2.3", "smtp; 552 5.2.3 message too big", K.POLICY),  # the message, not the mailbox
    ("failed", "4.4.1", "", K.SOFT),  # the relay gave up on a temporary failure
    ("failed", "5.7.1", "smtp; 550 5.7.1 blocked", K.POLICY),
    ("failed", "5.7.26", "smtp; 550 5.7.26 unauthenticated", K.POLICY),
    ("failed", "5.4.4", "", K.SOFT),  # no route, and no word of an unknown host
    ("failed", "5.4.4", "smtp; Host or domain name not found", K.HARD),
    ("failed", "", "smtp; 550 user unknown", K.HARD),
    ("failed", "", "smtp; 550 Requested action not taken: mailbox unavailable", K.UNCERTAIN),
    ("failed", "5.0.0", "", K.UNCERTAIN),  # permanent, and nothing more
    ("failed", "", "smtp; 554 rejected", K.POLICY),
    ("failed", "", "", K.SOFT),  # no code at all: no proof
    ("delayed", "4.4.7", "", K.DELAYED),
    ("delivered", "2.0.0", "", K.OTHER),
])
def test_a_dsns_fields_alone(action, status, diagnostic, kind):
    assert finding("ann@example.org", action, status, diagnostic).kind == kind


MULTI = b"""From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: bounces@news.example.com
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  a@example.org
    user unknown
  b@example.org
    mailbox is full
"""


def test_a_bounce_without_codes_speaks_for_each_address_by_its_own_lines():
    """The unknown user is hard; the full mailbox beside it is not made hard by its words."""
    found = {r.address: (r.status, r.kind) for r in parse(MULTI).recipients}
    assert found == {"a@example.org": ("", K.HARD), "b@example.org": ("", K.SOFT)}
