"""When a subscriber's findings add up to a suppression: the one rule that processing a
new report (process.py) and reading old ones again (rereading.py) both apply.

- a hard finding or a complaint suppresses at once;
- uncertain failures (a permanent failure that proves nothing: verdict.py) suppress when
  `uncertain_bounce_threshold` editions failed so within `soft_bounce_window_days`;
- soft failures (uncertain ones included: they failed too) suppress when
  `soft_bounce_threshold` editions did, like Mailman's bounce score.

Editions count once each (two reports of one message are one failure); a finding with no
edition (a report matched by address only) counts as one of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceFinding, BounceKind, BounceReport, ReportStatus
from newsletter.config import Settings

K = BounceKind
AT_ONCE = frozenset({K.HARD, K.COMPLAINT})
COUNTED = frozenset({K.SOFT, K.UNCERTAIN})


@dataclass(frozen=True)
class Seen:
    """One finding as the score sees it."""

    key: tuple[int, int]  # (report id, position): which finding
    kind: str
    edition_id: int | None
    at: datetime


@dataclass(frozen=True)
class Score:
    kind: str  # uncertain or soft: which threshold was reached
    count: int
    threshold: int


def reached(settings: Settings, history: list[Seen], latest: Seen) -> Score | None:
    """Whether `latest`, with the subscriber's earlier findings, reaches a threshold."""
    since = latest.at - timedelta(days=settings.soft_bounce_window_days)
    window = [s for s in history if since <= s.at <= latest.at and s.key != latest.key] + [latest]
    if latest.kind == K.UNCERTAIN:
        count = _editions([s for s in window if s.kind == K.UNCERTAIN])
        if count >= settings.uncertain_bounce_threshold:
            return Score(K.UNCERTAIN, count, settings.uncertain_bounce_threshold)
    count = _editions([s for s in window if s.kind in COUNTED])
    if latest.kind in COUNTED and count >= settings.soft_bounce_threshold:
        return Score(K.SOFT, count, settings.soft_bounce_threshold)
    return None


def progress(settings: Settings, history: list[Seen], latest: Seen) -> Score:
    """How far `latest` takes the count it belongs to (for the report's outcome)."""
    since = latest.at - timedelta(days=settings.soft_bounce_window_days)
    window = [s for s in history if since <= s.at <= latest.at and s.key != latest.key] + [latest]
    if latest.kind == K.UNCERTAIN:
        return Score(K.UNCERTAIN, _editions([s for s in window if s.kind == K.UNCERTAIN]),
                     settings.uncertain_bounce_threshold)
    return Score(K.SOFT, _editions([s for s in window if s.kind in COUNTED]), settings.soft_bounce_threshold)


def justifying(settings: Settings, history: list[Seen]) -> Seen | None:
    """The first finding that suppresses, going through a subscriber's findings in time."""
    ordered = sorted(history, key=lambda s: (s.at, s.key))
    for n, seen in enumerate(ordered):
        if seen.kind in AT_ONCE or (seen.kind in COUNTED and reached(settings, ordered[:n], seen) is not None):
            return seen
    return None


def history(session: Session, subscriber_id: int, since: datetime | None = None) -> list[Seen]:
    """The subscriber's findings from processed reports (received since `since`)."""
    q = (select(BounceFinding.report_id, BounceFinding.position, BounceFinding.kind, BounceFinding.edition_id,
                BounceFinding.received_at)
         .join(BounceReport, BounceReport.id == BounceFinding.report_id)
         .where(BounceFinding.subscriber_id == subscriber_id, BounceReport.status == ReportStatus.PARSED))
    if since is not None:
        q = q.where(BounceFinding.received_at >= since)
    return [Seen((r.report_id, r.position), r.kind, r.edition_id, r.received_at) for r in session.execute(q)]


def already(session: Session, report_id: int, subscriber_id: int, edition_id: int | None, kind: str) -> int | None:
    """Another report, acted upon, that said the same of the same message (a second copy
    of a complaint, two DSNs for one message): its id."""
    if edition_id is None or kind == K.POLICY:
        return None
    return session.scalar(select(BounceFinding.report_id).join(BounceReport, BounceReport.id == BounceFinding.report_id)
                          .where(BounceFinding.subscriber_id == subscriber_id, BounceFinding.edition_id == edition_id,
                                 BounceFinding.kind == kind, BounceReport.status == ReportStatus.PARSED,
                                 BounceFinding.report_id != report_id)
                          .order_by(BounceFinding.report_id).limit(1))


def _editions(seen: list[Seen]) -> int:
    return len({s.edition_id for s in seen if s.edition_id is not None}) + sum(1 for s in seen if s.edition_id is None)
