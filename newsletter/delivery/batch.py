"""Send one batch: claim its deliveries, send over one connection, record each outcome.

Nobody missing, at most one duplicate per SMTP connection open when a worker dies: the
argument, step by step (claims.py owns the rule and states its bounds):
1. Claim: in one transaction the run records its claim and one UPDATE moves the range's
   open rows (pending, due retries, rows of a claim that is dead) to `sending`, stamped
   with the claim's token. A row has one owner at a time.
2. While the batch runs, its heartbeat keeps the claim alive whatever the relay does;
   before each message the sender checks that its claim is fresh and still its own.
3. Each message is sent, and as soon as the relay accepts it (its final 250) its row
   is marked `sent`, where it is still this claim's. The rule (completion.py): a
   message is completed (its end of data written) only once the mark of the message
   before it is committed; the mark travels while that message's envelope and body
   are written, and is awaited before its final dot. A message whose predecessor's
   mark failed, found its row taken, or read a stop or a hold of its domain is
   withheld: the connection is dropped before its end of data.
4. If the sender dies its claim falls silent, and after a lease its rows still `sending`
   are handed out again: of the messages it completed, all but the last are committed
   as sent, so only that last one can reach the relay twice (one not completed never
   reaches it). If the database (or the broker) fails instead, the batch stops
   and raises `Interrupted`, its claim still beating; its handover lets the batch's next
   run give the rows back and mark the message the relay had accepted (claims.Handover,
   driver.run_batch): nobody twice, nobody missing.
No exception from one recipient stops the batch: a refusal is recorded by its class
(outcomes.py), and anything unexpected fails that one delivery with its error. A relay
(or outbox disk) that cannot take mail gives every remaining row back at no cost and
records the outage (outage.py). Failures are logged once per batch, at WARNING, with
counts by class; single deliveries at DEBUG.
"""
from __future__ import annotations

import logging
from time import perf_counter

from sqlalchemy import Connection

from newsletter import metrics
from newsletter.addresses import wire_address
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import claims, outage
from newsletter.delivery.batch_result import BatchResult, log_batch, quietly, stopped, why_not
from newsletter.delivery.claims import Claim, Handover
from newsletter.delivery.completion import Lookahead, Withheld, last_mark_allows
from newsletter.delivery.compose import Composer, Recipient
from newsletter.delivery.gate import EditionGate
from newsletter.delivery.holds import email_domain
from newsletter.delivery.interruptions import Interrupted, is_outage
from newsletter.delivery.marks import SentMarks
from newsletter.delivery.outcomes import give_back, record_failure, set_status
from newsletter.delivery.recipients import recipients
from newsletter.delivery.states import BatchOutcome
from newsletter.delivery.states import DeliveryStatus as D
from newsletter.editions.models import Edition, EditionStatus
from newsletter.publications.models import Publication
from newsletter.transport.backends import Backend
from newsletter.transport.failures import FailureClass, SendFailure
from newsletter.transport.ratelimit import Limiter
from newsletter.transport.relays import RelayPool

log = logging.getLogger(__name__)


def send_batch(conn: Connection, settings: Settings, edition: Edition, publication: Publication,
               lo: int, hi: int, run: Claim, backend: Backend, limiter: Limiter,
               composer: Composer | None = None, heartbeat=lambda: None,
               handover: Handover | None = None) -> BatchResult:
    """`conn` is a connection of our own, outside any transaction; we commit as we go.
    `heartbeat` is called between messages (`newsletter run` stops there); `handover` is
    what an interrupted run of this batch left (settled first). Raises Interrupted when
    the database or the broker fails."""
    result = BatchResult()
    try:
        now = utcnow()
        if handover is not None:
            marked, given = claims.take_over(conn, edition.id, handover, now)
            conn.commit()
            handover.settled()
            handover = None
            if marked or given:
                log.info("batch %s-%s of edition %s: the interrupted run's %s unmarked message(s) marked sent, "
                         "%s row(s) given back", lo, hi, edition.id, marked, given,
                         extra={"edition_id": edition.id, "batch": f"{lo}-{hi}"})
        gate = EditionGate(conn, edition.id, settings.pause_check_seconds)
        if gate.stopped():
            result.outcome = stopped(gate.status)
            return result
        run.register(conn, now)
        claimed = claims.claim(conn, edition.id, lo, hi, run.token, now, claims.dead_after(settings.lease_seconds))
        if not claimed:
            run.release(conn)
        conn.commit()
    except Exception as exc:
        if not is_outage(exc):
            raise
        quietly(conn.rollback)
        raise Interrupted(handover or Handover(run.token, claim=run), exc) from exc
    if not claimed:
        return result
    run.start_heartbeat(conn.engine)
    composer = composer or Composer(settings, edition, publication)
    order: list[int] = []
    done = 0  # order[:done] have an outcome; the rest are still ours to give back
    marks: SentMarks | None = None
    interrupted: BaseException | None = None
    try:
        todo, unwanted = [], []
        for did, recipient, is_wanted in recipients(conn, claimed, publication.id, settings.signing_key()):
            (todo if is_wanted else unwanted).append((did, recipient))
        result.counts[D.SKIPPED] += set_status(conn, [d for d, _ in unwanted], run.token, D.SKIPPED,
                                               "unsubscribed, disabled or suppressed")
        conn.commit()
        order = [d for d, _ in todo]
        if isinstance(backend, RelayPool):  # the relays other senders found down wait their turn
            backend.known_down(outage.relays_down(conn, settings, utcnow()))
            conn.commit()
        marks = SentMarks(conn, run.token, settings.synchronous_marks)
        backend.open()
        lookahead = Lookahead(composer)  # the next message, made while the relay answers the last one
        for at, (did, recipient) in enumerate(todo):
            if gate.stopped():
                result.outcome = stopped(gate.status)
                break
            heartbeat()
            upcoming = todo[at + 1] if at + 1 < len(todo) else None
            status = _send_one(conn, settings, edition, publication, backend, limiter, marks, gate, run, result,
                               did, recipient, lookahead, upcoming) if run.fresh() else None
            if status is None:  # stopped, taken from us, or our heartbeat lapsed
                result.outcome = why_not(gate, run, marks)
                break
            result.counts[status] += 1
            done += 1
    except SendFailure as exc:  # only RELAY_DOWN leaves _send_one (and backend.open)
        result.outcome, result.note = BatchOutcome.RELAY_DOWN, str(exc)
        result.counts["relay_down"] = len(order) - done
        try:
            outage.record_relays(conn, backend)
            give_back(conn, order[done:], run.token, utcnow(), exc)
            outage.begin(conn, edition.id, str(exc), utcnow())
            conn.commit()
        except Exception as cleanup:
            if not is_outage(cleanup):
                raise
            interrupted = cleanup
    except Exception as exc:
        if not is_outage(exc):
            run.stop_heartbeat()  # a bug ends the run: its claim must be able to die, whatever is kept
            raise
        interrupted = exc
    finally:
        unmarked = _finish(conn, settings, edition, run, backend, marks, result, order[done:],
                           keep_rows=interrupted is not None)
        if unmarked is not None:  # the last mark could not be settled
            interrupted = interrupted or unmarked[1]
    if interrupted is not None or result.outcome == BatchOutcome.INTERRUPTED:
        cause = interrupted or RuntimeError(f"heartbeat not confirmed for {run.silent_for():.1f}s")
        rescued = [unmarked[0]] if unmarked is not None else []
        if marks is not None and marks.in_doubt is not None and not rescued:
            rescued = [marks.in_doubt]
        raise Interrupted(Handover(run.token, rescued, run), cause) from cause
    log_batch(edition, lo, hi, result)
    return result


def _finish(conn, settings, edition, run: Claim, backend, marks, result: BatchResult, rest: list[int],
            keep_rows: bool):
    """The end of a run, whatever ended it; never hides the error that ended it. Closes
    the connection, settles the last mark, gives back (or, cancelled, skips) what was
    claimed and not sent and is still ours (fenced: after a loss, nothing is), and ends
    the claim. Returns (in-doubt mark, error) when the last mark could not be settled,
    else None. When the database failed (`keep_rows`, or that last mark), the rows and
    the claim are kept, its heartbeat beating: the next run's take-over gives them back
    and marks the one in doubt."""
    quietly(backend.close)
    in_doubt = None
    if marks is not None:
        doubt = marks.in_doubt
        try:
            marks.close()
        except Exception as exc:  # noqa: BLE001 - the relay took that message: its retry marks it
            log.warning("batch of edition %s: the last sent mark was not confirmed (%s: %s); its retry marks it",
                        edition.id, type(exc).__name__, exc, extra={"edition_id": edition.id})
            in_doubt = (doubt, exc) if doubt is not None else None
        if marks.lost and result.outcome == BatchOutcome.DONE:
            result.outcome = BatchOutcome.LOST
    if keep_rows or in_doubt is not None:
        return in_doubt
    run.stop_heartbeat()
    try:
        if result.outcome == BatchOutcome.CANCELLED:
            result.counts[D.SKIPPED] += set_status(conn, rest, run.token, D.SKIPPED, "edition cancelled")
        else:
            give_back(conn, rest, run.token, utcnow())
        run.release(conn)
        conn.commit()
    except Exception as exc:  # noqa: BLE001 - left `sending` under a claim that now falls silent
        quietly(conn.rollback)
        log.warning("batch of edition %s: giving back %s row(s) failed (%s: %s); they go back when the claim is "
                    "seen dead", edition.id, len(rest), type(exc).__name__, exc, extra={"edition_id": edition.id})
    return None


def _send_one(conn, settings, edition, publication, backend, limiter, marks, gate, run: Claim,
              result: BatchResult, did: int, recipient: Recipient, lookahead: Lookahead,
              upcoming: tuple[int, Recipient] | None) -> str | None:
    """One message, start to recorded outcome; None when the batch must stop before it
    goes out (the edition stopped, the rows were taken, the heartbeat lapsed). Raises
    only for a relay that is unavailable, and for database and broker errors.

    The last message's sent mark travels while this one's envelope and body are written;
    it is settled (committed) before this one's end of data (`before_end`), and what it
    read decides whether this one is completed. While the relay answers this one, the
    next one is made (completion.Lookahead: drafted during `while_envelope`, signed
    during `while_waiting`)."""
    now = utcnow()
    composed, problem = lookahead.take(did, recipient, now)
    if gate.relay_down and result.counts[D.SENT]:  # a message went out: the outage is over
        result.alerted = outage.end(conn, edition.id, now) is not None or result.alerted
        conn.commit()
        gate.relay_down = False
    if gate.status != EditionStatus.SENDING:
        return None
    if email_domain(recipient.email) in gate.held_domains:
        return _set(conn, run, did, D.HELD, "domain held after policy refusals", FailureClass.POLICY_REFUSED)
    if problem is None and composed is None:  # their sections have nothing today
        return _set(conn, run, did, D.SKIPPED, "no headlines in chosen sections")
    if problem is None:
        limiter.wait(wire_address(recipient.email).domain)  # a broker error here interrupts the batch
        if not run.fresh():
            return None

    def before_end():
        last_mark_allows(marks, gate, recipient)

    def while_envelope():
        if upcoming is not None:
            lookahead.draft(*upcoming, utcnow())

    def while_waiting():
        if upcoming is not None:
            lookahead.finish(*upcoming, utcnow())

    try:
        if problem is not None:
            raise problem
        started = perf_counter()
        backend.send(composed.envelope_from, recipient.email, composed.data, composed.message_id,
                     before_end=before_end, while_waiting=while_waiting, dot_safe=composed.dot_safe,
                     while_envelope=while_envelope)
        metrics.message_sent(perf_counter() - started)
    except Withheld as withheld:
        if withheld.cause is not None:
            raise withheld.cause from None  # the database failed: the batch is interrupted
        if withheld.status == D.HELD:
            return _set(conn, run, did, D.HELD, "domain held after policy refusals", FailureClass.POLICY_REFUSED)
        return None
    except SendFailure as failure:
        if failure.failure_class == FailureClass.RELAY_DOWN:
            raise  # every relay is down: the batch records it
        status = _failed(conn, settings, edition, publication, gate, run, result, did, recipient, failure, now)
        outage.record_relays(conn, backend)
        return status
    except Exception as exc:  # noqa: BLE001 - one recipient never stops the batch
        backend.reset()  # the connection's state is unknown now
        failure = SendFailure(FailureClass.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
        result.note = result.note or str(failure)
        return _failed(conn, settings, edition, publication, gate, run, result, did, recipient, failure, now)
    marks.sent(did, composed.message_id, now, getattr(backend, "last_relay", ""))  # settled before the next end
    outage.record_relays(conn, backend)  # after the mark: a database error now leaves the mark in doubt, not lost
    return D.SENT


def _set(conn, run: Claim, did: int, status: D, error: str, error_class: str = "") -> str | None:
    found = set_status(conn, [did], run.token, status, error, error_class)
    conn.commit()
    if not found:
        run.lost = True
        return None
    return status


def _failed(conn, settings, edition, publication, gate, run: Claim, result: BatchResult, did: int,
            recipient: Recipient, failure: SendFailure, now) -> str | None:
    recorded = record_failure(conn, settings, edition.id, publication.id, did, run.token, recipient, failure, now)
    if recorded.lost:
        run.lost = True
        return None
    result.failures[failure.failure_class] += 1
    # Class, stage and code: enough to follow; the relay's text (it may name the address) is on the row.
    log.debug("delivery %s: %s at %s (%s): %s", did, failure.failure_class, failure.stage, failure.code or "-",
              recorded.status, extra={"edition_id": edition.id, "delivery_id": did})
    if recorded.paused_edition:
        gate.force(EditionStatus.PAUSED)
    if recorded.held_domain:
        gate.hold(recorded.held_domain)
    return recorded.status
