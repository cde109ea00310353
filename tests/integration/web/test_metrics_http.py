"""/metrics over HTTP: the counters move with a delivery, a sign-up and a confirmation;
the gauges describe the database; nothing personal is in it."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery import driver
from newsletter.editions.build import build_edition, window_for
from newsletter.jobs import InlineDispatcher
from newsletter.publications.schedule import local_date
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import OutboxBackend
from tests.helpers import add_article
from tests.integration.web.readers import confirm_link, confirmations
from tests.integration.web.site import deliver_today
from tests.metrics_text import scrape, value


def test_counters_move_with_a_delivery_and_a_sign_up(http, engine, web_settings, publication):
    before = scrape(http)  # the counters of this process: other tests may have moved them already
    readers = [(f"reader{i}@example.org", f"Reader {i}", None) for i in range(7)]
    edition_id = deliver_today(engine, web_settings, publication, readers)
    r = http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "new.reader@example.org"})
    assert r.status_code == 202
    (msg,) = confirmations(web_settings, "new.reader@example.org")
    assert http.post("/" + confirm_link(msg).split("/", 3)[3]).status_code == 200
    # A sign-up of an address already subscribed counts the same: the counter says
    # nothing about whether an address is subscribed.
    again = http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "reader1@example.org"})
    assert again.status_code == 202
    after = scrape(http)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("newsletter_messages_sent_total") == 7
    assert moved("newsletter_send_seconds_count") == 7
    assert moved("newsletter_send_seconds_bucket", le="+Inf") == 7
    assert moved("newsletter_send_seconds_sum") > 0
    assert moved("newsletter_signups_total") == 2
    assert moved("newsletter_confirmations_total") == 1
    assert value(after, "newsletter_editions", state="sent") == 1
    assert value(after, "newsletter_batches_in_flight") == 0
    assert value(after, "newsletter_scrape_up", source="database") == 1
    # The edition is finished: no per-edition gauge remains for it.
    assert not any(name == "newsletter_edition_deliveries" for name, _ in after)
    assert edition_id
    text = http.get("/metrics").text
    assert "example.org" not in text and "Reader" not in text


def test_progress_of_an_edition_being_sent(http, engine, web_settings, publication):
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        now = utcnow()
        day = local_date(pub.timezone, now)
        add_article(s, "superpowers", "A headline", window_for(s, pub, day, now)[1] - timedelta(hours=1))
        for i in range(4):
            add_subscriber(s, pub, f"reader{i}@example.org")
        edition, _ = build_edition(s, pub, day, now)
        s.commit()
    # Started and fanned out (the batches recorded), nothing sent yet: its progress shows.
    driver.start(engine, web_settings, edition.id)
    driver.fan_out(engine, web_settings, edition.id, lambda *args, **kwargs: None, utcnow())
    scraped = scrape(http)
    assert value(scraped, "newsletter_editions", state="sending") == 1
    labels = {"edition_id": str(edition.id), "publication": "spacewar-daily"}
    assert value(scraped, "newsletter_edition_deliveries", state="pending", **labels) == 4
    assert value(scraped, "newsletter_edition_deliveries", state="sent", **labels) == 0
    assert value(scraped, "newsletter_edition_fanout_ratio", **labels) == 1.0
    InlineDispatcher(web_settings, OutboxBackend(web_settings.effective_outbox_dir)).run_edition(edition.id)
    scraped = scrape(http)
    assert (value(scraped, "newsletter_editions", state="sending"), value(scraped, "newsletter_editions",
                                                                           state="sent")) == (0, 1)


def test_a_token_protects_the_metrics_when_set(http, web_settings):
    web_settings.metrics_token = "scraper-token-0123456789"
    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer scraper-token-0123456789"}).status_code == 200
