"""Single sign-on against a small OpenID Connect provider the test runs (its own checks:
PKCE S256, state, nonce, a registered redirect URI, the client's secret, single-use
codes): the person's group maps to a role and publications, an unknown person gets an
SSO-only account, a change of group changes the role at the next sign-on, and every
tampered answer (state, nonce, audience, issuer, signature) signs nobody in."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.staff.models import AuditEntry, StaffAccount
from tests.integration.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.integration.web.console_helpers import post_login
from tests.integration.web.staff_helpers import client, make_staff


@pytest.fixture
def provider():
    p = Provider().start()
    yield p
    p.stop()


@pytest.fixture
def web_settings(web_settings, provider):
    web_settings.sso_issuer, web_settings.sso_client_id = provider.url, CLIENT_ID
    web_settings.sso_client_secret = CLIENT_SECRET
    web_settings.sso_roles = "newsroom-admins=admin, space-desk=operator:spacewar-daily"
    return web_settings


@pytest.fixture
def sso(provider, server, publication):
    provider.redirect_uri = server.url + "/admin/sso/callback"
    return provider


def sign_on(server, http=None):
    """The browser's round trip: start, the provider, the callback. The callback's answer."""
    http = http or client(server)
    start = http.get("/admin/sso/start?next=/admin/editions")
    assert start.status_code == 303, start.text
    to_provider = start.headers["location"]
    back = http.get(to_provider)  # the provider approves at once and sends the browser back
    assert back.status_code == 302, back.text
    return http, http.get(back.headers["location"])


def test_a_group_becomes_a_role_and_an_unknown_person_an_sso_only_account(engine, sso, server, web_settings):
    http, answer = sign_on(server)
    assert answer.status_code == 200 and 'http-equiv="refresh"' in answer.text and "/admin/editions" in answer.text
    asked = sso.seen[-1]
    assert asked["code_challenge_method"] == "S256" and asked["state"] and asked["nonce"]
    assert "code_verifier" not in asked  # the verifier never leaves the server but to the token endpoint
    me = http.get("/api/v1/session").json()["staff"]
    assert (me["email"], me["role"], me["publications"], me["sso_only"]) == (
        "sso.editor@staff.example.org", "operator", ["spacewar-daily"], True)
    assert http.get("/admin/editions").status_code == 200
    with Session(engine) as s:
        account = s.scalar(select(StaffAccount).where(StaffAccount.email == "sso.editor@staff.example.org"))
        assert account.password_hash == "" and account.sso_subject == f"{sso.url} u-1001"
        assert {e.action for e in s.scalars(select(AuditEntry))} >= {"staff.sso_add", "staff.login"}
    # SSO-only: no password sign-in, whatever is typed.
    assert post_login(client(server), "sso.editor@staff.example.org", "").status_code in (400, 401)

    # The provider moves them to the newsroom admins: admin for every publication at the next sign-on.
    sso.person["groups"] = ["newsroom-admins"]
    http, _ = sign_on(server)
    me = http.get("/api/v1/session").json()["staff"]
    assert (me["role"], me["publications"]) == ("admin", None)
    # Out of every group: no access.
    sso.person["groups"] = ["canteen"]
    _, refused = sign_on(server)
    assert refused.status_code == 401 and "no role here" in refused.text and "nl_staff=" not in refused.headers.get(
        "set-cookie", "")


def test_an_existing_account_is_linked_by_its_verified_address(engine, sso, server, web_settings):
    staff = make_staff(engine, web_settings)
    sso.person.update(sub="u-2002", email=staff.email("viewer"), groups=["newsroom-admins"])
    http, answer = sign_on(server)
    assert answer.status_code == 200
    me = http.get("/api/v1/session").json()["staff"]
    assert (me["id"], me["role"], me["sso"], me["sso_only"]) == (staff.ids["viewer"], "admin", True, False)
    sso.person.update(sub="u-3003", email=staff.email("operator"), email_verified=False)
    _, refused = sign_on(server)  # an unverified address links nothing
    assert refused.status_code == 401


@pytest.mark.parametrize("tamper", ["state", "nonce", "audience", "issuer", "signature"])
def test_a_tampered_answer_signs_nobody_in(engine, sso, server, tamper):
    sso.tamper = tamper
    http, answer = sign_on(server)
    assert answer.status_code in (400, 401) and "nl_staff=" not in answer.headers.get("set-cookie", "")
    assert http.get("/api/v1/session").status_code == 401
    with Session(engine) as s:
        assert s.scalar(select(StaffAccount.id)) is None


def test_the_flow_needs_its_own_cookie_and_a_code_works_once(sso, server):
    http = client(server)
    start = http.get("/admin/sso/start")
    back = http.get(start.headers["location"])
    callback = back.headers["location"]
    stranger = client(server)  # without the flow's cookie: a forged or replayed callback
    assert stranger.get(callback).status_code == 400
    assert http.get(callback).status_code == 200
    replay = http.get(callback)  # the cookie is gone, and the code is used
    assert replay.status_code == 400 and "nl_staff=" not in replay.headers.get("set-cookie", "")
    query = parse_qs(urlsplit(callback).query)
    assert set(query) == {"code", "state"}
    login = client(server).get("/admin/login").text
    assert re.search(r'id="sso" href="/admin/sso/start', login)
