"""A relay posts raw reports to /bounces/inbound on a real uvicorn server."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceReport
from newsletter.subscribers.models import Subscription, Suppression
from newsletter.tracking.models import Event
from tests.bounce_samples import deliver, sample

SECRET = "relay-shared-secret-0123456789"
AUTH = {"Authorization": f"Bearer {SECRET}", "Content-Type": "message/rfc822"}


@pytest.fixture
def web_settings(web_settings):
    web_settings.bounce_webhook_secret = SECRET
    web_settings.bounce_max_bytes = 64 * 1024 * 3  # above the 64 KiB every other route gets
    return web_settings


def status_of(engine, subscriber_id: int, email: str):
    with Session(engine) as s:
        return (s.scalar(select(Subscription.status).where(Subscription.subscriber_id == subscriber_id)),
                s.scalar(select(Suppression.reason).where(Suppression.email == email)),
                set(s.scalars(select(Event.method).where(Event.subscriber_id == subscriber_id,
                                                         Event.kind == "unsubscribe"))))


def test_posted_reports_suppress_the_right_subscriber(server, http, engine, web_settings, publication):
    hard, complained, soft = deliver(engine, web_settings, publication,
                                     ["hard@example.org", "complained@example.org", "soft@example.org"])
    r = http.post("/bounces/inbound", content=hard.report("gmail_no_such_user.eml"), headers=AUTH)
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    # The envelope recipient given by the relay is enough, even when the report names nobody of ours.
    raw = complained.report("yahoo_arf_abuse.eml", verp="someone-else@example.net").replace(
        complained.message_id.encode(), b"<unknown@example.net>")
    r = http.post("/bounces/inbound", params={"recipient": complained.verp}, content=raw, headers=AUTH)
    assert r.status_code == 202
    r = http.post("/bounces/inbound", content=soft.report("gmail_over_quota.eml"), headers=AUTH)
    assert r.status_code == 202
    assert status_of(engine, hard.subscriber_id, hard.email) == ("unsubscribed", "hard_bounce", {"bounce"})
    assert status_of(engine, complained.subscriber_id, complained.email) == (
        "unsubscribed", "complaint", {"complaint"})
    assert status_of(engine, soft.subscriber_id, soft.email) == ("active", None, set())
    with Session(engine) as s:
        matched = dict(s.execute(select(BounceReport.recipient, BounceReport.matched_by)).all())
    assert matched[complained.email] == "verp"

    again = http.post("/bounces/inbound", content=hard.report("gmail_no_such_user.eml"), headers=AUTH)
    assert again.status_code == 200 and again.json() == {"id": 1, "status": "already stored"}


def test_a_malformed_report_is_stored_and_failed(server, http, engine):
    raw = sample("malformed_report.eml")
    r = http.post("/bounces/inbound", content=raw, headers=AUTH)
    assert r.status_code == 202
    with Session(engine) as s:
        report = s.get(BounceReport, r.json()["id"])
        assert (report.status, report.raw, report.source) == ("failed", raw, "http")
        assert "no delivery-status notification" in report.parse_error


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {SECRET}"},
    {"Authorization": f"Bearer {SECRET}x"},
])
def test_without_the_secret_nothing_is_stored(server, http, engine, headers):
    r = http.post("/bounces/inbound", content=sample("gmail_no_such_user.eml"), headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"
    with Session(engine) as s:
        assert s.scalar(select(BounceReport.id)) is None


def test_size_and_emptiness_are_limited(server, http, engine, web_settings):
    big = sample("gmail_no_such_user.eml") + b"x" * web_settings.bounce_max_bytes
    assert http.post("/bounces/inbound", content=big, headers=AUTH).status_code == 413
    # Larger than what other routes take, within the bounce limit: accepted.
    fat = sample("gmail_no_such_user.eml").replace(b"Today's headlines", b"y" * 100_000)
    assert http.post("/bounces/inbound", content=fat, headers=AUTH).status_code == 202
    assert http.post("/subscribe", content=b"x" * 100_000).status_code == 413
    assert http.post("/bounces/inbound", content=b"  \r\n", headers=AUTH).status_code == 400
    assert http.post("/bounces/inbound", content=b"x", headers=AUTH, params={"recipient": "a" * 400}).status_code == 400


def test_the_endpoint_does_not_exist_without_a_secret(server, http, web_settings):
    web_settings.bounce_webhook_secret = ""
    assert http.post("/bounces/inbound", content=sample("gmail_no_such_user.eml"),
                     headers={"Authorization": "Bearer x"}).status_code == 404
