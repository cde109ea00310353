"""Retention (issue 22, item 3): the delivery rows of an old edition are rolled up and
removed, and nothing an old email still does breaks: its unsubscribe link works and
records the edition, a bounce that arrives afterwards still finds its reader, and every
figure (editions list, status, stats, the JSON figures) is what it was. On SQLite and
PostgreSQL; the reports are received and processed as the product does."""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.bounces import intake
from newsletter.bounces.models import BounceReport
from newsletter.db import utcnow
from newsletter.delivery.models import Delivery
from newsletter.delivery.report import failures_by_class, report
from newsletter.delivery.tallies import DeliveryTally
from newsletter.operators import editions as operator_editions
from newsletter.operators import figures
from newsletter.publications.schedule import local_date
from newsletter.reports.stats import edition_stats
from newsletter.retention import run as retention
from newsletter.staff.access import cli_actor
from newsletter.staff.models import AuditEntry
from newsletter.subscribers.models import Subscriber, Subscription, Suppression
from newsletter.subscribers.unsubscribe import unsubscribe_with_claim
from newsletter.tracking.models import Event, Method
from newsletter.tracking.tokens import Tokens
from newsletter.web.edition_routes import published_edition
from tests.bounce_samples import deliver
from tests.command_line import CommandLine

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
READERS = ["ann@example.org", "bob@example.org", "cat@example.org", "dan@example.org"]


def _figures(engine, settings, old_id: int, new_id: int, slug: str) -> dict:
    actor, today = cli_actor(), utcnow().date()
    with Session(engine) as s, engine.connect() as conn:
        return {
            "stats": [vars(e) for e in edition_stats(s)],
            "per_edition": [figures.per_edition(s, actor, i) for i in (old_id, new_id)],
            "per_day": figures.per_day(s, actor, today - timedelta(days=3), today + timedelta(days=1)),
            "list": operator_editions.editions(s, actor)[0],
            "status": [{k: v for k, v in vars(report(conn, i)).items() if k != "now"}
                       for i in (old_id, new_id)],
            "failures": [failures_by_class(conn, i, per_class=0) for i in (old_id, new_id)],
            "readers": figures.publication_figures(s, actor, slug),
            "archive": [published_edition(s, public_id) is not None for public_id in _public_ids(s, old_id, new_id)],
        }


def _public_ids(s, *ids):
    from newsletter.editions.models import Edition

    return [s.get(Edition, i).public_id for i in ids]


def _rows(engine, edition_id: int) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Delivery).where(Delivery.edition_id == edition_id))


def receive(engine, settings, raw: bytes) -> BounceReport:
    stored = intake.receive(engine, settings, raw, "http")
    intake.process_ids(engine, settings, [stored.report_id])
    with Session(engine, expire_on_commit=False) as s:
        return s.get(BounceReport, stored.report_id)


def test_retention_removes_old_rows_and_old_emails_still_work(engine, settings, publication):
    settings = settings.model_copy(update={"retention_batch_rows": 100})  # several batches would be 1 row each
    today = local_date(publication.timezone, utcnow())
    old = deliver(engine, settings, publication, READERS, today - timedelta(days=200))
    new = deliver(engine, settings, publication, READERS, today)
    old_id, new_id = old[0].edition_id, new[0].edition_id
    with Session(engine) as s:  # a failure too, so that failed-by-class has something to keep
        row = s.get(Delivery, old[3].delivery_id)
        row.status, row.error_class, row.claimed_at, row.sent_at = "failed", "recipient_refused", utcnow(), None
        s.commit()
    before = _figures(engine, settings, old_id, new_id, publication.slug)
    assert before["per_edition"][0]["sent"] == 3 and before["per_edition"][0]["failed"] == {"recipient_refused": 1}

    planned = retention.run(engine, settings, dry_run=True)
    assert {p.what: p.count for p in planned.parts}["deliveries"] == len(READERS)
    assert _rows(engine, old_id) == len(READERS)  # a dry run changes nothing

    done = retention.run(engine, settings.model_copy(update={"retention_batch_rows": 3}))
    assert {p.what: p.count for p in done.parts}["deliveries"] == len(READERS)
    assert (_rows(engine, old_id), _rows(engine, new_id)) == (0, len(READERS))
    with Session(engine) as s:  # two batches, merged into one row per (state, class, day)
        tallies = s.execute(select(DeliveryTally.status, DeliveryTally.error_class, DeliveryTally.count)
                            .where(DeliveryTally.edition_id == old_id).order_by(DeliveryTally.status)).all()
    assert [tuple(t) for t in tallies] == [("failed", "recipient_refused", 1), ("sent", "", 3)]
    after = _figures(engine, settings, old_id, new_id, publication.slug)
    assert after == before
    assert {p.what: p.count for p in retention.run(engine, settings).parts}["deliveries"] == 0  # idempotent

    # The unsubscribe link of the 200-day-old email: names subscriber, publication, edition.
    ann = old[0]
    tokens = Tokens(settings.signing_key())
    with Session(engine) as s:
        key = s.get(Subscriber, ann.subscriber_id).token_key
        link = tokens.unsubscribe(ann.subscriber_id, key, publication.id, old_id)
        outcome = unsubscribe_with_claim(s, tokens.read_unsubscribe(link), Method.ONE_CLICK)
        s.commit()
        assert outcome.changed and outcome.edition_id == old_id
        assert s.scalar(select(Event.edition_id).where(Event.subscriber_id == ann.subscriber_id,
                                                       Event.kind == "unsubscribe")) == old_id
        assert s.scalar(select(Subscription.status).where(Subscription.subscriber_id == ann.subscriber_id)) \
            == "unsubscribed"

    # A bounce of the old email after its row is gone: its VERP names the removed row, its
    # Message-ID names edition and subscriber.
    bob = old[1]
    got = receive(engine, settings, bob.report("postfix_user_unknown.eml"))
    assert (got.status, got.kind, got.matched_by, got.subscriber_id, got.edition_id, got.delivery_id) == \
        ("parsed", "hard", "message-id", bob.subscriber_id, old_id, None)
    # One without our Message-ID (a mailbox that quotes no headers): found by its address.
    cat = old[2]
    got = receive(engine, settings, cat.report("postfix_user_unknown.eml", message_id="<x@elsewhere.example>"))
    assert (got.status, got.matched_by, got.subscriber_id) == ("parsed", "address", cat.subscriber_id)
    with Session(engine) as s:
        suppressed = set(s.scalars(select(Suppression.email).where(Suppression.reason == "hard_bounce")))
        assert {bob.email, cat.email} <= suppressed
        # Ann's unsubscribe and Bob's bounce (and the end of his subscription) count on the
        # old edition, as they would have; Cat's, matched by address, on none.
        stats = {e.edition_id: e for e in edition_stats(s)}
        assert (stats[old_id].sent, stats[old_id].by_method, stats[old_id].bounces) == \
            (3, {"one-click": 1, "bounce": 1}, 1)


def test_raw_reports_audit_entries_and_outbox_files_have_their_own_time(engine, settings, publication):
    (m,) = deliver(engine, settings, publication, ["ann@example.org"])
    report_id = receive(engine, settings, m.report("postfix_user_unknown.eml")).id
    long_ago = utcnow() - timedelta(days=1000)
    with Session(engine) as s:
        s.get(BounceReport, report_id).received_at = long_ago
        s.add_all([AuditEntry(actor="cli:old", via="cli", action="subscriber.update", created_at=long_ago),
                   AuditEntry(actor="cli:new", via="cli", action="subscriber.update")])
        s.commit()
    files = sorted(settings.effective_outbox_dir.glob("*.eml"))
    assert files
    stamp = (datetime.now(UTC) - timedelta(days=40)).timestamp()
    os.utime(files[0], (stamp, stamp))

    planned = {p.what: p.count for p in retention.run(engine, settings, dry_run=True).parts}
    assert planned == {"deliveries": 0, "bounce reports (raw)": 1, "audit log": 1, "outbox files": 1,
                       "webhook deliveries": 0}
    retention.run(engine, settings)
    with Session(engine) as s:
        kept = s.get(BounceReport, report_id)
        assert (kept.raw, kept.kind, kept.matched_by) == (b"", "hard", "verp")  # the reading stays
        assert list(s.scalars(select(AuditEntry.actor))) == ["cli:new"]
    assert not files[0].exists() and all(f.exists() for f in files[1:])


def test_the_command_shows_sizes_and_what_it_would_remove_then_removes_it(engine, settings, publication):
    today = local_date(publication.timezone, utcnow())
    (old, _) = deliver(engine, settings, publication, READERS[:2], today - timedelta(days=120))
    run = CommandLine.for_settings(settings)

    def cli(*args):
        return run("retention", *args).stdout

    shown = cli("--dry-run")
    assert "would remove" in shown and "deliveries" in shown and "of 1 editions" in shown
    assert _rows(engine, old.edition_id) == 2
    done = cli()
    assert "removed" in done and "after" in done and _rows(engine, old.edition_id) == 0
    # too short to be a choice: refused, one line
    out = run.attempt("retention", NEWSLETTER_RETENTION_DELIVERY_DAYS="3")
    assert out.returncode == 2 and "RETENTION_DELIVERY_DAYS" in out.stderr and "Traceback" not in out.stderr
