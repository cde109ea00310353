"""An operator's week on PostgreSQL, Redis and real Celery workers: declare a weekly
publication and a feed in the publications file, let beat poll the feed (its task sent
as beat sends it), preview as a subscriber and test-send to yourself (neither writes an
edition or a delivery), watch the scheduled edition go out with `newsletter editions
status`, and get the alert for next week's empty edition."""
from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.editions.models import Edition
from newsletter.ingest.models import Feed
from newsletter.publications.models import Publication
from tests.integration.feed_server import FeedServer
from tests.integration.servers import wait_for

OPERATOR = "desk@spacewar.example.com"
READERS = 30


def test_a_week_of_a_weekly_publication_on_workers(stack, tmp_path):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    feed = FeedServer(now).start()
    stack.smtp.handler.keep_messages = True
    sections = sample_file("publications.toml").read_text().split("[[publications]]")[0]
    path = tmp_path / "publications.toml"
    path.write_text(sections + f"""
[[publications]]
slug = "spacewar-weekly"
name = "SpaceWar Weekly"
sender_name = "SpaceWar Weekly"
sender_address = "weekly@spacewar.example.com"
postal_address = "Space Media Network, 1 Orbit Way, Canberra ACT 2600, Australia"
sections = ["superpowers", "missile-defense", "drone-war"]
schedule = "{now.minute} {now.hour} * * {now.isoweekday() % 7}"   # this weekday, this minute (UTC)
timezone = "UTC"
list_id = "SpaceWar Weekly <spacewar-weekly.spacewar.example.com>"
operator_address = "{OPERATOR}"

[[feeds]]
name = "wire"
url = "{feed.url}/feed"
interval_minutes = 30
allow_private = true   # the test's feed server is on loopback
""")

    def cli(*args) -> str:
        return stack.cli(*args).stdout

    try:
        cli("publications", "load", "--file", str(path))
        (tmp_path / "list.csv").write_text("email\n" + "".join(f"r{i:02d}@example.org\n" for i in range(READERS)))
        cli("subscribers", "import", "spacewar-weekly", str(tmp_path / "list.csv"))
        stack.worker()

        # Beat polls the feeds that are due: one poll_feed task per feed.
        stack.send("poll_feeds")
        wait_for(lambda: _feed(stack).total_added == 2, 60, what="the feed to be polled")
        assert "2 / 2" in cli("feeds", "status")

        # Preview as one of the readers, and a test send to the editor: nothing is frozen or counted.
        preview = cli("preview", "spacewar-weekly", "--as", "r00@example.org", "--out", str(tmp_path / "preview"))
        assert "subject:" in preview and list((tmp_path / "preview").glob("*.html"))
        sent = cli("test-send", "spacewar-weekly", "--to", "editor@example.org", "--as", "r01@example.org")
        assert "sent to editor@example.org" in sent
        (proof,) = [m for m in map(_parse, stack.smtp.handler.messages)
                    if m["To"].addresses[0].addr_spec == "editor@example.org"]
        assert proof["Subject"].startswith("[TEST]") and proof["X-Newsletter-Test"]
        assert _edition_id(stack, now.date()) is None  # still nothing built: the schedule decides
        stack.smtp.handler.received.clear()

        # Beat's dispatcher finds this week's edition due, builds it and the workers send it.
        stack.send("dispatch_due")
        edition_id = wait_for(lambda: _edition_id(stack, now.date()), 60, what="the edition to be built")
        stack.wait_sent(edition_id)
        report = cli("editions", "status", str(edition_id))
        assert f"edition {edition_id}: sent" in report and f"{READERS} recorded, 0 to go" in report
        assert stack.smtp.handler.total() == READERS

        # A week later nothing new was published: the edition is empty, and the operators hear of it.
        stack.send("dispatch_due", (now + timedelta(days=7, seconds=30)).isoformat())
        wait_for(lambda: stack.smtp.handler.received[OPERATOR] == 1, 60, what="the alert")
        (alert,) = [m for m in map(_parse, stack.smtp.handler.messages)
                    if m["To"].addresses[0].addr_spec == OPERATOR]
        assert alert["Subject"].strip() == (f"[SpaceWar Weekly] Empty edition: nothing sent for "
                                            f"{(now + timedelta(days=7)).date()}")
        assert alert["List-Unsubscribe"] is None and alert["Auto-Submitted"] == "auto-generated"
        assert stack.status(_edition_id(stack, (now + timedelta(days=7)).date())) == "empty"
    finally:
        feed.stop()


def _feed(stack) -> Feed:
    with Session(stack.engine) as s:
        return s.scalar(select(Feed).where(Feed.name == "wire"))


def _edition_id(stack, day) -> int | None:
    with Session(stack.engine) as s:
        return s.scalar(select(Edition.id).join(Publication, Publication.id == Edition.publication_id)
                        .where(Publication.slug == "spacewar-weekly", Edition.date == day))


def _parse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)
