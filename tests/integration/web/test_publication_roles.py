"""Per-publication roles over HTTP, on SQLite and PostgreSQL: a desk editor of publication
A (an admin for A only) neither sees nor touches publication B: not its subscribers (in
lists, searches, exports, one subscriber's page, their history), not its editions, imports,
suppressions or figures; what reaches every publication (a person as a whole, staff, the
audit log) is refused; every refusal changes nothing. The same in the console. The
matrix of every endpoint for every global role is test_api.py's; this is its extension
to a role limited to named publications."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.publications.models import Publication
from newsletter.staff import accounts, api_tokens
from newsletter.staff.access import cli_actor
from newsletter.subscribers.models import Subscriber, Suppression
from tests.integration.web.console_helpers import load, publications_file, sign_in
from tests.integration.web.site import deliver_today
from tests.integration.web.staff_helpers import PASSWORD, add_editions, client, fingerprint, make_staff

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
A, B = "spacewar-daily", "spacewar-weekly"


@pytest.fixture
def desk(engine, web_settings, publication, server, tmp_path):
    e_a = deliver_today(engine, web_settings, publication, [("ann@example.org", "Ann", None),
                                                           ("cara@example.org", "Cara", None)])
    load(engine, publications_file(tmp_path, weekly=True))
    with Session(engine, expire_on_commit=False) as s:
        weekly = s.scalar(select(Publication).where(Publication.slug == B))
    e_b = deliver_today(engine, web_settings, weekly, [("bob@example.org", "Bob", None),
                                                      ("cara@example.org", "Cara", None)])
    sending_a, _ = add_editions(engine, publication.id)
    sending_b, built_b = add_editions(engine, weekly.id)
    staff = make_staff(engine, web_settings)
    with Session(engine) as s:
        ids = dict(s.execute(select(Subscriber.email, Subscriber.id)).all())
        now = utcnow()
        for email, pub in (("sa@example.org", publication.id), ("sb@example.org", weekly.id),
                           ("everywhere@example.org", None)):
            s.add(Suppression(email=email, publication_id=pub, reason="admin", note="asked", created_at=now))
        editor = accounts.add(s, cli_actor(), web_settings.signing_key(), "desk@staff.example.org", "admin",
                              PASSWORD).account
        accounts.set_publications(s, cli_actor(), editor.id, [A])
        _, raw = api_tokens.create(s, cli_actor(), "desk token", None, editor.id)
        s.commit()
    admin = client(server, staff.tokens["admin"])
    job_b = admin.post(f"/api/v1/imports?publication={B}", content=b"email\nnew-b@example.org\n",
                       headers={"Content-Type": "text/csv"}).json()["id"]
    job_a = admin.post(f"/api/v1/imports?publication={A}", content=b"email\nnew-a@example.org\n",
                       headers={"Content-Type": "text/csv"}).json()["id"]
    names = {"ann": ids["ann@example.org"], "bob": ids["bob@example.org"], "cara": ids["cara@example.org"],
             "e_a": e_a, "e_b": e_b, "sending_a": sending_a, "sending_b": sending_b, "built_b": built_b,
             "job_a": job_a, "job_b": job_b}
    with Session(engine) as s:
        names["supp_b"] = s.scalar(select(Suppression.id).where(Suppression.email == "sb@example.org"))
        names["supp_a"] = s.scalar(select(Suppression.id).where(Suppression.email == "sa@example.org"))
    yield names, client(server, raw), admin, server
    admin.close()


# Reads of B's things: as if they did not exist (404), or absent from the list.
HIDDEN = [
    ("GET", "/api/v1/subscribers/{bob}", None), ("GET", "/api/v1/editions/{e_b}", None),
    ("GET", "/api/v1/editions/{sending_b}", None), ("GET", "/api/v1/stats/editions/{e_b}", None),
    ("GET", "/api/v1/editions/{e_b}/preview", None), ("GET", f"/api/v1/publications/{B}", None),
    ("GET", f"/api/v1/stats/publications/{B}", None), ("GET", "/api/v1/stats/editions/{e_b}/readers", None),
    ("GET", f"/api/v1/publications/{B}/preview", None), ("GET", "/api/v1/imports/{job_b}", None),
    ("POST", "/api/v1/editions/{sending_b}/pause", None), ("POST", "/api/v1/editions/{sending_b}/cancel", None),
    ("POST", "/api/v1/editions/{built_b}/hold", {"reason": "r"}), ("POST", "/api/v1/editions/{built_b}/rebuild", None),
    ("POST", "/api/v1/editions/{e_b}/test-send", {"to": "x@example.org"}),
    ("POST", f"/api/v1/publications/{B}/test-send", {"to": "x@example.org"}),
    ("POST", "/api/v1/suppressions/{supp_b}/remove", {"reason": "r"}),
]
# Acts naming B, or reaching every publication: refused (403), or a bad request (400).
REFUSED = [
    ("POST", "/api/v1/subscribers", {"publication": B, "email": "dan@example.org"}, 403),
    ("POST", "/api/v1/subscribers/{cara}/resubscribe", {"publication": B}, 403),
    ("PATCH", "/api/v1/subscribers/{cara}", {"sections": {B: ["drone-war"]}}, 403),
    ("PATCH", "/api/v1/subscribers/{cara}", {"name": "Cara B."}, 403),  # the person, in every publication
    ("POST", "/api/v1/subscribers/{cara}/disable", None, 403),
    ("DELETE", "/api/v1/subscribers/{cara}", None, 403),
    ("GET", "/api/v1/subscribers/{cara}/data", None, 403),
    ("POST", "/api/v1/suppressions", {"email": "x@example.org", "reason": "asked", "publication": B}, 403),
    ("POST", "/api/v1/suppressions", {"email": "x@example.org", "reason": "asked"}, 400),  # every publication
    ("GET", "/api/v1/staff", None, 403), ("POST", "/api/v1/staff", {"email": "x@example.org", "role": "viewer"}, 403),
    ("GET", "/api/v1/audit", None, 403), ("GET", f"/api/v1/subscribers?publication={B}", None, 400),
    ("GET", f"/api/v1/subscribers/export.csv?publication={B}", None, 400),
    ("GET", f"/api/v1/stats/daily?publication={B}", None, 400),
]


@both
def test_a_desk_editor_sees_and_touches_only_their_publication(engine, desk):
    names, editor, admin, _ = desk
    for method, path, body in HIDDEN:
        before = fingerprint(engine)
        answer = editor.request(method, path.format(**names), json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert fingerprint(engine) == before, (method, path)
        if method == "GET":  # there for the admin of every publication
            assert admin.get(path.format(**names)).status_code == 200, path
    imports = editor.post(f"/api/v1/imports?publication={B}", content=b"email\nz@example.org\n",
                          headers={"Content-Type": "text/csv"})
    assert imports.status_code == 403
    for method, path, body, status in REFUSED:
        before = fingerprint(engine)
        answer = editor.request(method, path.format(**names), json=body)
        assert answer.status_code == status, (method, path, answer.text)
        assert fingerprint(engine) == before, (method, path)

    # Lists, searches, exports and figures hold A's only.
    emails = {x["email"] for x in editor.get("/api/v1/subscribers").json()["items"]}
    assert emails == {"ann@example.org", "cara@example.org", "new-a@example.org"}
    assert editor.get("/api/v1/subscribers", params={"q": "bob@example.org"}).json()["items"] == []
    assert editor.get("/api/v1/subscribers", params={"subscription": "active"}).json()["total"] == 3
    cara = editor.get("/api/v1/subscribers/{cara}".format(**names)).json()
    assert [x["publication"] for x in cara["subscriptions"]] == [A]
    assert {d["publication"] for d in cara["deliveries"]} == {A} and cara["deliveries"]
    assert {e["publication"] for e in cara["events"]} <= {A, None}
    export = list(csv.DictReader(io.StringIO(editor.get("/api/v1/subscribers/export.csv").text)))
    assert {r["email"] for r in export} == emails and B not in " ".join(r["subscriptions"] for r in export)
    assert {e["publication"] for e in editor.get("/api/v1/editions").json()["items"]} == {A}
    assert [p["slug"] for p in editor.get("/api/v1/publications").json()["items"]] == [A]
    supp = {x["email"] for x in editor.get("/api/v1/suppressions").json()["items"]}
    assert "sb@example.org" not in supp and {"sa@example.org", "everywhere@example.org"} <= supp
    assert {j["publication"] for j in editor.get("/api/v1/imports").json()["items"]} == {A}
    today = utcnow().date().isoformat()
    mine = editor.get("/api/v1/stats/daily", params={"from": today, "to": today}).json()["days"][0]
    every = admin.get("/api/v1/stats/daily", params={"from": today, "to": today}).json()["days"][0]
    only_a = admin.get("/api/v1/stats/daily", params={"from": today, "to": today, "publication": A}).json()
    assert (mine["sent"], every["sent"], only_a["days"][0]["sent"]) == (2, 4, 2)
    feeds = editor.get("/api/v1/feeds")
    assert feeds.status_code == 200

    # What is theirs, they do.
    assert editor.post("/api/v1/subscribers", json={"publication": A, "email": "dan@example.org"}).status_code == 201
    assert editor.patch("/api/v1/subscribers/{cara}".format(**names),
                        json={"sections": {A: ["drone-war"]}}).status_code == 200
    assert editor.post("/api/v1/editions/{sending_a}/pause".format(**names)).status_code == 200
    assert editor.post("/api/v1/suppressions", json={"email": "y@example.org", "reason": "asked",
                                                     "publication": A}).status_code == 201
    assert editor.post("/api/v1/suppressions/{supp_a}/remove".format(**names),
                       json={"reason": "by mistake"}).status_code == 200
    assert editor.get(f"/api/v1/subscribers/export.csv?publication={A}").status_code == 200
    # ... and the admin for every publication sees B as before.
    assert "bob@example.org" in {x["email"] for x in admin.get("/api/v1/subscribers").json()["items"]}


def test_the_console_shows_a_desk_editor_their_publication_only(engine, desk):
    names, _, _, server = desk
    http, _ = sign_in(server, "desk@staff.example.org")
    page = http.get("/admin/subscribers").text
    assert "ann@example.org" in page and "bob@example.org" not in page
    assert http.get("/admin/subscribers?q=bob").status_code == 200
    assert "bob@example.org" not in http.get("/admin/subscribers?q=bob").text
    assert http.get("/admin/subscribers/{bob}".format(**names)).status_code == 404
    editions = http.get("/admin/editions").text
    assert f"/admin/editions/{names['e_a']}" in editions and f"/admin/editions/{names['e_b']}" not in editions
    assert http.get("/admin/editions/{e_b}".format(**names)).status_code == 404
    assert http.get("/admin/imports/{job_b}".format(**names)).status_code == 404
    assert http.get(f"/admin/publications/{B}/figures").status_code == 404
    assert http.get(f"/admin/publications/{A}/figures").status_code == 200
    dashboard = http.get("/admin")
    assert dashboard.status_code == 200 and "SpaceWar Weekly" not in dashboard.text
    assert "/admin/staff" not in dashboard.text and "/admin/audit" not in dashboard.text  # not in their menu
    assert http.get("/admin/staff").status_code == 403
    assert B not in http.get("/admin/publications").text
