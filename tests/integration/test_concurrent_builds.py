"""Builds of one publication on PostgreSQL run one at a time: a build that starts while
another one's transaction is open waits for it, then sees its edition, so an article
never lands in both (editions/build.py, "never twice")."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from newsletter.editions.build import build_edition
from newsletter.editions.models import EditionItem
from newsletter.publications.models import Publication
from tests.helpers import add_article, at
from tests.integration.servers import wait_for

CUT = at("2026-11-26T11:00:00")  # 06:00 in New York


@pytest.mark.parametrize("backend_name", ["postgres"], indirect=True)
def test_a_build_waits_for_a_concurrent_build_of_the_same_publication(engine, session, publication):
    build_edition(session, publication, date(2026, 11, 24), now=CUT - timedelta(days=2))
    for n in range(3):
        add_article(session, "superpowers", f"Wednesday {n}", CUT - timedelta(days=1, hours=n + 1))
    add_article(session, "superpowers", "Thursday", CUT - timedelta(hours=1))
    session.commit()

    first = Session(engine, expire_on_commit=False)
    wednesday, _ = build_edition(first, first.get(Publication, publication.id), date(2026, 11, 25),
                                 now=CUT - timedelta(days=1))  # not committed yet: the lock is held
    second_pid: list[int] = []
    built: list = []

    def second_build() -> None:
        with Session(engine, expire_on_commit=False) as second:
            second_pid.append(second.scalar(text("SELECT pg_backend_pid()")))
            edition, _ = build_edition(second, second.get(Publication, publication.id), date(2026, 11, 26), now=CUT)
            built.append(edition.id)
            second.commit()

    thread = threading.Thread(target=second_build)
    thread.start()
    try:
        with engine.connect() as watcher:
            wait_for(lambda: second_pid and watcher.scalar(text(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": second_pid[0]}) == "Lock",
                timeout=30, what="the second build to wait for the first one's lock")
    finally:
        first.commit()
        first.close()
        thread.join(timeout=60)
    assert built
    rows = session.execute(select(EditionItem.edition_id, EditionItem.headline)).all()
    by_edition = {}
    for edition_id, headline in rows:
        by_edition.setdefault(edition_id, []).append(headline)
    assert sorted(by_edition[wednesday.id]) == ["Wednesday 0", "Wednesday 1", "Wednesday 2"]
    assert by_edition[built[0]] == ["Thursday"]
