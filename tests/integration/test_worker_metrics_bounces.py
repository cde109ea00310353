"""Real Celery workers: the pool's metrics collected across processes and served by the
worker's main process (a message sent, one refused, one deferred once and retried); the
broker's queue depth; beat's bounce task reading a Maildir."""
from __future__ import annotations

import mailbox

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.delivery.models import Delivery
from newsletter.metrics import expose
from newsletter.publications.models import Publication
from newsletter.subscribers.models import Subscriber, Suppression
from newsletter.tracking.tokens import Tokens
from newsletter.web.metrics_state import StateCollector
from tests.bounce_samples import sample
from tests.integration.servers import free_port, wait_for
from tests.metrics_text import samples, value


def test_pool_metrics_queue_depth_and_the_bounce_task(stack, tmp_path):
    port = free_port()
    folder = tmp_path / "Maildir"
    mailbox.Maildir(folder, create=True)
    stack.env.update(NEWSLETTER_METRICS_DIR=str(tmp_path / "metrics"), NEWSLETTER_METRICS_PORT=str(port),
                     NEWSLETTER_BATCH_SIZE="10", NEWSLETTER_BOUNCE_MAILBOX=str(folder))
    stack.smtp.handler.reject = {"reader000003@example.org"}  # a hard bounce while sending
    stack.smtp.handler.defer_once = lambda rcpt: rcpt == "reader000005@example.org"  # 451 once: a retry

    # Before any worker: three tasks wait in the broker.
    for _ in range(3):
        stack.send("sweep")
    state = StateCollector(stack.engine, stack.redis)
    assert value(samples(expose.exposition(state).decode()), "newsletter_queue_depth", queue="newsletter") == 3

    pub_id, edition_id = stack.seed(40)
    worker = stack.worker(concurrency=2)
    stack.send("drive", edition_id)
    stack.wait_sent(edition_id)

    def scrape() -> dict:
        try:
            return samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        except httpx.TransportError:
            return {}

    scraped = wait_for(lambda: (s := scrape()) and value(s, "newsletter_messages_sent_total") == 39 and s,
                       60, what="the worker's metrics to count 39 messages")
    assert value(scraped, "newsletter_send_seconds_count") == 39
    assert value(scraped, "newsletter_messages_failed_total", failure_class="recipient_refused") == 1
    assert value(scraped, "newsletter_bounces_total", kind="hard", source="smtp") == 1
    assert stack.smtp.handler.deferred == {"reader000005@example.org"}
    assert value(scraped, "newsletter_messages_retried_total") == 1  # then sent: among the 39
    assert value(scraped, "newsletter_messages_failed_total", failure_class="temporary") == 0
    # The main process sends nothing: what it serves was counted in its pool's processes.
    files = list((tmp_path / "metrics").glob("counter_*.db"))
    assert files and str(worker.proc.pid) not in {f.stem.rsplit("_", 1)[1] for f in files}

    # A bounce that arrives later, in the mailbox beat reads.
    with Session(stack.engine) as s:
        domain = s.get(Publication, pub_id).effective_bounce_domain
        delivery_id, subscriber_id = s.execute(
            select(Delivery.id, Delivery.subscriber_id).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Subscriber.email == "reader000007@example.org")).one()
    verp = Tokens("integration-secret").verp_address(delivery_id, domain)
    mailbox.Maildir(folder, create=False).add(sample("gmail_no_such_user.eml", verp=verp,
                                                     rcpt="reader000007@example.org"))
    stack.send("process_bounces")

    def suppressed() -> bool:
        with Session(stack.engine) as s:
            return s.scalar(select(Suppression.reason).where(Suppression.email == "reader000007@example.org")) \
                == "hard_bounce"

    wait_for(suppressed, 60, what="the bounce task to suppress the address")
    assert len(mailbox.Maildir(folder, create=False)) == 0
    scraped = wait_for(lambda: (s := scrape()) and value(s, "newsletter_bounces_total", kind="hard",
                                                         source="report") == 1 and s, 30, what="bounce counted")
    assert value(scraped, "newsletter_bounce_reports_total", source="maildir") == 1
