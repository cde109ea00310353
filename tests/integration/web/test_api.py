"""The REST API over HTTP against the running server, on SQLite and PostgreSQL: every
endpoint for every role (allowed; refused with 401 or 403 and nothing changed), and bad
input (a 4xx problem document, nothing changed)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber
from newsletter.tracking.models import EventKind, Method
from tests.integration.web.site import deliver_today
from tests.integration.web.staff_helpers import RANK, ROLES, add_editions, client, fingerprint, make_staff

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
PUB = "spacewar-daily"


@dataclass
class Case:
    method: str
    path: str
    role: str | None  # the lowest role allowed; None: anyone signed in
    json: dict | None = None
    content: str | None = None
    status: int = 200
    save: tuple[str, str] | None = None  # (name, key of the answer) for later paths


@pytest.fixture
def world(engine, web_settings, publication, server):
    edition = deliver_today(engine, web_settings, publication, [
        ("ann@example.org", "Ann Reader", None), ("bob@example.org", "Bob", None),
        ("cara@example.org", "Cara", "drone-war"), ("hal@example.org", "Hal", None)])
    with Session(engine) as s:
        ids = dict(s.execute(select(Subscriber.email, Subscriber.id)).all())
        cara, hal = s.get(Subscriber, ids["cara@example.org"]), s.get(Subscriber, ids["hal@example.org"])
        lifecycle.unsubscribe(s, cara, s.merge(publication), Method.LINK)
        lifecycle.end_for_address(s, hal.id, hal.email, publication.id, edition, EventKind.BOUNCE, "550 5.1.1")
        s.commit()
    sending, built = add_editions(engine, publication.id)
    staff = make_staff(engine, web_settings)
    names = {"ann": ids["ann@example.org"], "bob": ids["bob@example.org"], "cara": ids["cara@example.org"],
             "hal": ids["hal@example.org"], "e1": edition, "e2": sending, "e3": built,
             **{f"staff_{r}": staff.ids[r] for r in ROLES}}
    clients = {role: client(server, staff.tokens[role]) for role in ROLES}
    clients[None] = client(server)
    yield names, clients, staff
    for c in clients.values():
        c.close()


CSV = "email,name,sections,timezone\nnew1@example.org,New One,superpowers,Europe/Paris\ncara@example.org,Cara,,\n"
CASES = [
    Case("GET", "/api/v1/session", None),
    Case("GET", "/api/v1/subscribers", "viewer"),
    Case("GET", "/api/v1/subscribers?q=ann&publication=spacewar-daily&subscription=active", "viewer"),
    Case("GET", "/api/v1/subscribers/{ann}", "viewer"),
    Case("GET", "/api/v1/suppressions", "viewer"),
    Case("GET", "/api/v1/imports", "viewer"),
    Case("GET", "/api/v1/publications", "viewer"),
    Case("GET", "/api/v1/publications/spacewar-daily", "viewer"),
    Case("GET", "/api/v1/editions", "viewer"),
    Case("GET", "/api/v1/editions/{e1}", "viewer"),
    Case("GET", "/api/v1/stats/daily", "viewer"),
    Case("GET", "/api/v1/stats/editions/{e1}", "viewer"),
    Case("GET", "/api/v1/stats/editions/{e1}/readers", "viewer"),
    Case("GET", "/api/v1/stats/publications/spacewar-daily", "viewer"),
    Case("GET", "/api/v1/tokens", None),
    Case("POST", "/api/v1/tokens", None, {"name": "script"}, status=201, save=("token", "id")),
    Case("DELETE", "/api/v1/tokens/{token}", None),
    Case("POST", "/api/v1/editions/{e2}/pause", "operator"),
    Case("POST", "/api/v1/editions/{e2}/resume", "operator"),
    Case("POST", "/api/v1/editions/{e3}/cancel", "operator"),
    Case("POST", "/api/v1/editions/{e1}/retry", "operator", {"failure_class": "temporary"}),
    Case("GET", "/api/v1/subscribers/export.csv?publication=spacewar-daily", "admin"),
    Case("GET", "/api/v1/subscribers/{ann}/data", "admin"),
    Case("POST", "/api/v1/subscribers", "admin", {"publication": PUB, "email": "dan@example.org", "name": "Dan",
                                                  "sections": ["superpowers"], "timezone": "Asia/Tokyo"},
         status=201, save=("dan", "id")),
    Case("PATCH", "/api/v1/subscribers/{ann}", "admin", {"name": "Ann R.", "sections": {PUB: ["drone-war"]}}),
    Case("POST", "/api/v1/subscribers/{bob}/disable", "admin"),
    Case("POST", "/api/v1/subscribers/{bob}/enable", "admin"),
    Case("POST", "/api/v1/subscribers/{cara}/resubscribe", "admin", {"publication": PUB}),
    Case("POST", "/api/v1/suppressions", "admin", {"email": "eve@example.org", "reason": "asked by phone"},
         status=201, save=("eve", "id")),
    Case("POST", "/api/v1/suppressions/{eve}/remove", "admin", {"reason": "added by mistake"}),
    Case("POST", "/api/v1/imports?publication=spacewar-daily", "admin", content=CSV, status=202,
         save=("import", "id")),
    Case("GET", "/api/v1/imports/{import}", "viewer"),
    Case("GET", "/api/v1/staff", "admin"),
    Case("POST", "/api/v1/staff", "admin", {"email": "new@staff.example.org", "role": "viewer"}, status=201,
         save=("new_staff", "id")),
    Case("PATCH", "/api/v1/staff/{new_staff}", "admin", {"role": "operator"}),
    Case("POST", "/api/v1/staff/{new_staff}/password-link", "admin"),
    Case("POST", "/api/v1/staff/{new_staff}/disable", "admin"),
    Case("POST", "/api/v1/staff/{new_staff}/enable", "admin"),
    Case("GET", "/api/v1/audit", "admin"),
    Case("GET", "/api/v1/audit/export.csv", "admin"),
    Case("DELETE", "/api/v1/subscribers/{dan}", "admin"),
]


def send(http, case: Case, names: dict):
    kwargs = {"json": case.json} if case.json is not None else {}
    if case.content is not None:
        kwargs = {"content": case.content.encode(), "headers": {"Content-Type": "text/csv"}}
    return http.request(case.method, case.path.format(**names), **kwargs)


@both
def test_every_endpoint_for_every_role(engine, world):
    names, clients, _ = world
    for case in CASES:
        for role in (None, *ROLES):
            allowed = RANK[role] >= RANK[case.role] and role is not None
            if allowed:
                continue
            before = fingerprint(engine)
            answer = send(clients[role], case, names)
            expected = 401 if role is None else 403
            assert answer.status_code == expected, (case, role, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["status"] == expected
            if role is None:
                assert answer.headers["www-authenticate"].startswith("Bearer")
            assert fingerprint(engine) == before, (case, role)
        lowest = case.role or "viewer"
        answer = send(clients[lowest], case, names)
        assert answer.status_code == case.status, (case, answer.text)
        if case.save:
            names[case.save[0]] = answer.json()[case.save[1]]


@both
def test_answers_carry_what_they_say(engine, world):
    names, clients, _ = world
    admin, viewer = clients["admin"], clients["viewer"]
    page = viewer.get("/api/v1/subscribers", params={"limit": 2}).json()
    assert (page["total"], page["total_is_estimate"], len(page["items"])) == (4, False, 2)
    rest = viewer.get("/api/v1/subscribers", params={"limit": 2, "before": page["next_cursor"]}).json()
    assert {i["email"] for i in page["items"] + rest["items"]} == {"ann@example.org", "bob@example.org",
                                                                   "cara@example.org", "hal@example.org"}
    ann = viewer.get(f"/api/v1/subscribers/{names['ann']}").json()
    assert ann["deliveries"][0]["edition_id"] == names["e1"] and ann["deliveries"][0]["status"] == "sent"
    hal = viewer.get(f"/api/v1/subscribers/{names['hal']}").json()
    assert {e["kind"] for e in hal["events"]} >= {"bounce", "unsubscribe"}
    assert hal["suppressions"][0]["reason"] == "hard_bounce"
    pubs = viewer.get("/api/v1/publications").json()["items"]
    assert pubs[0]["slug"] == PUB and len(pubs[0]["next_sends"]) == 3 and pubs[0]["subscriptions"]["active"] == 2
    edition = viewer.get(f"/api/v1/editions/{names['e1']}").json()
    assert edition["progress"]["counts"]["sent"] == 4 and edition["progress"]["status"] == "sent"
    day = viewer.get("/api/v1/stats/daily").json()["days"][-1]
    assert day["sent"] == 4 and day["bounces"] == 1 and day["unsubscribes"]["by_method"] == {"link": 1, "bounce": 1}
    stats = viewer.get(f"/api/v1/stats/editions/{names['e1']}").json()
    assert stats["sent"] == 4 and stats["bounces"] == 1
    # The numbers of the console's charts: per day, per section (and per headline for one edition).
    readers = viewer.get(f"/api/v1/stats/editions/{names['e1']}/readers").json()
    assert sum(d["sent"] for d in readers["days"]) == 4 and sum(d["bounces"] for d in readers["days"]) == 1
    assert len(readers["headlines"]) == 4 and {s["section"] for s in readers["sections"]} >= {"superpowers"}
    pub = viewer.get("/api/v1/stats/publications/spacewar-daily").json()
    assert pub["editions"][-1]["id"] >= names["e1"] and sum(d["sent"] for d in pub["days"]) >= 4
    assert viewer.get("/api/v1/stats/publications/no-such").status_code == 404

    answer = admin.patch(f"/api/v1/subscribers/{names['bob']}", json={"status": "disabled", "timezone": "Asia/Tokyo"})
    assert answer.json()["status"] == "disabled" and answer.json()["timezone"] == "Asia/Tokyo"
    events = [(e["kind"], e["method"]) for e in answer.json()["events"]]
    assert ("disable", "admin") in events and ("profile", "admin") in events
    audit = admin.get("/api/v1/audit", params={"action": "subscriber.update"}).json()["items"][0]
    assert (audit["actor"], audit["via"], audit["target"]) == ("admin@staff.example.org", "api",
                                                               f"subscriber:{names['bob']}")
    assert audit["address"] == "127.0.0.1" and "bob@" not in str(audit)

    rows = list(csv.reader(io.StringIO(admin.get("/api/v1/subscribers/export.csv").text)))
    assert rows[0][:4] == ["email", "name", "sections", "timezone"] and len(rows) == 5

    token = viewer.post("/api/v1/tokens", json={"name": "mine"}).json()
    assert token["role"] == "viewer" and token["token"].startswith("nlt_")
    assert "token" not in viewer.get("/api/v1/tokens").json()["items"][0]


@both
def test_bad_input_is_a_problem_document_and_changes_nothing(engine, world):
    names, clients, _ = world
    admin = clients["admin"]
    for pub in ("e1",):
        names[pub] = names[pub]
    bad = [
        ("GET", "/api/v1/subscribers?status=gone", None, 400),
        ("GET", "/api/v1/subscribers?publication=nope", None, 400),
        ("GET", "/api/v1/subscribers?section=superpowers", None, 400),
        ("GET", "/api/v1/subscribers?limit=0", None, 400),
        ("GET", "/api/v1/subscribers?limit=100000", None, 400),
        ("GET", "/api/v1/subscribers?before=-3", None, 400),
        ("GET", "/api/v1/subscribers?created_from=yesterday", None, 400),
        ("GET", "/api/v1/subscribers?created_from=0001-01-01T00:00:00%2B05:00", None, 400),
        ("GET", "/api/v1/subscribers?q=ann%00", None, 400),
        ("GET", "/api/v1/suppressions?q=%00", None, 400),
        ("GET", "/api/v1/audit?action=%00", None, 400),
        ("GET", "/api/v1/stats/daily?from=9999-12-30&to=9999-12-31", None, 400),
        ("GET", "/api/v1/subscribers/0", None, 400),
        ("GET", "/api/v1/subscribers/99999999999999", None, 400),
        ("GET", "/api/v1/subscribers/9999", None, 404),
        ("GET", "/api/v1/subscribers/abc", None, 400),
        ("POST", "/api/v1/subscribers", {}, 400),
        ("POST", "/api/v1/subscribers", {"publication": PUB, "email": "not-an-address"}, 400),
        ("POST", "/api/v1/subscribers", {"publication": PUB, "email": "x@example.org", "sections": ["cooking"]}, 400),
        ("POST", "/api/v1/subscribers", {"publication": PUB, "email": "x@example.org", "timezone": "Mars/Base"}, 400),
        ("POST", "/api/v1/subscribers", {"publication": PUB, "email": "x@example.org", "name": "X\r\nBcc: y"}, 400),
        ("POST", "/api/v1/subscribers", {"publication": PUB, "email": "x@example.org", "admin": True}, 400),
        ("POST", "/api/v1/subscribers", {"publication": "nope", "email": "x@example.org"}, 400),
        ("POST", "/api/v1/subscribers", {"publication": PUB, "email": "cara@example.org"}, 409),
        ("POST", "/api/v1/subscribers", {"publication": PUB, "email": "hal@example.org"}, 409),
        ("PATCH", "/api/v1/subscribers/{ann}", {"status": "gone"}, 400),
        ("PATCH", "/api/v1/subscribers/{ann}", {"name": "Half", "timezone": "Nowhere/Zone"}, 400),
        ("PATCH", "/api/v1/subscribers/{ann}", {"name": "Half", "sections": {PUB: ["cooking"]}}, 400),
        ("PATCH", "/api/v1/subscribers/{ann}", {"sections": {"nope": None}}, 400),
        ("PATCH", "/api/v1/subscribers/{ann}", "not json", 400),
        ("POST", "/api/v1/subscribers/{hal}/resubscribe", {"publication": PUB}, 409),
        ("POST", "/api/v1/subscribers/{ann}/resubscribe", {"publication": "nope"}, 400),
        ("DELETE", "/api/v1/subscribers/9999", None, 404),
        ("POST", "/api/v1/suppressions", {"email": "bad", "reason": "x"}, 400),
        ("POST", "/api/v1/suppressions", {"email": "eve@example.org", "reason": ""}, 400),
        ("POST", "/api/v1/suppressions", {"email": "hal@example.org", "reason": "again"}, 409),
        ("POST", "/api/v1/suppressions/9999/remove", {"reason": "x"}, 404),
        ("POST", "/api/v1/imports", "email\nx@example.org\n", 400),
        ("POST", "/api/v1/imports?publication=nope", "email\nx@example.org\n", 400),
        ("POST", "/api/v1/imports?publication=spacewar-daily", "", 400),
        ("POST", "/api/v1/imports?publication=spacewar-daily", b"email\n\xff@example.org\n", 400),
        ("POST", "/api/v1/staff", {"email": "x@staff.example.org", "role": "god"}, 400),
        ("POST", "/api/v1/staff", {"email": "admin@staff.example.org", "role": "viewer"}, 409),
        ("POST", "/api/v1/staff/{staff_admin}/disable", None, 409),  # the last admin
        ("POST", "/api/v1/tokens", {"name": "x", "role": "root"}, 400),
        ("GET", "/api/v1/stats/daily?from=2026-02-10&to=2026-01-01", None, 400),
        ("GET", "/api/v1/stats/daily?from=nope", None, 400),
        ("POST", "/api/v1/editions/{e1}/pause", None, 409),
        ("POST", "/api/v1/editions/0/pause", None, 400),
        ("POST", "/api/v1/editions/{e1}/retry", {"failure_class": "nonsense"}, 400),
        ("POST", "/api/v1/editions/{e3}/retry", None, 409),  # not started: nothing failed to send again
        ("GET", "/api/v1/editions?status=lost", None, 400),
        ("GET", "/api/v1/publications/NOT%20A%20SLUG", None, 400),
        ("GET", "/api/v1/publications/nope", None, 404),
        ("GET", "/api/v1/imports/9999", None, 404),
        ("POST", "/api/v1/session", {"email": "admin@staff.example.org"}, 400),
    ]
    for method, path, body, status in bad:
        before = fingerprint(engine)
        if isinstance(body, dict) or body is None:
            answer = admin.request(method, path.format(**names), json=body)
        else:
            answer = admin.request(method, path.format(**names), content=body if isinstance(body, bytes)
                                   else body.encode(), headers={"Content-Type": "text/csv"})
        assert answer.status_code == status, (method, path, body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", (method, path)
        problem = answer.json()
        assert problem["status"] == status and problem["title"] and problem["detail"]
        assert fingerprint(engine) == before, (method, path, body)
    # An operator may not mint an admin token, nor revoke someone else's.
    operator = clients["operator"]
    assert operator.post("/api/v1/tokens", json={"name": "x", "role": "admin"}).status_code == 403
    theirs = admin.post("/api/v1/tokens", json={"name": "admin's"}).json()["id"]
    assert operator.delete(f"/api/v1/tokens/{theirs}").status_code == 403


def test_a_time_filter_honours_its_offset(world):
    """As on the console and the command line (subscribers/search.py: Filters.from_query)."""
    _, clients, _ = world
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=5)))
    found = clients["viewer"].get("/api/v1/subscribers", params={"created_from": hour_ago.isoformat()})
    assert found.status_code == 200 and found.json()["total"] == 4, found.text
