"""Mail to the mailto: address of List-Unsubscribe: `unsubscribe+<token>@<bounce domain>`.

Every edition (and the welcome) offers it beside the https URL where the publication
uses VERP (delivery/compose.py); the token names what the unsubscribe link names (the
subscriber, their link key, the publication, the edition) and is signed
(tracking/tokens.py). The operator routes it like the VERP addresses (a `+` recipient
delimiter on the bounce domain), so it arrives by the same intake as bounces: a mailbox
beat reads, or POST /bounces/inbound with `?recipient=`. It is stored raw first like a
report, then recognised here by the address it was sent to: the envelope recipient the
relay gave, or the header fields where mail systems write it, never the body (a bounce
quotes our headers, List-Unsubscribe included).

A valid token unsubscribes its person from its publication with the method `mailto` and
the edition it came from, as the link does (subscribers/unsubscribe.py): once; the same
mail again, or another one with the same token, changes and records nothing. A forged
or altered token, or one whose subscriber was erased (their key rotated), does nothing.
Nobody is answered: a reply would tell a stranger the address exists.
"""
from __future__ import annotations

from email.parser import BytesHeaderParser
from email.utils import getaddresses

from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceReport, ReportStatus
from newsletter.subscribers.unsubscribe import unsubscribe_with_claim
from newsletter.text import one_line
from newsletter.tracking.models import Method
from newsletter.tracking.tokens import MAILTO_PREFIX, InvalidToken, Tokens

# Where the envelope recipient shows in a delivered message, most reliable first.
_RECIPIENT_FIELDS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-rcpt-to", "to", "cc")


def addressed_to(report: BounceReport) -> list[str]:
    """The unsubscribe addresses this message was sent to, best first (none: not a request)."""
    found = [report.envelope_to] if report.envelope_to else []
    headers = BytesHeaderParser().parsebytes(report.raw[:64 * 1024])
    for name in _RECIPIENT_FIELDS:
        found += [a for _, a in getaddresses([one_line(str(v)) for v in headers.get_all(name, [])]) if a]
    return [a for a in dict.fromkeys(found) if a.lower().startswith(MAILTO_PREFIX)]


def is_request(report: BounceReport) -> bool:
    """Whether a stored report is mail to an unsubscribe address (a provider's event never is)."""
    return not report.provider and bool(addressed_to(report))


def handle(session: Session, tokens: Tokens, report: BounceReport) -> tuple[ReportStatus, str] | None:
    """None when the message is not a request to unsubscribe; otherwise the status and the
    outcome, in words, of acting on it (flushed; the caller commits)."""
    addresses = [] if report.provider else addressed_to(report)
    if not addresses:
        return None
    report.report_type, report.matched_by = "mailto", "mailto"
    for address in addresses:
        try:
            claim = tokens.read_mailto_unsubscribe(address)
        except InvalidToken:
            continue
        try:
            done = unsubscribe_with_claim(session, claim, Method.MAILTO)
        except InvalidToken:
            return ReportStatus.UNMATCHED, "unsubscribe by mail for a subscription that no longer exists: nothing done"
        report.subscriber_id, report.edition_id = done.subscriber.id, done.edition_id
        report.recipient = done.subscriber.email[:320]
        slug = done.publication.slug
        if not done.changed:
            return ReportStatus.PARSED, f"unsubscribe by mail from {slug}: already left, nothing changed"
        return ReportStatus.PARSED, f"unsubscribed from {slug} by mail"
    return ReportStatus.UNMATCHED, "mail to an unsubscribe address whose token is not valid: nothing done"
