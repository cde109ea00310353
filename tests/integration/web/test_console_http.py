"""The console over HTTP against the running server: every page and every form for every
role (allowed; refused with the sign-in page or a 403 page, nothing changed), posts
without the session's CSRF token or from another site refused, a session that cannot act
as another account, sign-in and the set-password link, and bad input as 4xx pages."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery import holds
from newsletter.ingest.models import Feed
from newsletter.staff.models import ApiToken, AuditEntry, StaffAccount
from newsletter.subscribers.models import Subscriber, Suppression
from tests.integration.feed_server import FeedServer
from tests.integration.web.console_helpers import csrf_of, login_form, make_world, post_login, sign_in
from tests.integration.web.staff_helpers import PASSWORD, RANK, ROLES, client, fingerprint

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
PUB = "spacewar-daily"
CSV = "email,name,sections,timezone\nnew1@example.org,New One,superpowers,Europe/Paris\n"


@pytest.fixture
def feed_server():
    s = FeedServer(utcnow()).start()
    yield s
    s.stop()


@pytest.fixture
def world(engine, web_settings, publication, server, feed_server):
    w = make_world(engine, web_settings, publication, server)
    with Session(engine) as s:
        s.add(Feed(name="wire", url=f"{feed_server.url}/feed", section="superpowers", allow_private=True))
        s.commit()
    yield w
    w.close()


@dataclass
class Page:
    path: str
    role: str  # the lowest role allowed


PAGES = [
    Page("/admin", "viewer"), Page("/admin/sending.json", "viewer"), Page("/admin/subscribers", "viewer"),
    Page(f"/admin/subscribers?q=ann&publication={PUB}&subscription=active&created_from=2020-01-01", "viewer"),
    Page("/admin/subscribers/{ann}", "viewer"), Page("/admin/subscribers/{ann}/erase", "admin"),
    Page("/admin/subscribers/{ann}/data.json", "admin"), Page("/admin/subscribers/export.csv", "admin"),
    Page("/admin/imports", "viewer"), Page("/admin/suppressions", "viewer"),
    Page("/admin/suppressions?q=hal@example.org&reason=hard_bounce", "viewer"),
    Page("/admin/publications", "viewer"), Page("/admin/editions", "viewer"),
    Page(f"/admin/editions?publication={PUB}&status=sent", "viewer"), Page("/admin/editions/{e1}", "viewer"),
    Page("/admin/editions/{e2}", "viewer"), Page("/admin/preview?edition={e1}", "operator"),
    Page("/admin/preview.html?edition={e1}", "operator"),
    Page(f"/admin/preview?publication={PUB}&as=ann@example.org", "operator"),
    Page(f"/admin/preview?publication={PUB}&sections=drone-war&date=2030-01-01", "operator"),
    Page("/admin/staff", "admin"), Page("/admin/tokens", "viewer"), Page("/admin/audit", "admin"),
    Page("/admin/audit?action=staff.&staff_id=1", "admin"), Page("/admin/audit/export.csv", "admin"),
    Page("/admin/account", "viewer"),
]


def test_every_page_for_every_role(engine, world):
    for page in PAGES:
        path = page.path.format(**world.ids)
        for role in (None, *ROLES):
            answer = world.clients[role].get(path)
            if role is None:
                assert answer.status_code == 303, (path, answer.text)
                assert answer.headers["location"] == "/admin/login?next=" + quote(path, safe="/")  # query kept
            elif RANK[role] < RANK[page.role]:
                assert answer.status_code == 403, (path, role, answer.text)
                assert "Not allowed" in answer.text and "this needs the" in answer.text
            else:
                assert answer.status_code == 200, (path, role, answer.text)
                if answer.headers["content-type"].startswith("text/html") and ".html" not in path:
                    assert answer.headers["referrer-policy"] == "same-origin"  # else forms post Origin: null
                    assert "default-src 'none'" in answer.headers["content-security-policy"]
                    assert f"({role})" in answer.text  # whose page it is


@dataclass
class Form:
    path: str
    role: str
    data: dict | None = None
    status: int = 303
    files: dict | None = None


FORMS = [
    Form("/admin/editions/{e2}/pause", "operator"), Form("/admin/editions/{e2}/resume", "operator"),
    Form("/admin/editions/{e2}/release-domain", "operator", {"domain": "example.org"}),
    Form("/admin/editions/{e3}/hold", "operator", {"reason": "check the lead"}),
    Form("/admin/editions/{e3}/release", "operator"), Form("/admin/editions/{e3}/cancel", "operator"),
    Form("/admin/editions/{e4}/rebuild", "operator"),
    Form("/admin/editions/{e1}/retry", "operator", {"failure_class": "temporary"}),
    Form("/admin/preview/test-send", "operator", {"edition": "{e1}", "to": "editor@example.org",
                                                  "as": "ann@example.org"}),
    Form("/admin/feeds/wire/poll", "operator"),
    Form("/admin/subscribers", "admin", {"publication": PUB, "email": "dan@example.org", "name": "Dan"}),
    Form("/admin/subscribers/{ann}/edit", "admin", {"name": "Ann R.", "timezone": "Asia/Tokyo", "pubs": PUB,
                                                    f"sections-{PUB}": "drone-war"}),
    Form("/admin/subscribers/{bob}/disable", "admin"), Form("/admin/subscribers/{bob}/enable", "admin"),
    Form("/admin/subscribers/{cara}/resubscribe", "admin", {"publication": PUB}),
    Form("/admin/suppressions", "admin", {"email": "eve@example.org", "reason": "asked by phone"}),
    Form("/admin/suppressions/{eve}/remove", "admin", {"reason": "added by mistake"}),
    Form("/admin/imports", "admin", {"publication": PUB}, files={"file": ("list.csv", CSV, "text/csv")}),
    Form("/admin/staff", "admin", {"email": "new@staff.example.org", "role": "viewer"}, 201),
    Form("/admin/staff/{new_staff}/role", "admin", {"role": "operator"}),
    Form("/admin/staff/{new_staff}/password-link", "admin", status=200),
    Form("/admin/staff/{new_staff}/disable", "admin"), Form("/admin/staff/{new_staff}/enable", "admin"),
    Form("/admin/tokens", "viewer", {"name": "script"}, 201),
    Form("/admin/tokens/{token}/revoke", "viewer"),
    Form("/admin/subscribers/{dan}/erase", "admin", {"confirm": "dan@example.org"}),
]


def _ids_so_far(engine, ids: dict) -> dict:
    with Session(engine) as s:
        dan = s.scalar(select(Subscriber.id).where(Subscriber.email == "dan@example.org"))
        eve = s.scalar(select(Suppression.id).where(Suppression.email == "eve@example.org"))
        new = s.scalar(select(StaffAccount.id).where(StaffAccount.email == "new@staff.example.org"))
        token = s.scalar(select(ApiToken.id).where(ApiToken.name == "script"))
    return {**ids, "dan": dan or 999999, "eve": eve or 999999, "new_staff": new or 999999, "token": token or 999999}


def _post(world, role, form: Form, ids: dict, csrf: str | None = None):
    data = {k: v.format(**ids) for k, v in (form.data or {}).items()}
    data["csrf"] = world.csrf[role] if csrf is None else csrf
    files = {k: (n, c.encode(), t) for k, (n, c, t) in (form.files or {}).items()} or None
    return world.clients[role].post(form.path.format(**ids), data=data, files=files)


@both
def test_every_form_for_every_role(engine, world):
    with engine.begin() as conn:  # a domain held after policy refusals, for its release
        holds.count_refusal(conn, world.ids["e2"], "example.org", "550 5.7.1 blocked by policy", threshold=1)
    for form in FORMS:
        ids = _ids_so_far(engine, world.ids)
        for role in (None, *ROLES):
            if role is not None and RANK[role] >= RANK[form.role]:
                continue
            before = fingerprint(engine)
            answer = _post(world, role, form, ids)
            expected = 303 if role is None else 403
            assert answer.status_code == expected, (form.path, role, answer.text)
            if role is None:
                assert answer.headers["location"] == "/admin/login"
            assert fingerprint(engine) == before, (form.path, role)
        answer = _post(world, form.role, form, ids)
        assert answer.status_code == form.status, (form.path, answer.text)
    with Session(engine) as s:
        done = [(a, v) for a, v in s.execute(select(AuditEntry.action, AuditEntry.via).order_by(AuditEntry.id))
                if v == "console"]
        ann = s.get(Subscriber, world.ids["ann"])
        assert (ann.name, ann.timezone) == ("Ann R.", "Asia/Tokyo")
        assert s.scalar(select(Subscriber.id).where(Subscriber.email == "new1@example.org")) is not None  # imported
        assert s.scalar(select(Subscriber.id).where(Subscriber.email == "dan@example.org")) is None  # erased
        assert s.scalar(select(Feed.total_added).where(Feed.name == "wire")) == 2  # polled
    actions = [a for a, _ in done]
    with engine.connect() as conn:
        assert holds.held(conn, world.ids["e2"]) == []
    for expected in ("edition.pause", "edition.resume", "edition.release_domain",
                     "edition.hold", "edition.release", "edition.rebuild",
                     "edition.cancel", "edition.test_send", "feed.poll", "subscriber.create", "subscriber.update",
                     "subscriber.resubscribe", "suppression.add", "suppression.remove", "import.start",
                     "staff.add", "staff.role", "staff.password_link", "staff.disable", "staff.enable",
                     "token.create", "token.revoke", "subscriber.erase"):
        assert expected in actions, expected


def test_posts_need_the_sessions_token_and_this_site(engine, world):
    admin, viewer = world.clients["admin"], world.clients["viewer"]
    disable = f"/admin/subscribers/{world.ids['bob']}/disable"
    before = fingerprint(engine)
    refused = [
        admin.post(disable),  # no token
        admin.post(disable, data={"csrf": "forged"}),
        admin.post(disable, data={"csrf": world.csrf["viewer"]}),  # another session's token
        admin.post(disable, data={"csrf": world.csrf["admin"]}, headers={"Origin": "https://evil.example"}),
        admin.post(disable, data={"csrf": world.csrf["admin"]}, headers={"Origin": "null"}),
        viewer.post(disable, data={"csrf": world.csrf["admin"]}),  # a viewer's cookie, the admin's token
    ]
    assert [r.status_code for r in refused] == [403] * 6
    assert "CSRF" in refused[0].text and "another site" in refused[3].text
    forged = client(world.clients["admin"].server)
    real = admin.cookies["nl_staff"]
    forged.cookies.set("nl_staff", real[:-2] + ("xx" if real[-2:] != "xx" else "yy"))
    assert forged.post(disable, data={"csrf": world.csrf["admin"]}).headers["location"] == "/admin/login"
    assert fingerprint(engine) == before
    same_site = admin.post(disable, data={"csrf": world.csrf["admin"]}, headers={"Origin": admin.server.url})
    assert same_site.status_code == 303 and same_site.headers["location"].endswith("?done=disabled")

    # Signing out ends the session on the server: the same cookie opens nothing afterwards.
    saved = admin.cookies["nl_staff"]
    assert admin.post("/admin/logout", data={"csrf": world.csrf["admin"]}).status_code == 303
    replay = client(admin.server)
    replay.cookies.set("nl_staff", saved)
    assert replay.get("/admin").status_code == 303
    assert replay.post(disable, data={"csrf": world.csrf["admin"]}).status_code == 303
    # The viewer's session is untouched by the admin's sign-out.
    assert viewer.get("/admin").status_code == 200


def test_sign_in_set_password_and_own_password(engine, world, web_settings):
    server = world.clients["admin"].server
    http = client(server)
    page = http.get("/admin/login?next=/admin/editions")
    assert 'name="next" value="/admin/editions"' in page.text
    wrong = post_login(http, world.staff.email("admin"), "not it at all")
    assert wrong.status_code == 401 and "wrong address or password" in wrong.text.lower()
    assert "nl_staff" not in wrong.headers.get("set-cookie", "")
    ok = post_login(http, world.staff.email("viewer"), next="/admin/subscribers?q=ann&status=active")
    assert ok.headers["location"] == "/admin/subscribers?q=ann&status=active"  # back to the search
    evil = ["//evil.example/admin", "https://evil.example", "/admin/../../x", "/\\evil.example"]
    for who, target in zip(["operator", "operator", "admin", "admin"], evil, strict=True):  # 5 sign-ins per account
        other = post_login(client(server), world.staff.email(who), next=target)
        assert other.headers["location"] == "/admin", target
    cross = client(server).post("/admin/login", headers={"Origin": "https://evil.example"},
                                data={"email": world.staff.email("viewer"), "password": PASSWORD})
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    # The form's own CSRF token, whether or not the browser names its origin: a form made
    # elsewhere (no token, or a token without the sign-in page's cookie) signs nobody in.
    for forged in ({}, {"csrf": login_form(client(server))}):
        blind = client(server).post("/admin/login", data={"email": world.staff.email("viewer"),
                                                          "password": PASSWORD, **forged})
        assert blind.status_code == 403 and "nl_staff" not in blind.headers.get("set-cookie", "")
        assert "has expired or came from elsewhere" in blind.text

    # An admin adds an account: the one-time link sets its password once.
    admin, csrf = world.clients["admin"], world.csrf["admin"]
    added = admin.post("/admin/staff", data={"csrf": csrf, "email": "kim@staff.example.org", "role": "operator"})
    path = re.search(r'id="link">[^<]*(/admin/set-password/[^<]+)<', added.text).group(1)
    assert http.get(path).status_code == 200
    short = http.post(path, data={"password": "short", "again": "short"})
    assert short.status_code == 400 and "at least 12" in short.text
    differ = http.post(path, data={"password": "a long passphrase 1", "again": "a long passphrase 2"})
    assert differ.status_code == 400
    assert http.post(path, data={"password": "a long passphrase 1", "again": "a long passphrase 1"}
                     ).headers["location"] == "/admin/login?done=password_set"
    again = http.post(path, data={"password": "another passphrase", "again": "another passphrase"})
    assert again.status_code == 400 and "already used" in again.text
    kim, kim_csrf = sign_in(server, "kim@staff.example.org", "a long passphrase 1")
    assert "(operator)" in kim.get("/admin").text

    # Changing one's own password ends every session of the account.
    bad = kim.post("/admin/account", data={"csrf": kim_csrf, "current": "wrong one here", "password": "x" * 14,
                                           "again": "x" * 14})
    assert bad.status_code == 400
    changed = kim.post("/admin/account", data={"csrf": kim_csrf, "current": "a long passphrase 1",
                                               "password": "the new passphrase", "again": "the new passphrase"})
    assert changed.headers["location"] == "/admin/login?done=password_changed"
    assert kim.get("/admin").status_code == 303
    kim, _ = sign_in(server, "kim@staff.example.org", "the new passphrase")
    assert "(operator)" in kim.get("/admin").text


def test_bad_input_is_a_4xx_page_and_changes_nothing(engine, world):
    admin, csrf = world.clients["admin"], world.csrf["admin"]
    bad_gets = [
        ("/admin/subscribers/0", 400), ("/admin/subscribers/99999999999", 400), ("/admin/subscribers/abc", 400),
        ("/admin/subscribers/9999", 404), ("/admin/subscribers?status=gone", 400),
        ("/admin/subscribers?publication=nope", 400), ("/admin/subscribers?created_from=yesterday", 400),
        ("/admin/subscribers?q=ann%00", 400), ("/admin/subscribers?before=-1", 400),
        ("/admin/editions?status=lost", 400), ("/admin/editions/9999", 404), ("/admin/imports/9999", 404),
        ("/admin/preview?edition=9999", 404), ("/admin/preview?publication=nope", 404),
        ("/admin/preview?publication=spacewar-daily&date=9999-99-99", 400),
        ("/admin/preview?publication=spacewar-daily&date=0001-01-01", 400),
        ("/admin/preview?publication=spacewar-daily&as=nobody@example.org", 404),
        ("/admin/preview?publication=spacewar-daily&as=ann@example.org&sections=drone-war", 400),
        ("/admin/preview?publication=spacewar-daily&sections=cooking", 400),
        ("/admin/suppressions?reason=nope", 400), ("/admin/audit?staff_id=x", 400), ("/admin/audit?action=%00", 400),
        ("/admin/nowhere", 404),
    ]
    for path, status in bad_gets:
        answer = admin.get(path)
        assert answer.status_code == status, (path, answer.text)
        assert answer.headers["content-type"].startswith("text/html") and 'id="problem"' in answer.text, path
    bad_posts = [
        (f"/admin/subscribers/{world.ids['ann']}/edit", {"timezone": "Mars/Base"}, 400),
        (f"/admin/subscribers/{world.ids['ann']}/edit", {"name": "X\r\nBcc: y"}, 400),
        (f"/admin/subscribers/{world.ids['ann']}/edit", {"pubs": PUB, f"sections-{PUB}": "cooking"}, 400),
        (f"/admin/subscribers/{world.ids['hal']}/resubscribe", {"publication": PUB}, 409),
        (f"/admin/subscribers/{world.ids['ann']}/erase", {"confirm": "someone@else.org"}, 400),
        ("/admin/subscribers", {"publication": PUB, "email": "not-an-address"}, 400),
        ("/admin/subscribers", {"publication": PUB, "email": "cara@example.org"}, 409),
        ("/admin/suppressions", {"email": "hal@example.org", "reason": "again"}, 409),
        ("/admin/suppressions", {"email": "eve@example.org", "reason": ""}, 400),
        ("/admin/imports", {"publication": PUB}, 400),  # no file
        ("/admin/imports", {"publication": "nope"}, 400),
        (f"/admin/editions/{world.ids['e1']}/pause", {}, 409),
        (f"/admin/editions/{world.ids['e1']}/rebuild", {}, 409),
        (f"/admin/editions/{world.ids['e1']}/explode", {}, 400),
        ("/admin/preview/test-send", {"edition": str(world.ids["e1"]), "to": "hal@example.org"}, 409),
        ("/admin/preview/test-send", {"edition": str(world.ids["e1"]), "to": "nope"}, 400),
        ("/admin/feeds/nope/poll", {}, 404),
        ("/admin/feeds/NOT A NAME/poll", {}, 400),
        ("/admin/staff", {"email": "x@staff.example.org", "role": "god"}, 400),
        (f"/admin/staff/{world.ids['staff_admin']}/disable", {}, 409),  # the last admin
        ("/admin/tokens", {"name": "x", "role": "root"}, 400),
    ]
    for path, data, status in bad_posts:
        before = fingerprint(engine)
        answer = admin.post(path, data={**data, "csrf": csrf})
        assert answer.status_code == status, (path, data, answer.text)
        assert 'id="problem"' in answer.text, path
        assert fingerprint(engine) == before, (path, data)
    upload = admin.post("/admin/imports", data={"csrf": csrf, "publication": PUB},
                        files={"file": ("bad.csv", b"email\n\xff@example.org\n", "text/csv")})
    assert upload.status_code == 400 and "not UTF-8" in upload.text
    assert csrf_of(admin.get("/admin").text) == csrf  # one token for the whole session


NASTY = ["\x00", "-1", "0", "9" * 30, "ä" * 400, "' OR 1=1 --", "%", "_", "a\r\nb", "2026-02-30", "9999-12-31",
         "../../etc/passwd", "<script>"]
PARAMS = {
    "/admin/subscribers": ("q", "status", "publication", "subscription", "section", "created_from", "created_to",
                           "before"),
    "/admin/suppressions": ("q", "reason", "publication", "before"),
    "/admin/editions": ("publication", "status", "before"),
    "/admin/audit": ("action", "target", "staff_id", "before"),
    "/admin/preview": ("edition", "publication", "date", "as", "sections"),
    "/admin/login": ("next", "done"),
    "/admin/publications": ("feed", "outcome"),
}


@pytest.mark.parametrize("backend_name", ["postgres"], indirect=True)
def test_nothing_anyone_types_is_a_500(engine, world):
    admin, csrf = world.clients["admin"], world.csrf["admin"]
    for path, names in PARAMS.items():
        for name in names:
            for value in NASTY:
                params = {"publication": PUB} if path == "/admin/preview" and name != "publication" else {}
                answer = admin.get(path, params={**params, name: value})
                assert answer.status_code < 500, (path, name, value, answer.text)
    for value in NASTY:
        quoted = quote(value, safe="")
        for path in (f"/admin/subscribers/{quoted}", f"/admin/editions/{quoted}", f"/admin/set-password/{quoted}",
                     f"/admin/imports/{quoted}"):
            assert admin.get(path).status_code < 500, path
        for path, field in ((f"/admin/subscribers/{world.ids['ann']}/edit", "name"),
                            (f"/admin/subscribers/{world.ids['ann']}/edit", "timezone"),
                            ("/admin/suppressions", "email"), ("/admin/preview/test-send", "to"),
                            (f"/admin/editions/{world.ids['e3']}/hold", "reason"), ("/admin/staff", "email"),
                            ("/admin/tokens", "name"), ("/admin/subscribers", "email")):
            answer = admin.post(path, data={"csrf": csrf, field: value, "publication": PUB, "reason": "x",
                                            "edition": str(world.ids["e1"]), "role": "viewer"})
            assert answer.status_code < 500, (path, field, value, answer.text)


def test_a_time_filter_honours_its_offset(world):
    """An hour ago written at +05:00 is an hour ago (read as UTC it would be four hours
    ahead, and find nobody): the API and the command line read it the same way."""
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=5)))
    page = world.clients["admin"].get("/admin/subscribers", params={"created_from": hour_ago.isoformat()})
    assert page.status_code == 200 and "ann@example.org" in page.text, page.text
