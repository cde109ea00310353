"""Security of the admin side over HTTP: sign-in throttled, sessions that cannot act as
another account, no cookie-only or cross-site changes, a viewer who changes nothing, an
erased person gone from every table, file and counter, the offline API docs, and the
larger body limit for imports only."""
from __future__ import annotations

import os
import re

import httpx
import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.limits import person_key
from newsletter.staff.models import AuditEntry
from newsletter.subscribers.models import Subscriber
from tests.helpers import find_everywhere
from tests.integration.web.readers import confirm_link, confirmations, outbox_messages, unsubscribe_url
from tests.integration.web.readers import prefs_path as prefs_path
from tests.integration.web.site import SettlingClient, deliver_today
from tests.integration.web.staff_helpers import PASSWORD, client, fingerprint, make_staff

REDIS_URL = os.environ.get("NEWSLETTER_TEST_REDIS", "redis://127.0.0.1:6379/9")
both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def api_settings(web_settings):
    web_settings.login_limit_per_account, web_settings.login_limit_per_client = 3, 8
    web_settings.import_max_bytes = 300_000
    web_settings.redis_url = REDIS_URL  # counters in Redis: the erasure must reach them there
    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    yield web_settings
    r.flushdb()


@pytest.fixture
def secured(engine, api_settings, publication, request):
    server = request.getfixturevalue("server")
    staff = make_staff(engine, api_settings)
    return server, staff


def sign_in(server, email, password=PASSWORD):
    http = client(server)
    answer = http.post("/api/v1/session", json={"email": email, "password": password})
    return http, answer


def from_address(server, address: str) -> SettlingClient:
    """A client connecting from another loopback address (127.0.0.0/8 is all ours)."""
    return SettlingClient(server, base_url=server.url, timeout=60, follow_redirects=False,
                          transport=httpx.HTTPTransport(local_address=address))


def test_someone_elses_failures_never_lock_the_owner_out(secured, api_settings):
    server, staff = secured
    api_settings.login_limit_per_account, api_settings.login_limit_per_client = 5, 20  # the defaults
    api_settings.login_limit_per_account_all_clients = 20
    owner = staff.email("admin")
    _, answer = sign_in(server, owner)  # the owner's usual client (127.0.0.1) is known from now on
    assert answer.status_code == 200

    # Twenty failed sign-ins from twenty other places, and twenty from one more place.
    for n in range(20):
        answer = from_address(server, f"127.0.1.{n + 1}").post("/api/v1/session",
                                                              json={"email": owner, "password": "a guess, wrong"})
        assert answer.status_code == 401, answer.text
    one_place = from_address(server, "127.0.2.1")
    answers = [one_place.post("/api/v1/session", json={"email": owner, "password": "a guess, wrong"}).status_code
               for _ in range(20)]
    assert 429 in answers and set(answers) <= {401, 429}
    refused = one_place.post("/api/v1/session", json={"email": owner, "password": PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1  # back-off, with its time
    new_place = from_address(server, "127.0.3.1").post("/api/v1/session", json={"email": owner, "password": PASSWORD})
    assert new_place.status_code == 429  # places the account never signed in from wait

    # The owner, from their own client: signed in at once, every time.
    for _ in range(3):
        http, answer = sign_in(server, owner)
        assert answer.status_code == 200 and http.get("/api/v1/session").json()["staff"]["email"] == owner
    # ... and told, once, by email.
    alerts = [m for m in outbox_messages(api_settings) if m["Subject"].startswith("Failed sign-ins")]
    assert len(alerts) == 1 and alerts[0]["To"] == owner
    assert "not locked out" in " ".join(alerts[0].get_content().split())


@both
def test_a_session_acts_only_as_its_own_account(engine, secured, publication):
    server, staff = secured
    deliver_today(engine, server_settings(server), publication, [("ann@example.org", "Ann", None)])
    ann = ann_id(engine)
    viewer, answer = sign_in(server, staff.email("viewer"))
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    viewer_csrf = answer.json()["csrf_token"]
    admin, answer = sign_in(server, staff.email("admin"))
    admin_csrf = answer.json()["csrf_token"]
    assert viewer.get("/api/v1/session").json()["staff"]["role"] == "viewer"
    assert admin.get("/api/v1/session").json()["staff"]["role"] == "admin"

    disable = f"/api/v1/subscribers/{ann}/disable"
    before = fingerprint(engine)
    assert viewer.post(disable, headers={"X-CSRF-Token": viewer_csrf}).status_code == 403  # its role
    assert viewer.post(disable, headers={"X-CSRF-Token": admin_csrf}).status_code == 403  # another's token
    assert admin.post(disable).status_code == 403  # no CSRF token
    assert admin.post(disable, headers={"X-CSRF-Token": viewer_csrf}).status_code == 403
    assert admin.post(disable, headers={"X-CSRF-Token": admin_csrf,
                                        "Origin": "https://evil.example"}).status_code == 403
    stolen = client(server)
    real = admin.cookies["nl_staff"]
    stolen.cookies.set("nl_staff", real[:-2] + ("xx" if real[-2:] != "xx" else "yy"))  # a forged signature
    assert stolen.post(disable, headers={"X-CSRF-Token": admin_csrf}).status_code == 401
    assert fingerprint(engine) == before
    assert admin.post(disable, headers={"X-CSRF-Token": admin_csrf}).status_code == 200

    # Tokens: each sees and revokes only their own.
    made = viewer.post("/api/v1/tokens", json={"name": "mine"}, headers={"X-CSRF-Token": viewer_csrf}).json()
    listed = viewer.get("/api/v1/tokens").json()["items"]
    assert {t["staff_id"] for t in listed} == {staff.ids["viewer"]} and made["id"] in {t["id"] for t in listed}
    admins = [t["id"] for t in admin.get("/api/v1/tokens").json()["items"]]
    assert viewer.delete(f"/api/v1/tokens/{admins[0]}", headers={"X-CSRF-Token": viewer_csrf}).status_code == 403
    assert viewer.get("/api/v1/tokens", params={"account": "*"}).status_code == 403

    # Signing out ends the session on the server: the same cookie no longer works.
    saved = admin.cookies["nl_staff"]
    assert admin.delete("/api/v1/session", headers={"X-CSRF-Token": admin_csrf}).status_code == 200
    replay = client(server)
    replay.cookies.set("nl_staff", saved)
    assert replay.get("/api/v1/session").status_code == 401


BODIES = {  # well-formed bodies, so that only the role can be the reason for a refusal
    ("post", "/api/v1/subscribers"): {"publication": "spacewar-daily", "email": "x@example.org"},
    ("patch", "/api/v1/subscribers/{subscriber_id}"): {"name": "New name"},
    ("post", "/api/v1/subscribers/{subscriber_id}/resubscribe"): {"publication": "spacewar-daily"},
    ("post", "/api/v1/suppressions"): {"email": "x@example.org", "reason": "asked"},
    ("post", "/api/v1/suppressions/{suppression_id}/remove"): {"reason": "asked"},
    ("post", "/api/v1/staff"): {"email": "x@example.org", "role": "viewer"},
    ("patch", "/api/v1/staff/{staff_id}"): {"role": "viewer"},
    ("put", "/api/v1/staff-policy"): {"require_second_factor": "all"},
    ("post", "/api/v1/editions/{edition_id}/test-send"): {"to": "x@example.org"},
    ("post", "/api/v1/publications/{slug}/test-send"): {"to": "x@example.org"},
    ("post", "/api/v1/publications"): {"slug": "x", "name": "X"},
    ("put", "/api/v1/publications/{slug}/settings"): {"slug": "x", "name": "X"},
    ("post", "/api/v1/editions/{edition_id}/changes"): {"kind": "drop", "item": "1"},
    ("post", "/api/v1/editions/{edition_id}/takedown"): {"item": "1"},
}


def test_a_viewer_changes_nothing_anywhere(engine, secured, publication):
    server, staff = secured
    deliver_today(engine, server_settings(server), publication, [("ann@example.org", "Ann", None)])
    ann = ann_id(engine)
    viewer = client(server, staff.tokens["viewer"])
    spec = viewer.get("/api/v1/openapi.json").json()
    own = {("post", "/api/v1/tokens"), ("delete", "/api/v1/tokens/{token_id}"), ("post", "/api/v1/session"),
           ("delete", "/api/v1/session"), ("post", "/api/v1/session/password"), ("put", "/api/v1/session/password")}
    tried = 0
    for path, methods in spec["paths"].items():
        for method in methods:
            if method == "get" or (method, path) in own:
                continue
            url = re.sub(r"\{[a-z_]+\}", str(ann), path)
            before = fingerprint(engine)
            body = {"content": b"email\nx@example.org\n", "headers": {"Content-Type": "text/csv"}} \
                if path.endswith("/imports") else {"json": BODIES.get((method, path))}
            answer = viewer.request(method.upper(), url, params={"publication": "spacewar-daily"}, **body)
            assert answer.status_code == 403, (method, path, answer.text)
            assert fingerprint(engine) == before, (method, path)
            tried += 1
    assert tried >= 23  # 17 before, and rebuild, hold, release, two test sends, a feed poll


@both
def test_an_erased_person_is_gone_and_stays_gone(engine, secured, publication, api_settings):
    server, staff = secured
    r = redis.Redis.from_url(REDIS_URL)
    deliver_today(engine, api_settings, publication, [("ann@example.org", "Ann Reader", None),
                                                     ("bob@example.org", "Bob", None)])
    http = client(server)
    unsubscribe, preferences = unsubscribe_url(api_settings, "ann@example.org"), prefs_path(api_settings,
                                                                                          "ann@example.org")
    assert http.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "Ann@Example.org"}
                     ).status_code == 202
    (msg,) = confirmations(api_settings, "ann@example.org")
    confirm = confirm_link(msg)
    key = f"nl:signup:email:{person_key(api_settings.signing_key(), 'ann@example.org')}:*"
    assert list(r.scan_iter(match=key))  # the sign-up was counted under a keyed name
    admin = client(server, staff.tokens["admin"])
    ann = ann_id(engine)
    assert admin.post(f"/api/v1/subscribers/{ann}/resubscribe", json={"publication": "spacewar-daily"}).json()[
        "changed"]

    answer = admin.delete(f"/api/v1/subscribers/{ann}")
    assert answer.status_code == 200 and answer.json()["outbox_files"] == 2  # her digest and the confirmation
    for method, url in (("GET", unsubscribe), ("POST", unsubscribe), ("GET", preferences), ("GET", confirm),
                        ("POST", confirm)):
        data = {"List-Unsubscribe": "One-Click"} if method == "POST" else None
        # RFC 8058: a genuine one-click POST is answered 2xx even for someone gone (nothing changes).
        expected = 200 if (method, url) == ("POST", unsubscribe) else 400
        assert http.request(method, url, data=data).status_code == expected, (method, url)
    assert find_everywhere(engine, "ann@example.org") == []
    assert find_everywhere(engine, "Ann Reader") == []
    assert not any("ann@example.org" in p.read_text(errors="replace").lower()
                   for p in api_settings.effective_outbox_dir.glob("*.eml"))
    assert not list(r.scan_iter(match=key))
    audit = admin.get("/api/v1/audit", params={"action": "subscriber.erase"}).json()["items"][0]
    assert audit["target"] == f"subscriber:{ann}" and "ann" not in str(audit).replace(f"subscriber:{ann}", "")

    # Never again: a sign-up sends nothing and records nothing; an admin add and an import are refused.
    files = len(list(api_settings.effective_outbox_dir.glob("*.eml")))
    assert http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "ann@example.org"}
                     ).status_code == 202
    assert len(list(api_settings.effective_outbox_dir.glob("*.eml"))) == files and confirmations(
        api_settings, "ann@example.org") == []
    assert admin.post("/api/v1/subscribers", json={"publication": "spacewar-daily", "email": "ann@example.org"}
                      ).status_code == 409
    job = admin.post("/api/v1/imports?publication=spacewar-daily", content=b"email\nann@example.org\n",
                     headers={"Content-Type": "text/csv"}).json()
    job = admin.get(f"/api/v1/imports/{job['id']}").json()
    assert (job["status"], job["added"], job["not_resubscribed"]) == ("done", 0, 1)
    assert find_everywhere(engine, "ann@example.org") == []
    found = admin.get("/api/v1/suppressions", params={"q": "ann@example.org"}).json()["items"]
    assert [(s["reason"], s["email"]) for s in found] == [("erased", None)]
    # Without the right to erase, an erased address answers as one nobody ever suppressed.
    viewer = client(server, staff.tokens["viewer"])
    for q in ("ann@example.org", "never-seen@example.org"):
        assert viewer.get("/api/v1/suppressions", params={"q": q}).json() == {"items": [], "next_cursor": None}


def test_a_new_password_or_a_disable_ends_sessions_and_revokes_tokens(engine, secured):
    server, staff = secured
    operator = client(server, staff.tokens["operator"])
    http, answer = sign_in(server, staff.email("operator"))
    csrf = answer.json()["csrf_token"]
    extra = http.post("/api/v1/tokens", json={"name": "script"}, headers={"X-CSRF-Token": csrf}).json()["token"]
    assert client(server, extra).get("/api/v1/session").status_code == 200
    changed = http.put("/api/v1/session/password", headers={"X-CSRF-Token": csrf},
                       json={"current_password": PASSWORD, "new_password": "a brand new passphrase"})
    assert changed.status_code == 200
    for token in (staff.tokens["operator"], extra):
        assert client(server, token).get("/api/v1/session").status_code == 401  # revoked
    assert http.get("/api/v1/session").status_code == 401  # the session ended
    assert operator.get("/api/v1/editions").status_code == 401
    with Session(engine) as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "staff.password_set"))
        assert '"tokens_revoked": 2' in entry.detail

    admin = client(server, staff.tokens["admin"])
    viewer_http, _ = sign_in(server, staff.email("viewer"))
    assert admin.post(f"/api/v1/staff/{staff.ids['viewer']}/disable").status_code == 200
    assert admin.post(f"/api/v1/staff/{staff.ids['viewer']}/enable").status_code == 200
    assert client(server, staff.tokens["viewer"]).get("/api/v1/session").status_code == 401  # stays revoked
    assert viewer_http.get("/api/v1/session").status_code == 401


def test_api_docs_work_offline(secured):
    server, staff = secured
    http = client(server)
    spec = http.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/v1/subscribers" in spec["paths"]
    assert "token" in spec["components"]["securitySchemes"]
    page = http.get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/subscribers/{subscriber_id}" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'sha256-" in csp and "connect-src 'self'" in csp and "unsafe-inline" not in csp.split(
        "style-src")[0]
    assert not re.search(r"(src|href)=['\"]https?://", page.text)  # nothing from elsewhere
    assert http.get("/api/v1/subscribers").headers["content-security-policy"].startswith("default-src 'none'")


def test_only_imports_take_large_bodies(engine, secured, publication):
    server, staff = secured
    admin = client(server, staff.tokens["admin"])
    rows = "".join(f"reader{i:05d}@example.org,Reader {i}\n" for i in range(6000))  # about 200 KB
    answer = admin.post("/api/v1/imports?publication=spacewar-daily", content=("email,name\n" + rows).encode(),
                        headers={"Content-Type": "text/csv"})
    assert answer.status_code == 202
    job = admin.get(f"/api/v1/imports/{answer.json()['id']}").json()
    assert (job["status"], job["added"]) == ("done", 6000)
    too_big = ("email\n" + "x" * 400_000).encode()
    assert admin.post("/api/v1/imports?publication=spacewar-daily", content=too_big,
                      headers={"Content-Type": "text/csv"}).status_code == 413
    big_json = b'{"publication": "spacewar-daily", "email": "' + b"a" * 100_000 + b'@example.org"}'
    assert admin.post("/api/v1/subscribers", content=big_json,
                      headers={"Content-Type": "application/json"}).status_code == 413


def server_settings(server):
    return server.server.config.app.state.web.settings


def ann_id(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(Subscriber.id).where(Subscriber.email == "ann@example.org"))


