"""Reading stored reports again with today's rules (`newsletter bounces reprocess --since
DATE`): what the new reading changes, and, applied, mending what the old one did.

For every report received since the date, each recipient is read and matched again
(process.read and process.plan: a provider's event by its provider's reader, like a
mailed report by parse.py) and compared with the finding stored for it. Mail to a
List-Unsubscribe address is no report and is left alone; a finding about a personal
email sent for a request (a bounced confirmation) names nobody, so it is recorded as read
and never suppresses or brings back anyone (the request it ended stays ended). Then, per subscriber, over
all their findings (the new reading for these reports, the stored one for the others):

- a subscriber is brought back when their hard-bounce suppression was caused by one of
  these reports (a finding marked `suppressed`), no finding justifies it any more
  (score.justifying), and the relay never refused them while sending (a delivery
  refused as recipient_refused). Only that suppression is lifted; a suppression the
  person or an admin asked for (an unsubscribe, a complaint, an admin's, an erasure) is
  never touched, and lifecycle.lift_misread_bounce re-activates only the subscriptions
  that bounce ended;
- a subscriber is suppressed when a finding of these reports now justifies it, none did
  before, and nothing suppresses the address yet (an admin who lifted a suppression on
  purpose is not overruled by an old report read the old way).

Applied, the findings are replaced by the new reading, each correction is recorded in the
subscriber's history (events) and the audit log, all in one transaction. A report that
cannot be read any more keeps what it had.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from newsletter.bounces import score, unsubscribe_mail
from newsletter.bounces.models import BounceFinding, BounceReport, ReportStatus
from newsletter.bounces.parse import ReportUnreadable
from newsletter.bounces.process import Planned, end, finding_row, plan, read
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery.models import Delivery
from newsletter.errors import InvalidInput
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.audit import change
from newsletter.subscribers.lifecycle import lift_misread_bounce
from newsletter.subscribers.models import Subscriber, Suppression, SuppressionReason
from newsletter.tracking.models import EventKind
from newsletter.tracking.tokens import Tokens
from newsletter.transport.failures import FailureClass


@dataclass(frozen=True)
class Change:
    """A recipient read differently."""

    report_id: int
    position: int
    recipient: str
    before: str  # the stored kind ("" : none)
    after: str  # the new one ("" : no longer read)


@dataclass(frozen=True)
class Correction:
    subscriber_id: int
    email: str
    reports: tuple[int, ...]  # the reports that decide it
    why: str


@dataclass
class Reread:
    since: datetime
    reports: int = 0
    changes: list[Change] = field(default_factory=list)
    lifted: list[Correction] = field(default_factory=list)  # no longer suppressed (or would not be)
    suppressed: list[Correction] = field(default_factory=list)  # suppressed now (or would be)
    applied: bool = False


@dataclass
class _Read:
    report: BounceReport
    old: list[BounceFinding]
    new: list[Planned] | None  # None: unreadable now; keep what it had
    report_type: str = ""


def since_date(value: str) -> datetime:
    """The start (UTC) of a YYYY-MM-DD day, or InvalidInput."""
    try:
        day = date.fromisoformat((value or "").strip())
    except ValueError:
        raise InvalidInput(f"--since must be a day, YYYY-MM-DD, not {value!r}") from None
    if day > utcnow().date():
        raise InvalidInput(f"--since {day} is in the future: no report was received since then")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def reread(session: Session, settings: Settings, actor: Actor, since: datetime, dry_run: bool = True) -> Reread:
    """What reading the reports received since `since` again changes; applied unless
    `dry_run`. Flushes; the caller commits."""
    require(actor, Permission.SUPPRESSIONS)
    secret = settings.signing_key()
    tokens, result, reads = Tokens(secret), Reread(since), []
    for report in session.scalars(select(BounceReport).where(BounceReport.received_at >= since)
                                  .order_by(BounceReport.id)):
        if not report.raw:
            continue  # its bytes removed by retention: its findings stand as they were read
        if unsubscribe_mail.is_request(report):
            continue  # a request to unsubscribe, done once when it came: no bounce to read again
        old = list(session.scalars(select(BounceFinding).where(BounceFinding.report_id == report.id)
                                   .order_by(BounceFinding.position)))
        try:
            parsed = read(report)
            reads.append(_Read(report, old, plan(session, tokens, secret, parsed, report.envelope_to),
                               parsed.report_type))
        except ReportUnreadable:
            reads.append(_Read(report, old, None if old else []))
        result.changes += _changes(reads[-1])
    result.reports = len(reads)
    in_range = {r.report.id for r in reads}
    for subscriber_id in sorted(_subscribers(reads)):
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is not None:
            _judge(session, settings, subscriber, reads, in_range, result)
    if not dry_run:
        _apply(session, actor, reads, result)
        result.applied = True
    return result


def _changes(r: _Read) -> list[Change]:
    if r.new is None:
        return []
    before = {f.position: (f.kind, f.subscriber_id) for f in r.old}
    after = {p.position: (p.found.kind, _planned_sid(p)) for p in r.new}
    names = {f.position: f.recipient for f in r.old} | {p.position: p.found.address for p in r.new}
    return [Change(r.report.id, n, names[n], before.get(n, ("", None))[0], after.get(n, ("", None))[0])
            for n in sorted(set(before) | set(after)) if before.get(n) != after.get(n)]


def _subscribers(reads: list[_Read]) -> set[int]:
    found = {f.subscriber_id for r in reads for f in r.old if f.subscriber_id is not None}
    return found | {sid for r in reads for p in (r.new or []) if (sid := _planned_sid(p)) is not None}


def _judge(session: Session, settings: Settings, subscriber: Subscriber, reads: list[_Read], in_range: set[int],
           result: Reread) -> None:
    sid = subscriber.id
    outside = [s for s in score.history(session, sid) if s.key[0] not in in_range]
    old = outside + [_seen(r.report, f.position, f.kind, f.edition_id) for r in reads for f in r.old
                     if f.subscriber_id == sid]
    new = outside + [s for r in reads for s in _current(r, sid)]
    now_just, then_just = score.justifying(settings, new), score.justifying(settings, old)
    caused = sorted({r.report.id for r in reads for f in r.old if f.subscriber_id == sid and f.suppressed})
    suppression = session.scalar(select(Suppression.reason).where(
        Suppression.email == subscriber.email, Suppression.publication_id.is_(None)))
    if caused and suppression == SuppressionReason.HARD_BOUNCE and now_just is None and not _refused_while_sending(
            session, sid):
        result.lifted.append(Correction(sid, subscriber.email, tuple(caused), _why(reads, sid, caused)))
    elif suppression is None and now_just is not None and now_just.key[0] in in_range and then_just is None:
        result.suppressed.append(Correction(sid, subscriber.email, (now_just.key[0],),
                                            _why(reads, sid, [now_just.key[0]])))


def _current(read: _Read, subscriber_id: int) -> list[score.Seen]:
    """The subscriber's findings in the new reading of a report, or, when it cannot be
    read any more, the ones it had."""
    if read.new is None:
        return [_seen(read.report, f.position, f.kind, f.edition_id) for f in read.old
                if f.subscriber_id == subscriber_id]
    return [_seen(read.report, p.position, p.found.kind, p.match.edition_id) for p in read.new
            if _planned_sid(p) == subscriber_id]


def _planned_sid(p: Planned) -> int | None:
    """The subscriber a new finding is about; None for nobody, and for a request's email
    (a bounced confirmation: it never counts against anyone, read again or not)."""
    return p.match.subscriber_id if p.match is not None else None


def _seen(report: BounceReport, position: int, kind: str, edition_id: int | None) -> score.Seen:
    return score.Seen((report.id, position), kind, edition_id, report.received_at)


def _refused_while_sending(session: Session, subscriber_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Delivery.subscriber_id == subscriber_id,
                                                     Delivery.error_class == FailureClass.RECIPIENT_REFUSED))))


def _why(reads: list[_Read], subscriber_id: int, report_ids: list[int]) -> str:
    parts = []
    for r in reads:
        if r.report.id not in report_ids:
            continue
        was = ", ".join(f"{f.kind} {f.status_code}".strip() for f in r.old if f.subscriber_id == subscriber_id)
        now = ", ".join(f"{p.found.kind} {p.found.status}".strip() for p in (r.new or [])
                        if _planned_sid(p) == subscriber_id)
        parts.append(f"report {r.report.id}: {was or 'nothing'} -> {now or 'nothing'}")
    return "; ".join(parts)


def _apply(session: Session, actor: Actor, reads: list[_Read], result: Reread) -> None:
    justified = {c.subscriber_id: c.reports[0] for c in result.suppressed}
    lifted = {c.subscriber_id for c in result.lifted}
    for r in reads:
        if r.new is None:
            continue
        kept = {f.subscriber_id for f in r.old if f.suppressed and f.subscriber_id not in lifted}
        session.execute(delete(BounceFinding).where(BounceFinding.report_id == r.report.id))
        for p in r.new:
            sid = _planned_sid(p)
            session.add(finding_row(r.report, p, f"read again on {utcnow():%Y-%m-%d}: {p.found.kind}",
                                    sid is not None and (sid in kept or justified.get(sid) == r.report.id)))
        r.report.status = ReportStatus.PARSED if any(p.match for p in r.new) else (
            ReportStatus.UNMATCHED if r.new else ReportStatus.FAILED)
        r.report.report_type = r.report_type or r.report.report_type
        r.report.attempts += 1
        r.report.processed_at = utcnow()
    session.flush()
    for c in result.lifted:
        with change(session, actor, Permission.SUPPRESSIONS, "subscriber.bounce_corrected",
                    f"subscriber:{c.subscriber_id}") as ch:
            back = lift_misread_bounce(session, session.get(Subscriber, c.subscriber_id),
                                       f"a misread bounce, read again: {c.why}"[:2000])
            ch.detail = {"reports": list(c.reports), "publications_back": back}
    for c in result.suppressed:
        report = next(r for r in reads if r.report.id == c.reports[0])
        planned = next(p for p in report.new if _planned_sid(p) == c.subscriber_id)
        with change(session, actor, Permission.SUPPRESSIONS, "subscriber.bounce_suppressed",
                    f"subscriber:{c.subscriber_id}") as ch:
            end(session, planned.match, EventKind.BOUNCE, f"read again: {c.why}", report.report)
            ch.detail = {"reports": list(c.reports)}
