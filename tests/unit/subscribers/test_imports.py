"""Import jobs on both databases: validated first and reported by line, all or nothing,
duplicates counted, nobody who left, is suppressed, disabled or erased brought back."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.operators import imports as operator_imports
from newsletter.staff.access import cli_actor
from newsletter.subscribers import lifecycle
from newsletter.subscribers.address_hash import address_hash
from newsletter.subscribers.models import (
    ImportJob,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.models import Event, EventKind, Method

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


def run(engine, settings, text, skip_invalid=False):
    return operator_imports.import_now(engine, settings.signing_key(), cli_actor(), "spacewar-daily", text,
                                       skip_invalid)


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@both
def test_bad_rows_are_reported_by_line_and_nothing_is_imported(engine, settings, session, publication):
    text = ("email,name,sections,timezone\n"
            "ann@example.org,Ann,superpowers,Europe/Paris\n"
            "not-an-address,Bob,,\n"
            "cara@example.org,Cara,gardening,\n"
            "dan@example.org,Dan,,Mars/Olympus\n"
            "eve@example.org,\"Eve\nBcc: x@example.org\",,\n"
            "fay@example.org,Fay,,,extra\n"
            "ANN@example.org,Ann again,,\n")
    job = run(engine, settings, text)
    assert job["status"] == "invalid" and "nothing imported" in job["message"]
    assert [(e["line"], e["problem"].split(" ")[0]) for e in job["errors"]] == [
        (3, "invalid"), (4, "unknown"), (5, "unknown"), (6, "name"), (8, "more")]
    assert job["duplicate_lines"] == [{"line": 9, "same_as_line": 2}]
    assert (job["rows"], job["invalid"], job["duplicates"], job["added"]) == (7, 5, 1, 0)
    assert "not-an-address" not in str(job)  # the report names lines, not addresses
    assert count(session, Subscriber) == 0

    job = run(engine, settings, text, skip_invalid=True)
    assert (job["status"], job["added"], job["invalid"]) == ("done", 1, 5)
    ann = session.scalar(select(Subscriber))
    assert (ann.email, ann.name, ann.timezone) == ("ann@example.org", "Ann", "Europe/Paris")
    sub = session.scalar(select(Subscription))
    assert (sub.status, sub.sections) == ("active", ["superpowers"])
    event = session.scalar(select(Event))
    assert (event.kind, event.method, event.detail) == (EventKind.SUBSCRIBE, Method.ADMIN, f"import #{job['id']}")


@both
def test_nobody_who_left_or_is_suppressed_comes_back(engine, settings, session, publication):
    for email in ("left@example.org", "bounced@example.org", "off@example.org", "pending@example.org",
                  "here@example.org"):
        add_subscriber(session, publication, email)
    left, bounced, off, pending, _ = session.scalars(select(Subscriber).order_by(Subscriber.id)).all()
    lifecycle.unsubscribe(session, left, publication, Method.LINK)
    lifecycle.end_for_address(session, bounced.id, bounced.email, publication.id, None, EventKind.BOUNCE, "550")
    off.status = SubscriberStatus.DISABLED
    lifecycle.subscription(session, pending.id, publication.id).status = SubscriptionStatus.PENDING
    session.add(Suppression(email="blocked@example.org", publication_id=None, reason=SuppressionReason.ADMIN))
    session.add(Suppression(email="", email_hash=address_hash(settings.signing_key(), "erased@example.org"),
                            reason=SuppressionReason.ERASED))
    session.commit()
    text = "email\n" + "\n".join(["left@example.org", "bounced@example.org", "off@example.org",
                                  "pending@example.org", "here@example.org", "blocked@example.org",
                                  "erased@example.org", "new@example.org"]) + "\n"
    job = run(engine, settings, text)
    assert (job["status"], job["added"], job["existing"], job["not_resubscribed"]) == ("done", 2, 1, 5)
    why = {x["line"]: x["why"] for x in job["not_resubscribed_lines"]}
    assert set(why) == {2, 3, 4, 7, 8}
    assert why[2].startswith("suppressed (unsubscribe)") and why[3].startswith("suppressed (hard bounce)")
    assert why[4].startswith("disabled") and why[7].startswith("suppressed (admin)") and why[8].startswith("erased")
    session.expire_all()
    statuses = dict(session.execute(select(Subscriber.email, Subscription.status).join(Subscription)).all())
    assert statuses["left@example.org"] == statuses["bounced@example.org"] == "unsubscribed"
    assert statuses["pending@example.org"] == statuses["new@example.org"] == "active"
    assert session.scalar(select(func.count()).select_from(Subscriber).where(
        Subscriber.email.in_(["blocked@example.org", "erased@example.org"]))) == 0
    # the same file again changes nothing
    again = run(engine, settings, text)
    assert (again["added"], again["existing"]) == (0, 3)


@both
def test_a_failed_import_leaves_nothing_and_says_so(engine, settings, session, publication, monkeypatch):
    from newsletter.subscribers import import_sql

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(import_sql, "_why", broken)  # fails after the rows were inserted
    session.add(Suppression(email="blocked@example.org", publication_id=None, reason=SuppressionReason.ADMIN))
    session.commit()
    job = run(engine, settings, "email\nann@example.org\nblocked@example.org\n")
    assert job["status"] == "failed" and "nothing was imported" in job["message"] and "disk full" not in job["message"]
    with Session(engine) as s:
        assert count(s, Subscriber) == 0 and count(s, Subscription) == 0 and count(s, Event) == 0
        assert s.scalar(select(ImportJob.status)) == "failed"


def test_unreadable_files_are_invalid(engine, settings, publication, tmp_path):
    assert run(engine, settings, "name\nAnn\n")["status"] == "invalid"
    assert "'email' column" in run(engine, settings, "")["message"]
    bad = tmp_path / "list.csv"
    bad.write_bytes(b"\xef\xbb\xbfemail\nann@example.org\n\xff\xfe@example.org\n")  # a BOM, then not UTF-8
    job = run(engine, settings, bad)
    assert (job["status"], job["added"]) == ("invalid", 0) and "not UTF-8 text" in job["message"]
