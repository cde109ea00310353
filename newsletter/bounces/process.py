"""From a stored report to what it means for the subscriber.

| kind      | what happens                                                                 |
|-----------|------------------------------------------------------------------------------|
| hard      | suppress the address, end the subscription (bounce method)                   |
| complaint | suppress the address, end the subscription (complaint method)                |
| soft      | counted; suppress (as a bounce) once `soft_bounce_threshold` editions bounced |
|           | softly within `soft_bounce_window_days`, like Mailman's bounce score         |
| policy    | 5.7.x: the receiver's verdict on us; recorded, never suppresses anyone       |
| delayed   | the relay is still trying: nothing                                           |

A report that names the same subscriber and edition as one already acted upon (a
second copy of a complaint, two DSNs for one message) changes nothing more. Every
step runs in a savepoint: a report whose processing fails keeps its bytes, its error
and the status `failed`, and nothing it half did stays behind.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import metrics
from newsletter.bounces import personal, providers, unsubscribe_mail
from newsletter.bounces.match import Match, find
from newsletter.bounces.models import BounceKind, BounceReport, ReportStatus
from newsletter.bounces.parse import ParsedReport, ReportUnreadable, parse
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.subscribers.lifecycle import end_for_address
from newsletter.tracking.models import EventKind
from newsletter.tracking.tokens import Tokens

log = logging.getLogger(__name__)
K = BounceKind


@dataclass(frozen=True)
class Outcome:
    status: ReportStatus
    text: str


def process_report(session: Session, settings: Settings, report_id: int, tokens: Tokens | None = None) -> str:
    """Process one stored report (again, for a reprocess); returns its new status. Flushes;
    the caller commits."""
    report = session.get(BounceReport, report_id)
    report.attempts += 1
    for name in ("parse_error", "report_type", "kind", "recipient", "status_code", "diagnostic", "matched_by",
                 "outcome"):
        setattr(report, name, "")
    report.delivery_id = report.subscriber_id = report.edition_id = None
    report.status = ReportStatus.RECEIVED
    session.flush()
    secret = settings.signing_key()
    tokens = tokens or Tokens(secret)
    try:
        with session.begin_nested():
            requested = unsubscribe_mail.handle(session, tokens, report)  # mail to a mailto: unsubscribe address
            if requested is not None:
                outcome = Outcome(*requested)
            else:
                parsed = providers.read(report.provider, report.raw) if report.provider else parse(report.raw)
                _describe(report, parsed)
                outcome = _apply(session, settings, tokens, secret, report, parsed)
    except ReportUnreadable as exc:
        outcome = _failed(report, str(exc))
    except Exception as exc:  # a bug in reading: keep the report, say why, reprocess later
        log.exception("bounce report %s could not be processed", report_id)
        outcome = _failed(report, f"{type(exc).__name__}: {exc}")
    report.status, report.outcome, report.processed_at = outcome.status, outcome.text[:2000], utcnow()
    session.flush()
    # Ids, not the text: the outcome names the address (kept on the report, for operators).
    log.info("bounce report %s: %s %s (matched by %s)", report_id, outcome.status, report.kind or "-",
             report.matched_by or "nothing", extra={"edition_id": report.edition_id, "delivery_id": report.delivery_id})
    return report.status


def _failed(report: BounceReport, error: str) -> Outcome:
    report.parse_error = error[:2000]
    return Outcome(ReportStatus.FAILED, "kept for `newsletter bounces reprocess`")


def _describe(report: BounceReport, parsed: ParsedReport) -> None:
    first = parsed.first
    report.report_type, report.kind, report.recipient = parsed.report_type, first.kind, first.address[:320]
    report.status_code, report.diagnostic = first.status[:16], first.diagnostic[:2000]


def _apply(session: Session, settings: Settings, tokens: Tokens, secret: str, report: BounceReport,
           parsed: ParsedReport) -> Outcome:
    first = parsed.first
    match = find(session, tokens, secret, parsed, report.envelope_to, first.address)
    if match is None:
        return Outcome(ReportStatus.UNMATCHED, f"{first.kind} for {first.address or 'an unnamed recipient'}: "
                                               "no delivery or subscriber of ours")
    if match.request is not None:  # a personal email about a request, not a subscriber (bounces/personal.py)
        return Outcome(ReportStatus.PARSED, personal.settle(session, report, match.by, match.request, first.kind))
    report.matched_by, report.subscriber_id = match.by, match.subscriber_id
    report.delivery_id, report.edition_id = match.delivery_id, match.edition_id
    kind = K(first.kind)
    if kind in (K.DELAYED, K.OTHER):
        return Outcome(ReportStatus.PARSED, f"{first.action or first.status}: nothing to do")
    earlier = _earlier(session, report, match, kind)
    if earlier is not None:
        return Outcome(ReportStatus.PARSED, f"already counted (report {earlier})")
    source = "report"
    if kind == K.POLICY:
        metrics.bounced("policy", source)
        return Outcome(ReportStatus.PARSED, f"policy refusal {first.status}: nobody suppressed")
    detail = f"{first.status} {first.diagnostic}".strip()
    if kind in (K.HARD, K.COMPLAINT):
        event = EventKind.BOUNCE if kind == K.HARD else EventKind.COMPLAINT
        _end(session, match, event, f"{kind} ({report.report_type}): {detail}", report)
        metrics.bounced("hard", source) if kind == K.HARD else metrics.complained()
        return Outcome(ReportStatus.PARSED, f"{kind}: {match.email} suppressed, subscription ended")
    metrics.bounced("soft", source)
    count = _soft_score(session, settings, report, match)
    window = f"{settings.soft_bounce_window_days} days"
    if count < settings.soft_bounce_threshold:
        return Outcome(ReportStatus.PARSED, f"soft bounce {count} of {settings.soft_bounce_threshold} within {window}")
    _end(session, match, EventKind.BOUNCE, f"{count} soft bounces within {window}; last: {detail}", report)
    return Outcome(ReportStatus.PARSED, f"soft bounce {count} of {settings.soft_bounce_threshold} within {window}: "
                                        f"{match.email} suppressed, subscription ended")


def _end(session: Session, match: Match, event: EventKind, detail: str, report: BounceReport) -> None:
    for publication_id in match.publication_ids or (None,):
        end_for_address(session, match.subscriber_id, match.email, publication_id, match.edition_id, event,
                        detail, report.received_at)


def _earlier(session: Session, report: BounceReport, match: Match, kind: K) -> int | None:
    """A report already acted upon for the same subscriber, edition and kind."""
    if match.edition_id is None or kind == K.POLICY:
        return None
    return session.scalar(select(BounceReport.id).where(
        BounceReport.subscriber_id == match.subscriber_id, BounceReport.edition_id == match.edition_id,
        BounceReport.kind == kind, BounceReport.status == ReportStatus.PARSED, BounceReport.id != report.id)
        .order_by(BounceReport.id).limit(1))


def _soft_score(session: Session, settings: Settings, report: BounceReport, match: Match) -> int:
    """Editions that bounced softly within the window, this report included (reports
    without an edition count one each)."""
    since = report.received_at - timedelta(days=settings.soft_bounce_window_days)
    editions = list(session.scalars(select(BounceReport.edition_id).where(
        BounceReport.subscriber_id == match.subscriber_id, BounceReport.kind == K.SOFT,
        BounceReport.status == ReportStatus.PARSED, BounceReport.received_at >= since,
        BounceReport.id != report.id)))
    editions.append(match.edition_id)
    return len({e for e in editions if e is not None}) + sum(1 for e in editions if e is None)


def pending(session: Session, limit: int = 1000) -> list[int]:
    """Reports stored and not processed (a post answered before its processing ran, a crash)."""
    return list(session.scalars(select(BounceReport.id).where(BounceReport.status == ReportStatus.RECEIVED)
                                .order_by(BounceReport.id).limit(limit)))


def to_reprocess(session: Session, ids: list[int] | None = None) -> list[int]:
    """The given reports, or every failed and unmatched one."""
    q = select(BounceReport.id).order_by(BounceReport.id)
    if ids:
        q = q.where(BounceReport.id.in_(ids))
    else:
        q = q.where(BounceReport.status.in_([ReportStatus.FAILED, ReportStatus.UNMATCHED, ReportStatus.RECEIVED]))
    return list(session.scalars(q))
