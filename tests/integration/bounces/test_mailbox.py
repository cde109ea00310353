"""Reports from several providers read from a Maildir (and an mbox): the right subscriber
is suppressed with the right method, soft bounces count up to the threshold, policy
refusals suppress nobody, and nothing received is ever lost."""
from __future__ import annotations

import mailbox
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces import intake
from newsletter.bounces.models import BounceReport
from newsletter.db import utcnow
from newsletter.publications.schedule import local_date
from newsletter.tracking.models import Event
from tests.bounce_samples import deliver, sample, state

PROVIDERS = [  # (sample, what it is, matched by, suppression, unsubscribe method)
    ("postfix_user_unknown.eml", "hard", "verp", "hard_bounce", "bounce"),
    ("exim_plain_user_unknown.eml", "hard", "message-id", "hard_bounce", "bounce"),
    ("gmail_no_such_user.eml", "hard", "verp", "hard_bounce", "bounce"),
    ("exchange_recipient_not_found.eml", "hard", "verp", "hard_bounce", "bounce"),
    ("yahoo_arf_abuse.eml", "complaint", "verp", "complaint", "complaint"),
    ("arf_address_only.eml", "complaint", "address", "complaint", "complaint"),
    ("gmail_policy_blocked.eml", "policy", "verp", None, None),
    ("exchange_delayed.eml", "delayed", "verp", None, None),
    ("gmail_over_quota.eml", "soft", "verp", None, None),
]


def maildir(tmp_path, messages: list[bytes]) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for raw in messages:
        box.add(raw)
    return str(tmp_path / "Maildir")


def reports(engine) -> list[BounceReport]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.scalars(select(BounceReport).order_by(BounceReport.id)))


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_each_provider_suppresses_the_right_subscriber_with_the_right_method(engine, settings, publication, tmp_path):
    emails = [f"reader{i}@example.org" for i in range(len(PROVIDERS))] + ["bystander@example.org"]
    sent = deliver(engine, settings, publication, emails)
    folder = maildir(tmp_path, [m.report(name, sender=publication.sender_address)
                                for m, (name, *_rest) in zip(sent, PROVIDERS, strict=False)])
    result = intake.collect(engine, settings, folder)
    assert (result.stored, result.known) == (len(PROVIDERS), 0)
    assert result.statuses == {"parsed": len(PROVIDERS)}
    assert len(mailbox.Maildir(folder, create=False)) == 0  # stored, so taken out of the mailbox
    by_recipient = {r.recipient: r for r in reports(engine)}
    for m, (name, kind, matched_by, suppression, method) in zip(sent, PROVIDERS, strict=False):
        report = by_recipient[m.email]
        assert (report.kind, report.matched_by, report.subscriber_id) == (kind, matched_by, m.subscriber_id), name
        assert report.delivery_id == (None if matched_by == "address" else m.delivery_id), name
        status, suppressed, methods = state(engine, m.subscriber_id, m.email)
        if suppression:
            assert (status, suppressed, methods) == ("unsubscribed", suppression, {method}), name
        else:
            assert (status, suppressed, methods) == ("active", None, set()), name
    assert state(engine, sent[-1].subscriber_id, sent[-1].email) == ("active", None, set())
    with Session(engine) as s:
        complaint_editions = list(s.scalars(select(Event.edition_id).where(Event.kind == "complaint")))
    assert sorted(complaint_editions, key=str) == sorted([sent[0].edition_id, None], key=str)


def test_soft_bounces_count_up_and_suppress_only_past_the_threshold(engine, settings, publication, tmp_path):
    settings.soft_bounce_threshold = 3
    today = local_date(publication.timezone, utcnow())
    soft, policy = "soft@example.org", "policy@example.org"
    days = [deliver(engine, settings, publication, [soft, policy], today - timedelta(days=n)) for n in (2, 1, 0)]
    for n, (to_soft, to_policy) in enumerate(days, start=1):
        # The same edition reported twice counts once; policy refusals never count.
        raws = [to_soft.report("gmail_over_quota.eml"),
                to_soft.report("gmail_over_quota.eml").replace(b"98e67ed59e1d1", b"11111111111d1"),
                to_policy.report("gmail_policy_blocked.eml")]
        intake.collect(engine, settings, maildir(tmp_path / str(n), raws))
        expected = ("unsubscribed", "hard_bounce", {"bounce"}) if n == 3 else ("active", None, set())
        assert state(engine, to_soft.subscriber_id, soft) == expected, f"after {n} editions bounced softly"
        assert state(engine, to_policy.subscriber_id, policy) == ("active", None, set())
    soft_reports = [r for r in reports(engine) if r.recipient == soft]
    assert [r.outcome for r in soft_reports] == [
        "soft bounce 1 of 3 within 14 days", f"already counted (report {soft_reports[0].id})",
        "soft bounce 2 of 3 within 14 days", f"already counted (report {soft_reports[2].id})",
        "soft bounce 3 of 3 within 14 days: soft@example.org suppressed, subscription ended",
        f"already counted (report {soft_reports[4].id})"]
    assert {r.outcome for r in reports(engine) if r.recipient == policy} == {
        "policy refusal 5.7.1: nobody suppressed"}


def test_a_malformed_report_is_kept_and_reprocessing_after_a_fix_works(engine, settings, publication, tmp_path,
                                                                         monkeypatch):
    (m,) = deliver(engine, settings, publication, ["ann@example.org"])
    raw_bad, raw_good = sample("malformed_report.eml"), m.report("postfix_user_unknown.eml")

    def buggy_parse(raw, source=""):  # a bug in reading: it must lose nothing
        raise RuntimeError("parser bug")

    monkeypatch.setattr("newsletter.bounces.process.parse", buggy_parse)
    result = intake.collect(engine, settings, maildir(tmp_path, [raw_bad, raw_good]))
    assert result.statuses == {"failed": 2}
    stored = {r.raw: r for r in reports(engine)}
    assert set(stored) == {raw_bad, raw_good}  # the bytes, exactly
    assert stored[raw_good].parse_error == "RuntimeError: parser bug"
    assert state(engine, m.subscriber_id, m.email) == ("active", None, set())

    monkeypatch.undo()  # the fix
    assert intake.reprocess(engine, settings) == {"parsed": 1, "failed": 1}
    stored = {r.raw: r for r in reports(engine)}
    assert (stored[raw_good].status, stored[raw_good].attempts) == ("parsed", 2)
    assert (stored[raw_bad].status, stored[raw_bad].attempts) == ("failed", 2)
    assert "no delivery-status notification" in stored[raw_bad].parse_error
    assert state(engine, m.subscriber_id, m.email) == ("unsubscribed", "hard_bounce", {"bounce"})


def test_an_mbox_file_and_reports_seen_twice(engine, settings, publication, tmp_path):
    (m,) = deliver(engine, settings, publication, ["ann@example.org"])
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path)
    complaint = m.report("yahoo_arf_abuse.eml")
    box.add(complaint)
    box.add(complaint.replace(b"1764582076.4815162342", b"1764582999.4815162342"))  # a second copy
    box.flush()
    box.close()
    result = intake.collect(engine, settings, str(path), keep=True)
    assert (result.stored, result.statuses) == (2, {"parsed": 2})
    assert intake.collect(engine, settings, str(path)).known == 2  # the same bytes: stored once
    assert len(mailbox.mbox(path)) == 0
    with Session(engine) as s:
        assert len(s.scalars(select(Event.id).where(Event.kind == "complaint")).all()) == 1
    assert reports(engine)[1].outcome == f"already counted (report {reports(engine)[0].id})"
