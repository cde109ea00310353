"""Editions as operators see them (progress, failures by class, holds, pauses, headlines
and history) and the operator's actions: pause, resume, cancel a send, send its failed
deliveries again; rebuild, hold, release an edition before it goes out. Each action is role-checked and audited; the
state changes themselves are delivery/send_acts.py's and editions/edition_acts.py's. The
console, the API and the command line call these; an act that sends again (resume,
retry, release a domain) starts the delivery itself, after its commit, with the
front door's `deliver`."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.delivery import send_acts, tallies
from newsletter.delivery.models import Delivery
from newsletter.delivery.report import FailureGroup, Report, failures_by_class, report, report_now
from newsletter.editions import edition_acts, lifecycle
from newsletter.editions.contents import items_as_read
from newsletter.editions.models import Edition, EditionStatus
from newsletter.editions.overview import EditionDetail, edition_detail
from newsletter.errors import InvalidInput, NotFound
from newsletter.lookups import valid_id, with_publication_slug
from newsletter.publications.models import Publication
from newsletter.staff.access import Actor, Permission, require
from newsletter.staff.audit import change
from newsletter.staff.scope import check_acts, visible
from newsletter.text import clean_reason


def _iso(value):
    return value.isoformat() if value else None


def progress(r: Report) -> dict:
    failed = {k or "unknown": v for k, v in r.failures.items()}
    return {"status": r.status, "counts": r.counts, "failed_by_class": failed,
            "hard_bounces": r.hard_bounces, "audience": r.audience, "remaining": r.remaining,
            "started_at": _iso(r.started_at), "finished_at": _iso(r.finished_at), "last_sent_at": _iso(r.last_sent_at),
            "duration_seconds": r.duration, "rate_per_second": round(r.rate, 2), "eta_seconds": r.eta_seconds,
            "pause_reason": r.pause_reason or None, "waiting_for_relay": r.relay_error or None,
            "waiting_for_relay_since": _iso(r.relay_down_since), "recovering": r.idle,
            "next_retry_at": _iso(r.next_retry_at), "relays": relays(r),
            # In waves (wave_view.py): each wave, and the progress and time left of the due ones.
            "waves": [w.as_dict() for w in r.waves] if r.waves else None, "waiting": r.waiting,
            "due_remaining": r.due_remaining,
            "next_wave_at": _iso(r.wave_progress.next_wave_at) if r.waves else None,
            "held_domains": [{"domain": d, "refusals": n, "last_refusal": why} for d, n, why in r.held_domains]}


def relays(r: Report) -> list[dict]:
    """Sent by each relay, and which are down (their mail goes through the others)."""
    down = {name: (since, why) for name, since, why in r.relays_down}
    return [{"relay": name, "sent": r.sent_by_relay.get(name, 0), "down_since": _iso(down[name][0]) if name in down
             else None, "last_answer": down[name][1] if name in down else None}
            for name in sorted(set(r.sent_by_relay) | set(down)) if name]


def editions(session: Session, actor: Actor, publication: str = "", status: str = "", before: int | None = None,
             limit: int = 50) -> tuple[list[dict], int | None]:
    """Newest first, keyset-paged; each with its delivery counts by state."""
    require(actor, Permission.READ)
    limit = max(1, min(limit, 200))
    q = (select(Edition, Publication.slug).join(Publication).where(visible(actor, Edition.publication_id))
         .order_by(Edition.id.desc()).limit(limit))
    if publication:
        q = q.where(Publication.slug == publication)
    if status:
        if status not in {s.value for s in EditionStatus}:
            raise InvalidInput(f"unknown status {status!r} ({', '.join(s.value for s in EditionStatus)})")
        q = q.where(Edition.status == status)
    if before is not None:
        q = q.where(Edition.id < before)
    rows = session.execute(q).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    ids = [e.id for e, _ in rows]
    if ids:
        for eid, st, n in session.execute(select(Delivery.edition_id, Delivery.status, func.count())
                                          .where(Delivery.edition_id.in_(ids))
                                          .group_by(Delivery.edition_id, Delivery.status)):
            counts[eid][st] = n
        for eid, tallied in tallies.counts(session, ids).items():  # erased people's outcomes
            tallies.add_counts(counts[eid], tallied)
    items = [{"id": e.id, "publication": slug, "date": e.date.isoformat(), "status": e.status,
              "headlines": len(items_as_read(e)), "public_id": e.public_id, "built_at": _iso(e.built_at),
              "started_at": _iso(e.started_at), "finished_at": _iso(e.finished_at), "deliveries": counts[e.id]}
             for e, slug in rows]
    return items, (rows[-1][0].id if len(rows) == limit else None)


def edition(session: Session, actor: Actor, edition_id: int, settings=None) -> dict:
    """With `settings`, the progress says too whether work waits in the broker (recovering)."""
    require(actor, Permission.READ)
    e, slug = with_publication_slug(session, Edition, edition_id, "edition")
    _mine(session, actor, edition_id)
    r = report_now(session.connection(), settings, e.id) if settings is not None else report(session.connection(), e.id)
    return {"id": e.id, "publication": slug, "date": e.date.isoformat(), "public_id": e.public_id,
            "built_at": _iso(e.built_at), "window": [_iso(e.window_start), _iso(e.window_end)],
            "sections": sorted({i.section_slug for i in items_as_read(e)}), "headlines": len(items_as_read(e)),
            "acts": lifecycle.acts(e.status, e.started_at is not None),
            "progress": progress(r)}


def _act(session: Session, actor: Actor, edition_id: int, verb: str, action, detail: dict | None = None) -> str:
    require(actor, Permission.EDITIONS)
    _in_range(edition_id)
    _mine(session, actor, edition_id)
    with change(session, actor, Permission.EDITIONS, f"edition.{verb}", f"edition:{edition_id}") as ch:
        before = lifecycle.status_of(session.connection(), edition_id, lock=True)
        status = action(session.connection(), edition_id)
        ch.detail = {"status": status, **(detail or {})}
        ch.nothing_changed = status == before  # already there: nothing to record
    return status


# How a front door starts an edition's delivery: its dispatcher's deliver_edition, or that
# handed to a background task so that an HTTP answer does not wait for it.
Deliver = Callable[[int], object]


def _deliver_after_commit(session: Session, deliver: Deliver, edition_id: int) -> None:
    """The senders pick up from the checkpoint once the act is committed (never before: a
    worker would read the edition as it was). Here, once, for every front door."""
    session.commit()
    deliver(edition_id)


def pause(session: Session, actor: Actor, edition_id: int, reason: str = "") -> str:
    """The reason (optional, one line) is shown by status and kept in the audit."""
    reason = clean_reason(reason)  # refused before anything
    return _act(session, actor, edition_id, "pause", lambda conn, e: send_acts.pause(conn, e, reason),
                {"reason": reason[:200]} if reason else None)


def resume(session: Session, actor: Actor, edition_id: int, *, deliver: Deliver) -> str:
    """Commits, then starts the delivery again with `deliver` (when it is sending)."""
    status = _act(session, actor, edition_id, "resume", send_acts.resume)
    if status == EditionStatus.SENDING:
        _deliver_after_commit(session, deliver, edition_id)
    return status


def cancel(session: Session, actor: Actor, edition_id: int) -> str:
    return _act(session, actor, edition_id, "cancel", send_acts.cancel)


def retry(session: Session, actor: Actor, edition_id: int, failure_class: str = "", *,
          deliver: Deliver) -> send_acts.Retried:
    """Send an edition's failed deliveries (of one class, or all) again, never to anyone
    unsubscribed, disabled or suppressed since (delivery/send_acts.py). Commits, then starts
    the delivery with `deliver` when some went back to pending of an edition sending (a
    paused one waits for its resume)."""
    require(actor, Permission.EDITIONS)
    _in_range(edition_id)
    _mine(session, actor, edition_id)
    with change(session, actor, Permission.EDITIONS, "edition.retry", f"edition:{edition_id}") as ch:
        done = send_acts.retry_failed(session.connection(), edition_id, failure_class.strip())
        ch.detail = {"class": failure_class.strip()[:32] or "all", "reopened": done.reopened, "left": done.left,
                     "status": done.status}
        ch.nothing_changed = not done.reopened
    if done.reopened and done.status == EditionStatus.SENDING:
        _deliver_after_commit(session, deliver, edition_id)
    return done


def release_domain(session: Session, actor: Actor, edition_id: int, domain: str, *, deliver: Deliver) -> int:
    """Let a domain held after policy refusals receive this edition again; how many
    deliveries are pending again. Commits, then re-drives the edition with `deliver`."""
    require(actor, Permission.EDITIONS)
    _in_range(edition_id)
    _mine(session, actor, edition_id)
    domain = domain.strip().lower()
    with change(session, actor, Permission.EDITIONS, "edition.release_domain", f"edition:{edition_id}") as ch:
        released = send_acts.release_domain(session.connection(), edition_id, domain)
        ch.detail = {"domain": domain[:253], "released": released}
    _deliver_after_commit(session, deliver, edition_id)
    return released


def replace_cancelled(session: Session, actor: Actor, publication: Publication, day: date,
                      reason: str) -> tuple[Edition, Edition]:
    """A new send for the date of a cancelled edition (`send --force`): (old, new)."""
    require(actor, Permission.EDITIONS)
    check_acts(actor, publication.id, publication.slug)
    reason = clean_reason(reason)
    with change(session, actor, Permission.EDITIONS, "edition.replace", f"publication:{publication.slug}") as ch:
        old, new = edition_acts.replace_cancelled(session, publication, day, reason)
        ch.target = f"edition:{new.id}"
        ch.detail = {"replaces": old.id, "date": day.isoformat(), "reason": reason[:200]}
    return old, new


def _in_range(edition_id: int) -> None:
    if not valid_id(edition_id):
        raise NotFound(f"no edition {edition_id}")


def _mine(session: Session, actor: Actor, edition_id: int) -> None:
    """An edition of a publication outside the actor's ones is, to them, no edition."""
    if actor.everywhere:
        return
    pid = session.scalar(select(Edition.publication_id).where(Edition.id == edition_id))
    if pid is None or not actor.sees(pid):
        raise NotFound(f"no edition {edition_id}")


def rebuild(session: Session, actor: Actor, edition_id: int) -> edition_acts.Rebuilt:
    """Run the selection again with the same cut-off (only before sending starts)."""
    require(actor, Permission.EDITIONS)
    _in_range(edition_id)
    _mine(session, actor, edition_id)
    with change(session, actor, Permission.EDITIONS, "edition.rebuild", f"edition:{edition_id}") as ch:
        done = edition_acts.rebuild(session, edition_id)
        ch.detail = {"status": done.edition.status, "headlines": len(done.edition.items),
                     "before": len(done.before), "new": len(done.diff.new), "gone": len(done.diff.gone),
                     "moved": len(done.diff.moved)}
    return done


def hold(session: Session, actor: Actor, edition_id: int, reason: str = "") -> str:
    return _with_reason(session, actor, edition_id, reason, "edition.hold", edition_acts.hold)


def release(session: Session, actor: Actor, edition_id: int, reason: str = "") -> str:
    return _with_reason(session, actor, edition_id, reason, "edition.release", edition_acts.release)


def _with_reason(session: Session, actor: Actor, edition_id: int, reason: str, action: str, step) -> str:
    """Hold and release: the same checks and audit entry around edition_acts' step."""
    require(actor, Permission.EDITIONS)
    _in_range(edition_id)
    _mine(session, actor, edition_id)
    reason = clean_reason(reason)  # refused before anything: the history and the audit keep the same text
    with change(session, actor, Permission.EDITIONS, action, f"edition:{edition_id}") as ch:
        before = lifecycle.status_of(session.connection(), edition_id, lock=True)
        status = step(session, edition_id, reason)
        ch.detail = {"status": status, "reason": reason[:200]}
        ch.nothing_changed = status == before  # held again: nothing to record
    return status


def failures(session: Session, actor: Actor, edition_id: int, per_class: int = 10) -> list[FailureGroup]:
    """Failed deliveries by class, each with its first recipients and their errors."""
    require(actor, Permission.READ)
    _in_range(edition_id)
    _mine(session, actor, edition_id)
    return failures_by_class(session.connection(), edition_id, per_class)


def contents(session: Session, actor: Actor, edition_id: int) -> EditionDetail:
    """Headlines and history (rebuilt, held, released, replaced)."""
    require(actor, Permission.READ)
    _in_range(edition_id)
    _mine(session, actor, edition_id)
    found = edition_detail(session, edition_id)
    if found is None:
        raise NotFound(f"no edition {edition_id}")
    return found
