"""Issue 20, item 4: erasing a reader of a sent edition leaves the figures of the past as
they were: `editions list`, `editions status`, `stats` and `stats --json`, on SQLite and
on PostgreSQL. Only the person's rows go."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db import get_engine
from newsletter.delivery.models import Delivery
from newsletter.publications.models import Publication
from newsletter.subscribers.lifecycle import unsubscribe
from newsletter.subscribers.models import Subscriber
from newsletter.tracking.models import Method
from tests.databases import drop_pg_database, new_pg_database
from tests.helpers import at, rss
from tests.integration.servers import SMTPServer

DAY = at("2026-11-26T09:00:00")


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'figures.sqlite3'}"
    else:
        url = new_pg_database(request.getfixturevalue("pg_template"))
        yield url
        drop_pg_database(url)


@pytest.fixture
def run(run, database):
    """The command's output, on this test's database."""
    cli = run.using(NEWSLETTER_DATABASE_URL=database)
    return lambda *args, **env: cli(*args, **env).stdout


def figures(run) -> dict[str, str]:
    return {"list": run("editions", "list", "spacewar-daily"), "status": run("editions", "status", "1"),
            "stats": run("stats"), "stats --json": json.loads(run("stats", "--json"))}


def test_erasing_a_reader_leaves_the_figures_of_a_sent_edition(run, tmp_path, database):
    smtp = SMTPServer()
    smtp.handler.reject = {"nobody@example.org"}  # a hard bounce: failed, and a bounce event
    smtp.start()
    relay = {"NEWSLETTER_DELIVERY_BACKEND": "smtp", "NEWSLETTER_SMTP_HOST": "127.0.0.1",
             "NEWSLETTER_SMTP_PORT": str(smtp.port)}
    try:
        run("publications", "load")
        feed = tmp_path / "feed.xml"
        feed.write_bytes(rss([{"title": "First story", "link": "https://x.example.com/1", "category": "SUPERPOWERS",
                               "date": DAY}]))
        run("ingest", str(feed))
        for who in ("ann", "bob", "cy", "dee", "nobody"):
            run("subscribers", "add", "spacewar-daily", f"{who}@example.org")
        run("send", "spacewar-daily", "--date", "2026-11-26", **relay)
        engine = get_engine(database)
        with Session(engine) as session:  # ann leaves by the one-click link of that edition
            ann = session.scalar(select(Subscriber).where(Subscriber.email == "ann@example.org"))
            unsubscribe(session, ann, session.scalar(select(Publication)), Method.ONE_CLICK, 1)
            session.commit()
            ids = dict(session.execute(select(Subscriber.email, Subscriber.id)).all())
        before = figures(run)
        assert "5 in total" in before["status"], before["status"]
        (edition,) = before["stats --json"]["editions"]
        assert (edition["sent"], edition["unsubscribes"], edition["by_method"], edition["bounces"]) == (
            4, 2, {"one-click": 1, "bounce": 1}, 1)
        for who in ("ann", "nobody"):  # a reader who got it, and one whose address bounced
            run("subscribers", "erase", str(ids[f"{who}@example.org"]), "--yes")
        after = figures(run)
        for key in before:
            assert after[key] == before[key], key
        with engine.connect() as conn:  # only the people's rows went
            assert conn.scalar(select(func.count()).select_from(Delivery)) == 3
            assert sorted(conn.scalars(select(Subscriber.email))) == [
                "bob@example.org", "cy@example.org", "dee@example.org"]
        engine.dispose()
    finally:
        smtp.stop()
