"""Real captured bounces (GNU Mailman's, from flufl.bounce's test data) and RFC 5965's
example complaint, each read from a Maildir and posted by a relay over HTTP: the
subscriber the report names is matched by address and suppressed with the right method,
soft failures count up, delays do nothing, a bystander is never touched, and what we
cannot read is stored, reported as failed and not lost. See tests/data/bounces/real/."""
from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces import intake, store
from newsletter.bounces.models import BounceFinding, BounceReport
from newsletter.subscribers.models import Subscription, Suppression
from newsletter.tracking.models import Event
from tests.bounce_samples import deliver

REAL = Path(__file__).parents[2] / "data" / "bounces" / "real"
SECRET = "relay-shared-secret-0123456789"
AUTH = {"Authorization": f"Bearer {SECRET}", "Content-Type": "message/rfc822"}
BYSTANDER = "bystander@example.org"
ACTIVE = ("active", None, set())
ENDED = {"hard": ("unsubscribed", "hard_bounce", {"bounce"}),
         "complaint": ("unsubscribed", "complaint", {"complaint"})}

SAMPLES = [  # (file, the address of ours it names, report type, class, status code)
    ("postfix_01.txt", "xxxxx@local.ie", "text", "hard", "5.1.1"),
    ("postfix_04.txt", "userx@mail1.example.com", "text", "soft", ""),
    ("exim_01.txt", "userx@its.example.nl", "text", "hard", "5.1.1"),
    ("microsoft_01.txt", "userx@example.com", "text", "hard", ""),  # words, no code
    ("microsoft_02.txt", "userx@example.com", "text", "hard", ""),
    ("dsn_13.txt", "userx@example.com", "dsn", "hard", "5.1.1"),
    ("yahoo_11.txt", "bad_user@aol.com", "text", "hard", "5.1.1"),
    ("yahoo_01.txt", "userx@example.com", "text", "soft", "4.4.1"),
    ("aol_01.txt", "screenname@aol.com", "text", "policy", ""),  # "not accepting mail from" us
    ("qmail_03.txt", "userx@example.jp", "text", "hard", "5.1.1"),
    # Two recipients: ours, and the address it forwards to (which loops): a refusal of the
    # message (554 Too many hops) for ours.
    ("sendmail_01.txt", "zzzzz@nfg.nl", "text", "policy", ""),
    ("dsn_01.txt", "userx@example.com", "dsn", "soft", "5.0.0 (recipient"),
    ("dsn_05.txt", "userx@example.cz", "dsn", "delayed", "4.4.1 (Persisten"),
    ("real_arf_rfc5965.eml", "user@example.com", "arf", "complaint", "abuse"),
]


@pytest.fixture
def web_settings(web_settings):
    web_settings.bounce_webhook_secret = SECRET
    return web_settings


def receive(request, settings, tmp_path, raw: bytes, via: str) -> int:
    """Store and process one report the way the product receives it; its id."""
    engine = request.getfixturevalue("engine")
    if via == "http":
        r = request.getfixturevalue("http").post("/bounces/inbound", content=raw, headers=AUTH)
        assert r.status_code == 202 and r.json()["status"] == "accepted", r.text
        return r.json()["id"]
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(raw)
    result = intake.collect(engine, settings, str(tmp_path / "Maildir"))
    assert (result.stored, result.known, sum(result.statuses.values())) == (1, 0, 1)
    assert len(mailbox.Maildir(tmp_path / "Maildir", create=False)) == 0  # stored, so taken out
    with Session(engine) as s:
        return s.scalar(select(BounceReport.id).order_by(BounceReport.id.desc()).limit(1))


def finding_of(engine, report_id: int, subscriber_id: int) -> BounceFinding:
    with Session(engine, expire_on_commit=False) as s:
        return s.scalar(select(BounceFinding).where(BounceFinding.report_id == report_id,
                                                    BounceFinding.subscriber_id == subscriber_id))


def report(engine, report_id: int) -> BounceReport:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(BounceReport, report_id)


def state(engine, subscriber_id: int, email: str):
    with Session(engine) as s:
        return (s.scalar(select(Subscription.status).where(Subscription.subscriber_id == subscriber_id)),
                s.scalar(select(Suppression.reason).where(Suppression.email == email)),
                set(s.scalars(select(Event.method).where(Event.subscriber_id == subscriber_id,
                                                         Event.kind == "unsubscribe"))))


@pytest.mark.parametrize("via", ["maildir", "http"])
@pytest.mark.parametrize("name, address, report_type, kind, code", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_a_real_report_acts_on_the_subscriber_it_names_and_nobody_else(
        request, engine, web_settings, publication, tmp_path, via, name, address, report_type, kind, code):
    named, bystander = deliver(engine, web_settings, publication, [address, BYSTANDER])
    raw = (REAL / name).read_bytes()
    got = report(engine, receive(request, web_settings, tmp_path, raw, via))
    assert got.raw == raw and got.source.startswith(via)  # the bytes, exactly
    assert (got.status, got.report_type) == ("parsed", report_type), got.parse_error or got.outcome
    ours = finding_of(engine, got.id, named.subscriber_id)
    assert (ours.kind, ours.status_code) == (kind, code), got.outcome
    assert (ours.recipient.lower(), ours.matched_by, ours.delivery_id) == (
        address, "address", None)  # no VERP, no Message-ID of ours: by address
    assert got.subscriber_id == named.subscriber_id
    assert state(engine, named.subscriber_id, named.email) == ENDED.get(kind, ACTIVE), got.outcome
    if kind == "soft":
        assert ours.outcome == f"soft bounce 1 of {web_settings.soft_bounce_threshold} within " \
                               f"{web_settings.soft_bounce_window_days} days"
    elif kind == "delayed":
        assert ours.outcome == "delayed: nothing to do"
    elif kind == "policy":
        assert ours.outcome == f"policy refusal {code}: nobody suppressed"
    else:
        assert ours.outcome == f"{kind}: {address} suppressed, subscription ended"
    assert state(engine, bystander.subscriber_id, BYSTANDER) == ACTIVE


@pytest.mark.parametrize("via", ["maildir", "http"])
def test_soft_failures_from_different_real_reports_count_up_to_the_threshold(
        request, engine, web_settings, publication, tmp_path, via):
    web_settings.soft_bounce_threshold = 2
    named, bystander = deliver(engine, web_settings, publication, ["userx@example.com", BYSTANDER])
    delay = receive(request, web_settings, tmp_path, (REAL / "dsn_05.txt").read_bytes(), via)  # another address
    first = receive(request, web_settings, tmp_path, (REAL / "yahoo_01.txt").read_bytes(), via)  # 4.4.1, gave up
    assert report(engine, first).outcome == "soft bounce 1 of 2 within 14 days"
    assert state(engine, named.subscriber_id, named.email) == ACTIVE
    second = receive(request, web_settings, tmp_path, (REAL / "dsn_01.txt").read_bytes(), via)  # disk quota
    assert report(engine, second).outcome == ("soft bounce 2 of 2 within 14 days: userx@example.com suppressed, "
                                              "subscription ended")
    assert state(engine, named.subscriber_id, named.email) == ENDED["hard"]
    assert report(engine, delay).status == "unmatched"  # userx@example.cz is nobody of ours
    assert state(engine, bystander.subscriber_id, BYSTANDER) == ACTIVE


@pytest.mark.parametrize("via", ["maildir", "http"])
def test_what_we_cannot_read_is_stored_and_reported_as_failed(request, engine, web_settings, publication, tmp_path,
                                                               via):
    # qmail_08: an auto-reply in a charset Python does not know, which once crashed the reader.
    (bystander,) = deliver(engine, web_settings, publication, [BYSTANDER])
    raw = (REAL / "qmail_08.txt").read_bytes()
    got = report(engine, receive(request, web_settings, tmp_path, raw, via))
    assert (got.status, got.raw, got.attempts) == ("failed", raw, 1)
    assert got.parse_error == "no delivery-status notification, feedback report or bounced recipient found"
    assert got.outcome == "kept for `newsletter bounces reprocess`"
    with Session(engine) as s:
        assert [r.id for r in store.recent(s, "failed", 10)] == [got.id]  # what `bounces list` shows
    assert intake.reprocess(engine, web_settings) == {"failed": 1}  # still there, still failed
    assert state(engine, bystander.subscriber_id, BYSTANDER) == ACTIVE
