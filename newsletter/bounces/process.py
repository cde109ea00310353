"""From a stored report to what it means for each subscriber it names.

| kind      | what happens                                                                  |
|-----------|-------------------------------------------------------------------------------|
| hard      | suppress the address, end the subscription (bounce method)                    |
| complaint | suppress the address, end the subscription (complaint method)                 |
| uncertain | counted; suppress (as a bounce) once `uncertain_bounce_threshold` editions    |
|           | failed so within `soft_bounce_window_days` (score.py)                         |
| soft      | counted; suppress (as a bounce) once `soft_bounce_threshold` editions bounced |
|           | within the window, like Mailman's bounce score                                |
| policy    | the receiver's verdict on us: recorded, never suppresses anyone               |
| delayed   | the relay is still trying: nothing                                            |

Every report takes one path, whatever brought it (a mailbox, a relay's post, a provider's
webhook): mail to a List-Unsubscribe mailto: address is an unsubscribe request, handled
first (unsubscribe_mail.py); anything else is read (`read`: parse.py, or the provider's
reader for a webhook's event) into findings judged by one rule (verdict.py).

Every recipient of a report is a finding (models.BounceFinding), matched on its own
(`plan`): the message of ours that the report's VERP address or Message-ID names belongs
to the recipient with its subscriber's address (or, when the report names nobody by that
address, a forward, to the report's decisive recipient); every other recipient is matched
by address. A finding about a personal email sent for a request (a sign-up's
confirmation, a new address's link: match.Match.request) is settled by personal.settle
and nothing else: it names no subscriber, counts in no score, suppresses nobody. A
subscriber is acted on once per report; a finding that says what another report already
said of the same message (a second copy of a complaint, two DSNs for one message)
changes nothing more. Every step runs in a savepoint: a report whose processing fails
keeps its bytes, its error and the status `failed`, and nothing it half did stays.

The entry points reprocessing uses (rereading.py): `read` and `plan` to read a stored
report without acting, `finding_row` and `end` to record and act.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter import metrics
from newsletter.bounces import personal, providers, score, unsubscribe_mail
from newsletter.bounces.match import Match, by_address, by_traces
from newsletter.bounces.models import BounceFinding, BounceKind, BounceReport, ReportStatus
from newsletter.bounces.parse import ParsedReport, RecipientReport, ReportUnreadable, parse
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.subscribers.lifecycle import end_for_address
from newsletter.tracking.models import EventKind, Method
from newsletter.tracking.tokens import Tokens

log = logging.getLogger(__name__)
K = BounceKind
_DESCRIBED = ("parse_error", "report_type", "kind", "recipient", "status_code", "diagnostic", "matched_by", "outcome")


@dataclass(frozen=True)
class Planned:
    """One recipient of a report and whom it is about."""

    position: int
    found: RecipientReport
    match: Match | None
    same_as: int | None = None  # the position of an earlier recipient that is the same subscriber


def process_report(session: Session, settings: Settings, report_id: int, tokens: Tokens | None = None) -> str:
    """Process one stored report (again, for a reprocess); returns its new status. Flushes;
    the caller commits."""
    report = session.get(BounceReport, report_id)
    report.attempts += 1
    for name in _DESCRIBED:
        setattr(report, name, "")
    report.delivery_id = report.subscriber_id = report.edition_id = None
    report.status = ReportStatus.RECEIVED
    session.execute(delete(BounceFinding).where(BounceFinding.report_id == report.id))
    session.flush()
    secret = settings.signing_key()
    tokens = tokens or Tokens(secret)
    try:
        with session.begin_nested():
            requested = unsubscribe_mail.handle(session, tokens, report)  # mail to a mailto: unsubscribe address
            if requested is not None:
                status, text = requested
            else:
                parsed = read(report)
                status, text = act(session, settings, report, parsed,
                                   plan(session, tokens, secret, parsed, report.envelope_to))
    except ReportUnreadable as exc:
        status, text = _failed(report, str(exc))
    except Exception as exc:  # a bug in reading: keep the report, say why, reprocess later
        log.exception("bounce report %s could not be processed", report_id)
        status, text = _failed(report, f"{type(exc).__name__}: {exc}")
    report.status, report.outcome, report.processed_at = status, text[:2000], utcnow()
    session.flush()
    # Ids, not the text: the outcome names the address (kept on the report, for operators).
    log.info("bounce report %s: %s %s (matched by %s)", report_id, status, report.kind or "-",
             report.matched_by or "nothing", extra={"edition_id": report.edition_id, "delivery_id": report.delivery_id})
    return report.status


def read(report: BounceReport) -> ParsedReport:
    """A stored report's findings: a provider's event by its provider's reader, a mail by
    parse.py; ReportUnreadable when it says nothing we can act on."""
    return providers.read(report.provider, report.raw) if report.provider else parse(report.raw)


def plan(session: Session, tokens: Tokens, secret: str, parsed: ParsedReport, envelope_to: str) -> list[Planned]:
    """Each recipient of the report and the subscriber it is about (no change is made)."""
    traced = by_traces(session, tokens, secret, parsed, envelope_to)
    owner = None
    if traced is not None:
        owner = next((n for n, r in enumerate(parsed.recipients) if r.address.lower() == traced.email.lower()),
                     parsed.recipients.index(parsed.first))
    planned, seen = [], {}
    for n, found in enumerate(parsed.recipients):
        match = traced if n == owner else by_address(session, found.address)
        sid = match.subscriber_id if match is not None else None
        if sid is not None and sid in seen:
            planned.append(Planned(n, found, None, seen[sid]))
            continue
        if sid is not None:
            seen[sid] = n
        planned.append(Planned(n, found, match))
    return planned


def act(session: Session, settings: Settings, report: BounceReport, parsed: ParsedReport,
        planned: list[Planned]) -> tuple[ReportStatus, str]:
    """Record each finding and do what it says; the report's status and outcome."""
    _describe(report, parsed, planned)
    outcomes = []
    for p in planned:
        row = finding_row(report, p)
        session.add(row)
        session.flush()
        row.outcome, row.suppressed = _act(session, settings, report, row, p)
        outcomes.append(row.outcome)
    session.flush()
    status = ReportStatus.PARSED if any(p.match for p in planned) else ReportStatus.UNMATCHED
    if len(planned) == 1:
        return status, outcomes[0]
    return status, "; ".join(f"{p.found.address or 'an unnamed recipient'}: {text}"
                             for p, text in zip(planned, outcomes, strict=True))


def finding_row(report: BounceReport, p: Planned, outcome: str = "", suppressed: bool = False) -> BounceFinding:
    """The stored finding for one planned recipient."""
    m = p.match
    return BounceFinding(report_id=report.id, position=p.position, received_at=report.received_at,
                         recipient=p.found.address[:320], action=p.found.action[:16], kind=p.found.kind,
                         status_code=p.found.status[:16], diagnostic=p.found.diagnostic[:2000],
                         matched_by=m.by if m else "", subscriber_id=m.subscriber_id if m else None,
                         delivery_id=m.delivery_id if m else None, edition_id=m.edition_id if m else None,
                         outcome=outcome, suppressed=suppressed)


def _act(session: Session, settings: Settings, report: BounceReport, row: BounceFinding,
         p: Planned) -> tuple[str, bool]:
    kind, match = K(row.kind), p.match
    if match is None:
        if p.same_as is not None:
            return f"the same subscriber as recipient {p.same_as + 1}", False
        return f"{kind} for {row.recipient or 'an unnamed recipient'}: no delivery or subscriber of ours", False
    if match.request is not None:  # a personal email about a request, not about a subscriber
        return personal.settle(session, match.request, kind), False
    if kind in (K.DELAYED, K.OTHER):
        return f"{row.action or row.status_code}: nothing to do", False
    earlier = score.already(session, report.id, match.subscriber_id, match.edition_id, kind)
    if earlier is not None:
        return f"already counted (report {earlier})", False
    if kind == K.POLICY:
        metrics.bounced("policy", "report")
        return f"policy refusal {row.status_code}: nobody suppressed", False
    detail = f"{row.status_code} {row.diagnostic}".strip()
    if kind in score.AT_ONCE:
        event = EventKind.BOUNCE if kind == K.HARD else EventKind.COMPLAINT
        end(session, match, event, f"{kind} ({report.report_type}): {detail}", report)
        metrics.bounced("hard", "report") if kind == K.HARD else metrics.complained()
        return f"{kind}: {match.email} suppressed, subscription ended", True
    metrics.bounced(kind, "report")
    latest = score.Seen((report.id, row.position), kind, match.edition_id, report.received_at)
    history = score.history(session, match.subscriber_id)
    counted = score.reached(settings, history, latest) or score.progress(settings, history, latest)
    words = "soft bounce" if counted.kind == K.SOFT else "uncertain failure"
    text = f"{words} {counted.count} of {counted.threshold} within {settings.soft_bounce_window_days} days"
    if counted.count < counted.threshold:
        return text, False
    end(session, match, EventKind.BOUNCE, f"{counted.count} {words}s within {settings.soft_bounce_window_days} "
                                          f"days; last: {detail}", report)
    return f"{text}: {match.email} suppressed, subscription ended", True


def end(session: Session, match: Match, event: EventKind, detail: str, report: BounceReport) -> None:
    for publication_id in match.publication_ids or (None,):
        end_for_address(session, match.subscriber_id, match.email, publication_id, match.edition_id, event,
                        detail, report.received_at, source=Method.REPORT)


def _describe(report: BounceReport, parsed: ParsedReport, planned: list[Planned]) -> None:
    """For lists: the recipient the report is about: the decisive one (the first failure)
    if it is someone of ours, else the first one of ours, else the decisive one."""
    first = parsed.first
    shown = next((p for p in planned if p.found is first and p.match), None) or next(
        (p for p in planned if p.match), None)
    found = shown.found if shown is not None else first
    report.report_type, report.kind, report.recipient = parsed.report_type, found.kind, found.address[:320]
    report.status_code, report.diagnostic = found.status[:16], found.diagnostic[:2000]
    if shown is not None:
        m = shown.match
        report.matched_by, report.subscriber_id, report.delivery_id, report.edition_id = (
            m.by, m.subscriber_id, m.delivery_id, m.edition_id)


def _failed(report: BounceReport, error: str) -> tuple[ReportStatus, str]:
    report.parse_error = error[:2000]
    return ReportStatus.FAILED, "kept for `newsletter bounces reprocess`"


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
