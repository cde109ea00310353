"""Issue 20's smaller items at every door over HTTP (the API and the console; the command
line is in test_operator_cli.py): a reason for pause, shown in the status; a search by
domain; failed sign-ins in the audit."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.models import Edition
from newsletter.staff.models import AuditEntry
from tests.integration.web.console_helpers import make_world, post_login
from tests.integration.web.staff_helpers import client

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def world(engine, web_settings, publication, server):
    w = make_world(engine, web_settings, publication, server)
    w.api = client(server, w.staff.tokens["operator"])
    yield w
    w.api.close()
    w.close()


def audit(engine, action: str) -> list[AuditEntry]:
    with Session(engine) as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def sending_edition(engine, publication_id: int, day: int) -> int:
    now = utcnow()
    with Session(engine) as s:
        e = Edition(publication_id=publication_id, date=date(2020, 2, day), status="sending", started_at=now,
                    window_start=now - timedelta(days=2), window_end=now - timedelta(days=1), max_subscriber_id=0)
        s.add(e)
        s.commit()
        return e.id


@both
def test_a_reason_for_pause_from_the_api_and_the_console(engine, world, publication):
    e2 = world.ids["e2"]
    answer = world.api.post(f"/api/v1/editions/{e2}/pause", json={"reason": "wrong lead story"})
    assert answer.status_code == 200 and answer.json()["status"] == "paused"
    status = world.api.get(f"/api/v1/editions/{e2}").json()
    assert status["progress"]["pause_reason"] == "by an operator: wrong lead story"
    assert json.loads(audit(engine, "edition.pause")[-1].detail)["reason"] == "wrong lead story"
    other = sending_edition(engine, publication.id, 1)
    bad = world.api.post(f"/api/v1/editions/{other}/pause", json={"reason": "x" * 501})
    assert bad.status_code == 400

    console, csrf = world.clients["operator"], world.csrf["operator"]
    page = console.get(f"/admin/editions/{other}").text
    assert 'name="reason"' in page and 'placeholder="Why pause (optional)"' in page
    control = console.post(f"/admin/editions/{other}/pause", data={"csrf": csrf, "reason": "a\x1b[31mred"})
    assert control.status_code == 400  # refused, nothing changed
    assert world.api.get(f"/api/v1/editions/{other}").json()["progress"]["status"] == "sending"
    posted = console.post(f"/admin/editions/{other}/pause", data={"csrf": csrf, "reason": "legal check"})
    assert posted.status_code == 303
    assert "Paused: by an operator: legal check" in console.get(f"/admin/editions/{other}").text


@both
def test_a_search_by_domain_at_every_web_door(engine, world):
    found = world.api.get("/api/v1/subscribers", params={"q": "@example.org"}).json()
    assert sorted(i["email"] for i in found["items"]) == [
        "ann@example.org", "bob@example.org", "cara@example.org", "hal@example.org"]
    assert world.api.get("/api/v1/subscribers", params={"q": "@ample.org"}).json()["items"] == []
    assert world.api.get("/api/v1/subscribers", params={"q": "@"}).status_code == 400
    page = world.clients["viewer"].get("/admin/subscribers", params={"q": "@example.org"}).text
    assert "ann@example.org" in page and "hal@example.org" in page


@both
def test_failed_sign_ins_are_in_the_audit_without_the_password(engine, world):
    server = world.clients["admin"].server
    assert post_login(client(server), world.staff.email("viewer"), "Sup3r-secret-guess").status_code == 401
    assert post_login(client(server), "Sup3r-typed-in-the-address@x.example", "pw").status_code == 401
    wrong, unknown = audit(engine, "staff.login_failed")
    assert wrong.target == f"staff:{world.staff.ids['viewer']}" and wrong.via == "console" and wrong.address
    assert json.loads(wrong.detail) == {"why": "wrong password"}
    assert unknown.target == "" and json.loads(unknown.detail) == {"why": "no such account"}
    for row in (wrong, unknown):
        assert "Sup3r" not in f"{row.actor} {row.target} {row.detail}"
    listing = world.clients["admin"].get("/admin/audit", params={"action": "staff.login_failed"}).text
    assert "staff.login_failed" in listing


def test_a_reader_sets_their_own_time_zone(engine, web_settings, publication, server, http):
    from newsletter.subscribers.models import Subscriber
    from tests.integration.web.readers import act, prefs
    from tests.integration.web.site import deliver_today

    deliver_today(engine, web_settings, publication, [("ann@example.org", "Ann", None)])
    path = prefs(engine, web_settings, "ann@example.org")
    page = http.get(path).text
    assert 'id="timezone-form"' in page and "<option>Pacific/Auckland</option>" in page
    assert '<option value="" selected>' in page  # none yet: the publication's
    saved = act(http, path, action="timezone", timezone="Pacific/Auckland")
    assert saved.status_code == 200 and "Your time zone is saved." in saved.text
    assert "<option selected>Pacific/Auckland</option>" in saved.text
    bad = act(http, path, action="timezone", timezone="Mars/Olympus")
    assert bad.status_code == 400 and "unknown time zone &#39;Mars/Olympus&#39;" in bad.text
    with Session(engine) as s:
        assert s.scalar(select(Subscriber.timezone).where(Subscriber.email == "ann@example.org")) == \
            "Pacific/Auckland"


def test_the_sign_up_page_lists_public_publications_with_their_own_words(engine, publication, server, http,
                                                                        tmp_path):
    from tests.helpers import WEEKLY
    from tests.integration.web.console_helpers import load

    path = tmp_path / "pubs.toml"
    from newsletter.config import sample_file
    internal = WEEKLY.replace("spacewar-weekly", "internal-test").replace("SpaceWar Weekly", "Internal Test")
    path.write_text(sample_file("publications.toml").read_text() + WEEKLY + internal + "public = false\n")
    text = path.read_text().replace('slug = "spacewar-daily"', 'slug = "spacewar-daily"\ndescription = '
                                    '"The day\'s defence and space headlines, every morning"', 1)
    path.write_text(text)
    load(engine, path)
    page = http.get("/subscribe").text
    assert "Daily headlines by email" not in page and "Internal Test" not in page
    assert "The day&#39;s defence and space headlines, every morning" in page
    assert "Headlines by email, every Monday at 07:00 (Europe/London)" in page  # the weekly: its schedule
    refused = http.post("/api/subscribe", json={"publication": "internal-test", "email": "x@example.org"})
    assert refused.status_code == 400 and "Unknown publication" in refused.json()["message"]
    assert http.post("/api/subscribe", json={"publication": "spacewar-weekly",
                                             "email": "x@example.org"}).status_code == 202


def test_the_dashboard_shows_failing_feeds_first(engine, world):
    from newsletter.ingest.models import Feed
    with Session(engine) as s:
        s.add(Feed(name="wire", url="https://feeds.example.com/rss", section="superpowers", consecutive_errors=3,
                   failing_since=utcnow() - timedelta(minutes=95), last_error_at=utcnow(),
                   down_alerted_since=utcnow() - timedelta(minutes=95), last_error="HTTP 500 Internal Server Error"))
        s.add(Feed(name="fine", url="https://feeds.example.com/ok", section="superpowers"))
        s.commit()
    page = world.clients["viewer"].get("/admin").text
    assert 'id="failing-feeds"' in page and page.index("Failing feeds") < page.index("Sending now")
    assert "<strong>wire</strong></a>: failing for 95 min (3 polls in a row, operators alerted): HTTP 500" in page
    assert "<strong>fine</strong>" not in page
