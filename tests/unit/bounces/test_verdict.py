"""The rule of bounces/verdict.py: evidence about the address itself, in the texts that
name it, closest first; words of a refusal of us win whatever the code; a generic code
takes the words and the code of its diagnostic."""
import pytest

from newsletter.bounces.models import BounceKind as K
from newsletter.bounces.parse import parse
from newsletter.bounces.verdict import enhanced_in, read, reply_in
from tests.bounce_samples import sample

SPAM = ("550-5.7.1 [203.0.113.40] Our system has detected that this message is likely unsolicited mail. "
        "To reduce the amount of spam sent to Gmail, this message has been blocked.")


@pytest.mark.parametrize("status, diagnostic, kind", [
    ("5.0.0", SPAM, K.POLICY),  # Exim always says 5.0.0: the diagnostic speaks
    ("5.1.8", "501 5.1.8 <bounces@news.example.com>: Sender address rejected: Domain not found", K.POLICY),
    ("5.2.0", "550 5.2.0 Message rejected by content filter: suspected spam", K.POLICY),
    ("5.0.0", "550 5.1.1 <ann@example.org>: Recipient address rejected: User unknown in local recipient table",
     K.HARD),
])
def test_the_issues_cases_in_a_dsn(status, diagnostic, kind):
    report = parse(sample("exim_dsn_generic.eml", rcpt="ann@example.org", status=status, diagnostic=diagnostic))
    assert [(r.address, r.kind) for r in report.recipients] == [("ann@example.org", kind)]


def test_a_plain_text_bounce_naming_two_unknown_users_names_both():
    report = parse(sample("qmail_two_unknown_users.eml", rcpt="ann@example.org", rcpt2="bob@example.net"))
    assert [(r.address, r.kind) for r in report.recipients] == [("ann@example.org", K.HARD),
                                                                ("bob@example.net", K.HARD)]
    assert "Sorry, no mailbox here" in report.recipients[0].diagnostic  # each by its own lines
    assert "Unknown user" in report.recipients[1].diagnostic


@pytest.mark.parametrize("status, texts, kind", [
    # Words of a refusal of us, whatever the code.
    ("5.1.1", ["550 5.7.1 IP address blacklisted by recipient"], K.POLICY),
    ("5.1.1", ["550 5.1.1 <a@example.org> - 203.0.113.9 has sent to too many recipients this hour"], K.POLICY),
    ("5.0.0", ["550 Bad SPF records for [example.com:192.0.2.2]"], K.POLICY),
    ("5.0.0", ["550 5.7.1 Connections not accepted from servers without a valid sender domain. Fix reverse DNS"],
     K.POLICY),
    ("5.0.0", ["554 5.7.1 <a@example.org>: Relay access denied"], K.POLICY),
    ("5.0.0", ["550 Virus Detected; Content Rejected"], K.POLICY),
    ("5.0.0", ["550 DMARC check failed"], K.POLICY),
    ("5.1.7", ["SMTP error from remote mail server after MAIL FROM:<b@news.example.com>: 550 5.1.7 No such domain"],
     K.POLICY),  # refused when we named our sender: about us
    # Mailbox full, disabled: the mailbox exists.
    ("5.1.1", ["552 sorry, mailbox a@example.org is over quota temporarily (#5.1.1)"], K.SOFT),
    ("5.2.1", ["550-5.2.1 The email account that you tried to reach is disabled."], K.SOFT),
    ("5.0.0", ["550 5.2.1 Mailbox disabled, not accepting messages"], K.SOFT),
    # Evidence about the address.
    ("5.0.0", ["550 5.1.1 The email account that you tried to reach does not exist."], K.HARD),
    ("", ["553 5.3.0 <a@example.org>... Addressee unknown"], K.HARD),
    ("5.0.0", ["554 delivery error: dd This user doesn't have a yahoo.com account (a@yahoo.com) [0]"], K.HARD),
    ("", ["554 delivery error: dd Sorry your message to a@yahoo.com cannot be delivered. This account has been "
          "disabled or discontinued [#102]."], K.HARD),  # discontinued: closed
    ("5.4.4", ["Host or domain name not found. Name service error for name=example.invalid type=A: Host not found"],
     K.HARD),
    ("5.4.4", ["Host not found, try again"], K.UNCERTAIN),  # the receiver itself says it may change
    ("5.1.2", [""], K.UNCERTAIN),  # a bad host, without the words that say it is unknown
    ("5.1.10", [""], K.HARD),  # null MX
    ("4.1.1", ["450 4.1.1 <a@example.org>: Recipient address rejected: User unknown"], K.UNCERTAIN),
    # A generic code with nothing more: the reply code decides, never at once.
    ("5.0.0", ["550 Requested action not taken: mailbox unavailable"], K.UNCERTAIN),
    ("5.0.0", [""], K.UNCERTAIN),
    ("5.0.0", ["554 Transaction failed"], K.POLICY),
    ("", ["421 Service not available"], K.SOFT),
    ("", [""], K.SOFT),
    # The closest text decides: the Diagnostic-Code's specific code before the notice's words.
    ("5.0.0", ["550 5.1.1 Recipient unknown", "this mailbox is protected by a spam filter"], K.HARD),
    ("5.0.0", ["", "a@example.org: 550 5.7.26 Multiple authentication checks failed"], K.POLICY),
    # Names are not words: an address or a link's path says nothing of the cause.
    ("5.1.1", ["550 5.1.1 <filtered@example.net>: User unknown. See https://example.net/reason/#filtered"],
     K.HARD),
    ("", ["553 http://www.spamhaus.org/query/bl?ip=192.0.2.222"], K.POLICY),  # the host is kept
])
def test_the_rule(status, texts, kind):
    assert read("failed", status, texts).kind == kind


@pytest.mark.parametrize("action, kind", [("delayed", K.DELAYED), ("delivered", K.OTHER), ("relayed", K.OTHER)])
def test_what_is_no_failure_does_nothing_whatever_it_says(action, kind):
    assert read(action, "5.1.1", ["550 5.1.1 User unknown"]).kind == kind


@pytest.mark.parametrize("text, enhanced, reply", [
    ("smtp; 550-5.7.1 [192.0.2.25 4] blocked", "5.7.1", 550),
    ("Remote host said: 550 5.1.1 <a@b.c>... (#5.1.1)", "5.1.1", 550),
    ("by 00000000.mxlogic.net (mxl_mta-5.5.0-3) with ESMTP", "", 0),  # a version, not a code
    ("host 192.0.2.225 said: 554 Transaction failed", "", 554),  # 225 is a piece of an address
    ("ERROR_CODE :550, ERROR_CODE :5.1.1 <a@b.c>... User Unknown", "5.1.1", 0),
])
def test_codes_are_read_where_they_are_codes(text, enhanced, reply):
    assert (enhanced_in(text), reply_in(text)) == (enhanced, reply)
