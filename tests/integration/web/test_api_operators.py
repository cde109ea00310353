"""The API endpoints added with the console, over HTTP on SQLite and PostgreSQL: previews
(as a subscriber, a section set, a date not built yet: nothing written), test sends,
rebuild, hold and release, feeds and a poll now; each for every role (allowed, 401/403
with nothing changed) and bad input (a problem document, nothing changed)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery import holds
from newsletter.delivery.models import Delivery
from newsletter.delivery.states import DeliveryStatus
from newsletter.ingest.models import Feed
from newsletter.staff.models import AuditEntry
from tests.integration.feed_server import FeedServer
from tests.integration.web.console_helpers import make_world
from tests.integration.web.readers import outbox_messages
from tests.integration.web.staff_helpers import RANK, ROLES, client, fingerprint

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
PUB = "spacewar-daily"


@pytest.fixture
def world(engine, web_settings, publication, server):
    feeds = FeedServer(utcnow()).start()
    w = make_world(engine, web_settings, publication, server)
    with Session(engine) as s:
        s.add(Feed(name="wire", url=f"{feeds.url}/feed", section="superpowers", allow_private=True))
        s.commit()
    w.api = {role: client(server, w.staff.tokens[role]) for role in ROLES}
    w.api[None] = client(server)
    yield w
    for c in w.api.values():
        c.close()
    w.close()
    feeds.stop()


CASES = [  # (method, path, lowest role, body, status)
    ("GET", "/api/v1/feeds", "viewer", None, 200),
    ("GET", "/api/v1/editions/{e1}/preview", "operator", None, 200),
    ("GET", "/api/v1/editions/{e1}/preview?as=ann@example.org", "operator", None, 200),
    ("GET", f"/api/v1/publications/{PUB}/preview?sections=drone-war,superpowers", "operator", None, 200),
    ("GET", f"/api/v1/publications/{PUB}/preview?date=2031-05-01", "operator", None, 200),
    ("POST", "/api/v1/editions/{e1}/test-send", "operator", {"to": "editor@example.org", "as": "ann@example.org"}, 200),
    ("POST", f"/api/v1/publications/{PUB}/test-send", "operator",
     {"to": "editor@example.org", "sections": "drone-war"}, 200),
    ("POST", "/api/v1/editions/{e3}/hold", "operator", {"reason": "check the lead"}, 200),
    ("POST", "/api/v1/editions/{e3}/release", "operator", None, 200),
    ("POST", "/api/v1/editions/{e4}/rebuild", "operator", None, 200),
    ("POST", "/api/v1/feeds/wire/poll", "operator", None, 200),
]


@both
def test_every_new_endpoint_for_every_role(engine, world, web_settings):
    answers = {}
    for method, path, lowest, body, status in CASES:
        url = path.format(**world.ids)
        for role in (None, *ROLES):
            if role is not None and RANK[role] >= RANK[lowest]:
                continue
            before = fingerprint(engine)
            answer = world.api[role].request(method, url, json=body)
            assert answer.status_code == (401 if role is None else 403), (url, role, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert fingerprint(engine) == before, (url, role)
        before = fingerprint(engine)
        answer = world.api[lowest].request(method, url, json=body)
        assert answer.status_code == status, (url, answer.text)
        answers[(method, path)] = answer.json()
        if method == "GET" and "/feeds" not in path:
            assert fingerprint(engine) == before, url  # a preview writes nothing

    as_ann = answers[("GET", "/api/v1/editions/{e1}/preview?as=ann@example.org")]
    assert as_ann["stored"] and as_ann["reader"] == "ann@example.org" and "Good morning, Ann Reader." in as_ann["text"]
    assert as_ann["subject"] and "<html" in as_ann["html"].lower() and "/u/PREVIEW" in as_ann["html"]
    planned = answers[("GET", f"/api/v1/publications/{PUB}/preview?date=2031-05-01")]
    assert (planned["stored"], planned["edition_id"], planned["date"]) == (False, None, "2031-05-01")
    sections = answers[("GET", f"/api/v1/publications/{PUB}/preview?sections=drone-war,superpowers")]
    assert sections["sections"] == ["superpowers", "drone-war"]
    tests = [m for m in outbox_messages(web_settings) if m["X-Newsletter-Test"]]
    assert len(tests) == 2 and all(m["Subject"].startswith("[TEST] ") for m in tests)
    assert {m["To"].addresses[0].addr_spec for m in tests} == {"editor@example.org"}
    rebuilt = answers[("POST", "/api/v1/editions/{e4}/rebuild")]
    assert rebuilt["status"] == "empty" and rebuilt["new"] == [] and rebuilt["before"] == 0
    polled = answers[("POST", "/api/v1/feeds/wire/poll")]
    assert (polled["outcome"], polled["added"]) == ("new", 2)
    (feed,) = world.api["viewer"].get("/api/v1/feeds").json()["items"]
    assert (feed["name"], feed["total_added"], feed["last_error"]) == ("wire", 2, None)
    with Session(engine) as s:
        done = {a.action: a for a in s.query(AuditEntry).filter(AuditEntry.via == "api")}
    for action in ("edition.test_send", "edition.hold", "edition.release", "edition.rebuild", "feed.poll"):
        assert done[action].actor == "operator@staff.example.org", action
    assert "ann@example.org" not in done["edition.test_send"].detail
    assert "editor@example.org" not in done["edition.test_send"].detail


def test_bad_input_is_a_problem_document_and_changes_nothing(engine, world):
    operator = world.api["operator"]
    e1 = world.ids["e1"]
    bad = [
        ("GET", f"/api/v1/editions/{e1}/preview?as=nobody@example.org", None, 404),
        ("GET", f"/api/v1/editions/{e1}/preview?as=cara@example.org", None, 409),  # she left: gets nothing
        ("GET", f"/api/v1/editions/{e1}/preview?as=ann@example.org&sections=drone-war", None, 400),
        ("GET", f"/api/v1/editions/{e1}/preview?sections=cooking", None, 400),
        ("GET", f"/api/v1/editions/{e1}/preview?as=not-an-address", None, 400),
        ("GET", "/api/v1/editions/0/preview", None, 400),
        ("GET", "/api/v1/editions/99999/preview", None, 404),
        ("GET", f"/api/v1/publications/{PUB}/preview?date=yesterday", None, 400),
        ("GET", f"/api/v1/publications/{PUB}/preview?date=0001-01-01", None, 400),
        ("GET", f"/api/v1/publications/{PUB}/preview?date=9999-12-31", None, 400),
        ("GET", "/api/v1/publications/nope/preview", None, 404),
        ("GET", "/api/v1/publications/NOT%20A%20SLUG/preview", None, 400),
        ("POST", f"/api/v1/editions/{e1}/test-send", {"to": "hal@example.org"}, 409),  # suppressed
        ("POST", f"/api/v1/editions/{e1}/test-send", {"to": "not-an-address"}, 400),
        ("POST", f"/api/v1/editions/{e1}/test-send", {}, 400),
        ("POST", f"/api/v1/editions/{e1}/test-send", {"to": "x@example.org", "bcc": "y@example.org"}, 400),
        ("POST", f"/api/v1/publications/{PUB}/test-send", {"to": "x@example.org", "date": "soon"}, 400),
        ("POST", f"/api/v1/editions/{e1}/rebuild", None, 409),  # sent
        ("POST", f"/api/v1/editions/{e1}/hold", None, 409),
        ("POST", f"/api/v1/editions/{world.ids['e3']}/release", None, 409),  # not held
        ("POST", f"/api/v1/editions/{world.ids['e3']}/hold", {"reason": "x" * 501}, 400),
        ("POST", "/api/v1/editions/99999/hold", None, 404),
        ("POST", "/api/v1/feeds/nope/poll", None, 404),
        ("POST", "/api/v1/feeds/Not%20A%20Name/poll", None, 400),
    ]
    for method, path, body, status in bad:
        before = fingerprint(engine)
        answer = operator.request(method, path, json=body)
        assert answer.status_code == status, (method, path, body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", path
        assert answer.json()["status"] == status and answer.json()["detail"]
        assert fingerprint(engine) == before, (method, path)


@both
def test_a_domain_held_after_policy_refusals_is_released_by_operators_only(engine, world):
    e2 = world.ids["e2"]  # sending
    with Session(engine) as s:  # two readers at example.org still to be sent
        s.add_all([Delivery(edition_id=e2, subscriber_id=world.ids[who]) for who in ("ann", "bob")])
        s.commit()
    with engine.begin() as conn:
        assert holds.count_refusal(conn, e2, "example.org", "550 5.7.1 blocked by policy", threshold=1)
        waiting = conn.execute(select(func.count()).where(Delivery.edition_id == e2,
                                                          Delivery.status == DeliveryStatus.HELD)).scalar()
    assert waiting == 2
    url = f"/api/v1/editions/{e2}/held-domains/example.org/release"
    for role, status in ((None, 401), ("viewer", 403)):
        before = fingerprint(engine)
        answer = world.api[role].post(url)
        assert answer.status_code == status and answer.headers["content-type"] == "application/problem+json"
        assert fingerprint(engine) == before
    for path, status in ((f"/api/v1/editions/{e2}/held-domains/other.example/release", 404),  # not held
                         (f"/api/v1/editions/{e2}/held-domains/no_such%20domain/release", 400),
                         ("/api/v1/editions/99999/held-domains/example.org/release", 404)):
        before = fingerprint(engine)
        answer = world.api["operator"].post(path)
        assert answer.status_code == status, (path, answer.text)
        assert answer.json()["detail"] and fingerprint(engine) == before
    answer = world.api["operator"].post(url)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": e2, "domain": "example.org", "released": waiting}
    with engine.connect() as conn:
        assert holds.held(conn, e2) == []
    with Session(engine) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "edition.release_domain")).one()
    assert (entry.via, entry.target, entry.actor) == ("api", f"edition:{e2}", "operator@staff.example.org")
