"""/metrics over HTTP, for the counters and the gauge that test_metrics_http.py leaves
alone: a retry (a real relay on loopback answers 451 once), a complaint (Yahoo's ARF
posted by the relay), feed polls and their errors (a feed on loopback that answers,
then fails), and the bounce reports stored but not processed yet.

The web serves the counters of its own process, which is this one: what the test makes
the product do here shows there. Counters are compared before and after, since other
tests of the session may have moved them already."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from newsletter.bounces import intake
from newsletter.db import utcnow
from newsletter.editions.build import build_edition, window_for
from newsletter.ingest.feeds import poll_feed
from newsletter.ingest.models import Feed
from newsletter.jobs import InlineDispatcher
from newsletter.publications.schedule import local_date
from newsletter.scheduler import Scheduler
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import SMTPBackend
from tests.bounce_samples import deliver, sample
from tests.command_line import CommandLine
from tests.helpers import add_article
from tests.integration.feed_server import FeedServer
from tests.integration.servers import SMTPServer
from tests.metrics_text import scrape, value

SECRET = "relay-shared-secret-0123456789"
AUTH = {"Authorization": f"Bearer {SECRET}", "Content-Type": "message/rfc822"}


@pytest.fixture
def web_settings(web_settings):
    web_settings.bounce_webhook_secret = SECRET
    return web_settings


@pytest.fixture
def relay():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def feed_server():
    s = FeedServer(utcnow()).start()
    yield s
    s.stop()


def mover(before: dict, after: dict):
    def moved(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)
    return moved


def test_a_message_deferred_once_counts_one_retry(http, engine, web_settings, publication, relay):
    web_settings.retry_base_seconds = 0  # the second attempt is due at once
    relay.handler.defer_once = lambda rcpt: rcpt == "reader2@example.org"  # 451 4.3.0 the first time
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        now = utcnow()
        day = local_date(pub.timezone, now)
        add_article(s, "superpowers", "A headline", window_for(s, pub, day, now)[1] - timedelta(hours=1))
        for i in range(5):
            add_subscriber(s, pub, f"reader{i}@example.org")
        edition, _ = build_edition(s, pub, day, now)
        s.commit()
    before = scrape(http)
    status, _ = InlineDispatcher(web_settings, SMTPBackend("127.0.0.1", relay.port, timeout=5)).run_edition(
        edition.id)
    assert status == "sent"
    assert relay.handler.deferred == {"reader2@example.org"} and relay.handler.received["reader2@example.org"] == 1
    moved = mover(before, scrape(http))
    assert moved("newsletter_messages_retried_total") == 1
    assert moved("newsletter_messages_sent_total") == 5  # the deferred one too, at its second attempt
    assert moved("newsletter_messages_failed_total", failure_class="temporary") == 0


def test_a_complaint_posted_by_the_relay_is_counted(http, engine, web_settings, publication):
    complained, bounced = deliver(engine, web_settings, publication, ["complained@example.org", "gone@example.org"])
    before = scrape(http)
    r = http.post("/bounces/inbound", content=complained.report("yahoo_arf_abuse.eml"), headers=AUTH)
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    moved = mover(before, scrape(http))
    assert moved("newsletter_complaints_total") == 1
    assert moved("newsletter_bounce_reports_total", source="http") == 1
    assert moved("newsletter_bounces_total", kind="hard", source="report") == 0

    # A hard bounce is a bounce, not a complaint.
    r = http.post("/bounces/inbound", content=bounced.report("gmail_no_such_user.eml"), headers=AUTH)
    assert r.status_code == 202
    moved = mover(before, scrape(http))
    assert moved("newsletter_complaints_total") == 1
    assert moved("newsletter_bounces_total", kind="hard", source="report") == 1
    # The same complaint posted again is already stored: counted once.
    again = http.post("/bounces/inbound", content=complained.report("yahoo_arf_abuse.eml"), headers=AUTH)
    assert again.status_code == 200 and again.json()["status"] == "already stored"
    moved = mover(before, scrape(http))
    assert (moved("newsletter_complaints_total"), moved("newsletter_bounce_reports_total", source="http")) == (1, 2)


def test_feed_polls_and_their_errors(http, engine, web_settings, publication, feed_server):
    with Session(engine) as s:
        s.add(Feed(name="wire", url=f"{feed_server.url}/feed", section="superpowers", allow_private=True))
        s.commit()
    before = scrape(http)
    assert poll_feed(engine, web_settings, "wire", force=True).outcome == "new"
    moved = mover(before, scrape(http))
    assert (moved("newsletter_feed_polls_total"), moved("newsletter_feed_poll_errors_total")) == (1, 0)

    feed_server.mode = "500"  # answered once; fails from now on
    assert poll_feed(engine, web_settings, "wire", force=True).outcome == "error"
    assert feed_server.paths() == ["/feed", "/feed"]
    moved = mover(before, scrape(http))
    assert (moved("newsletter_feed_polls_total"), moved("newsletter_feed_poll_errors_total")) == (2, 1)


def waiting(scraped: dict) -> tuple[float, float]:
    return (value(scraped, "newsletter_bounce_reports_waiting", status="received"),
            value(scraped, "newsletter_bounce_reports_waiting", status="failed"))


def test_reports_waiting_to_be_processed(http, engine, web_settings):
    assert waiting(scrape(http)) == (0, 0)
    # Stored by the intake, not processed yet (as when a process dies between the two).
    for rcpt in ("one@example.org", "two@example.org"):
        assert intake.receive(engine, web_settings, sample("gmail_no_such_user.eml", rcpt=rcpt),
                              "maildir:/var/mail/bounces").new
    assert waiting(scrape(http)) == (2, 0)
    # Posted and processed at once, and it cannot be parsed: it waits as failed.
    r = http.post("/bounces/inbound", content=sample("malformed_report.eml"), headers=AUTH)
    assert r.status_code == 202
    assert waiting(scrape(http)) == (2, 1)
    # Beat's pass processes what waits (neither report matches a delivery of ours).
    assert intake.poll(engine, web_settings) == {"unmatched": 2}
    assert waiting(scrape(http)) == (0, 1)


def test_polls_made_by_another_process_count_on_the_web(http, engine, web_settings, publication, feed_server):
    """The feeds' counters and the alerts are read from the database: a poll made by another
    process (here the command line; in production a worker nobody scrapes) shows on the
    web's /metrics, and so does a feed's alert."""
    from newsletter.db import utcnow as now_
    with Session(engine) as s:
        s.add(Feed(name="wire", url=f"{feed_server.url}/feed", section="superpowers", allow_private=True,
                   alert_after_minutes=1))
        s.commit()
    feed_server.mode = "500"
    before = scrape(http)
    # A process of its own: the web server runs in this one.
    out = CommandLine.for_settings(web_settings).attempt("feeds", "poll", "wire", own_process=True)
    assert "HTTP 500" in out.stdout + out.stderr
    moved = mover(before, scrape(http))
    assert (moved("newsletter_feed_polls_total"), moved("newsletter_feed_poll_errors_total")) == (1, 1)
    assert value(scrape(http), "newsletter_feeds_failing") == 1
    with Session(engine) as s:  # failing for more than its minute, seen at its next poll
        s.execute(update(Feed).values(failing_since=now_() - timedelta(minutes=5)))
        s.commit()
    assert poll_feed(engine, web_settings, "wire", force=True).outcome == "error"
    Scheduler(web_settings).sweep()  # raises the feed's alert (delivery/feed_alerts.py)
    moved = mover(before, scrape(http))
    assert moved("newsletter_alerts_total", kind="feed_down") == 1 and moved("newsletter_feed_poll_errors_total") == 2
