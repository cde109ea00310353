"""Every request gets a proper answer (issue 7, items 10-12), over real HTTP."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy.orm import Session

from newsletter.delivery import send_acts
from newsletter.editions.models import Edition
from newsletter.http_common import SECURITY_HEADERS
from tests.integration.web.site import Server, deliver_today, public_id

pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


def secure(response) -> bool:
    """Every header present; a page may only add to the policy (the sign-up page allows its
    own inline script by hash), never loosen it."""
    return all((response.headers.get(k) or "").startswith(v) if k == "Content-Security-Policy"
               else response.headers.get(k) == v for k, v in SECURITY_HEADERS.items())


def test_ids_a_database_cannot_hold_are_not_found(http, publication):
    for path in ("/editions/99999999999999999999999", "/editions/2147483648", "/editions/-1",
                 "/editions/" + "x" * 40, "/editions/%00"):
        r = http.get(path)
        assert r.status_code in (400, 404), path
        assert secure(r)


def test_control_characters_in_a_name_are_refused(http, publication):
    r = http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "a@example.org",
                                          "name": "An\u0000na"})
    assert r.status_code == 400 and "control characters" in r.json()["message"]
    r = http.post("/subscribe", data={"publication": "spacewar-daily", "email": "a@example.org", "name": "\x1b[31m"})
    assert r.status_code == 400


def test_every_answer_carries_the_security_headers(http, server, publication):
    assert secure(http.get("/subscribe"))
    assert secure(http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "x@example.org"}))
    assert secure(http.post("/api/subscribe", content=b"x" * 100_000))  # 413
    assert http.post("/api/subscribe", content=b"x" * 100_000).status_code == 413
    assert secure(http.get("/no/such/page"))
    slash = http.get("/subscribe/")  # no redirect built from the Host header
    assert slash.status_code == 404 and "location" not in slash.headers and secure(slash)
    evil = http.get("/subscribe/", headers={"Host": "evil.example"})
    assert "evil.example" not in evil.headers.get("location", "")
    # uvicorn's own answer to a request it cannot parse
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = raw.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 400")
    for name, value in SECURITY_HEADERS.items():
        assert f"{name}: {value}".lower() in answer.lower()


def test_unexpected_errors_are_a_plain_500_with_headers(web_settings, publication):
    server = Server(web_settings)

    def boom():
        raise RuntimeError("the inside of the service")
    server.server.config.app.add_api_route("/boom", boom)
    server.start()
    try:
        import httpx

        r = httpx.get(f"{server.url}/boom", timeout=10)
    finally:
        server.stop()
    assert r.status_code == 500 and secure(r) and "inside of the service" not in r.text


def test_methods_head_and_allow(http, publication):
    r = http.request("PUT", "/subscribe")
    assert r.status_code == 405 and secure(r)
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    head, get = http.head("/subscribe"), http.get("/subscribe")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-type"] == get.headers[
        "content-type"]
    assert secure(head)


def test_only_sent_editions_are_public_and_not_at_guessable_addresses(http, engine, web_settings, publication):
    from datetime import timedelta

    from newsletter.editions.build import build_edition
    from tests.helpers import add_article

    sent = deliver_today(engine, web_settings, publication, [("ann@example.org", "Ann", None)])
    assert http.get(f"/editions/{public_id(engine, sent)}").status_code == 200
    assert http.get(f"/editions/{sent}").status_code == 404
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        today = s.get(Edition, sent)
        add_article(s, "superpowers", "Embargoed", today.window_end + timedelta(hours=2))
        future, _ = build_edition(s, pub, today.date + timedelta(days=1), now=today.window_end + timedelta(days=1))
        s.commit()
        future_id, future_public = future.id, future.public_id
    assert http.get(f"/editions/{future_public}").status_code == 404  # built, not sent
    with engine.begin() as conn:
        send_acts.cancel(conn, future_id)
    assert http.get(f"/editions/{future_public}").status_code == 404  # cancelled before sending
    assert len(future_public) >= 16 and not future_public.isdigit()
