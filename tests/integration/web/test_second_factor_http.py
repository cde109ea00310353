"""The second factor over HTTP: an admin requires it of admins, an admin is then asked to
set one up at sign-in (and has nothing else until then), the API takes the code with the
password, a remembered browser skips the code (and is forgotten with a new password),
codes are throttled, an admin removes a lost one, API tokens are left alone."""
from __future__ import annotations

import re
import time

import pytest

from newsletter.staff import totp
from tests.integration.web.console_helpers import csrf_of, post_login, sign_in
from tests.integration.web.staff_helpers import PASSWORD, client, make_staff


@pytest.fixture
def web_settings(web_settings):
    web_settings.login_limit_per_account = 3  # wrong codes too
    return web_settings


@pytest.fixture
def staff(engine, web_settings, publication, server):
    return make_staff(engine, web_settings)


def enrol_at_sign_in(server, email: str):
    """Password, then the forced set-up: the client signed in, the key and the recovery codes."""
    http = client(server)
    answer = post_login(http, email)
    assert answer.headers["location"] == "/admin/login/enrol"
    assert http.get("/admin").status_code == 303  # nothing else before the set-up
    page = http.get("/admin/login/enrol").text
    key = re.search(r'id="totp-key">([^<]+)<', page).group(1).replace(" ", "")
    done = http.post("/admin/login/enrol", data={"csrf": csrf_of(page), "code": totp.code_at(key, time.time())})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", done.text)
    return http, key, codes


def test_required_of_admins_then_code_with_the_password(server, staff, web_settings):
    admin, csrf = sign_in(server, staff.email("admin"))
    assert admin.post("/admin/staff/policy", data={"csrf": csrf, "require_2fa": "admins"}).status_code == 303
    assert client(server, staff.tokens["admin"]).get("/api/v1/staff-policy").json() == {
        "require_second_factor": "admins"}
    # An operator is not asked; an admin must set one up, and the API refuses a password alone.
    sign_in(server, staff.email("operator"))
    api = client(server).post("/api/v1/session", json={"email": staff.email("admin"), "password": PASSWORD})
    assert api.status_code == 403 and "set it up in the console" in api.text
    http, key, codes = enrol_at_sign_in(server, staff.email("admin"))
    assert len(codes) == 10 and "(admin)" in http.get("/admin").text
    # The API token of the admin is not a password: it works as before.
    assert client(server, staff.tokens["admin"]).get("/api/v1/session").status_code == 200

    # The API: the code goes with the password.
    body = {"email": staff.email("admin"), "password": PASSWORD}
    missing = client(server).post("/api/v1/session", json=body)
    assert missing.status_code == 401 and "send its code" in missing.text
    wrong = client(server).post("/api/v1/session", json={**body, "code": "000000"})
    assert wrong.status_code == 401
    ok = client(server).post("/api/v1/session", json={**body, "code": totp.code_at(key, time.time() + 30)})
    assert ok.status_code == 200 and ok.json()["staff"]["second_factor"] is True
    assert client(server).post("/api/v1/session", json={**body, "code": codes[0]}).status_code == 200
    assert client(server).post("/api/v1/session", json={**body, "code": codes[0]}).status_code == 401  # used


def test_a_remembered_browser_skips_the_code_until_the_password_changes(server, staff):
    admin, csrf = sign_in(server, staff.email("admin"))
    admin.post("/admin/staff/policy", data={"csrf": csrf, "require_2fa": "all"})
    http, key, _ = enrol_at_sign_in(server, staff.email("viewer"))
    browser = client(server)
    step = post_login(browser, staff.email("viewer"))
    assert step.headers["location"] == "/admin/login/code"
    page = browser.get("/admin/login/code").text
    signed = browser.post("/admin/login/code", data={"csrf": csrf_of(page), "remember": "on",
                                                     "code": totp.code_at(key, time.time() + 30)})
    assert signed.status_code == 303 and "nl_device=" in signed.headers.get("set-cookie", "")
    browser.post("/admin/logout", data={"csrf": csrf_of(browser.get("/admin/account").text)})
    again = post_login(browser, staff.email("viewer"))
    assert again.headers["location"] == "/admin"  # remembered: no code
    account = browser.get("/admin/account").text
    assert 'id="devices"' in account and "Forget" in account
    changed = browser.post("/admin/account", data={"csrf": csrf_of(account), "current": PASSWORD,
                                                   "password": "a brand new passphrase",
                                                   "again": "a brand new passphrase"})
    assert changed.headers["location"] == "/admin/login?done=password_changed"
    after = post_login(browser, staff.email("viewer"), "a brand new passphrase")
    assert after.headers["location"] == "/admin/login/code"  # forgotten with the old password


def test_wrong_codes_back_off_and_an_admin_removes_a_lost_factor(server, staff):
    admin, csrf = sign_in(server, staff.email("admin"))  # signed in before the rule: it applies from the next sign-in
    admin.post("/admin/staff/policy", data={"csrf": csrf, "require_2fa": "all"})
    _, key, _ = enrol_at_sign_in(server, staff.email("operator"))
    http = client(server)
    post_login(http, staff.email("operator"))
    page = http.get("/admin/login/code").text
    statuses = [http.post("/admin/login/code", data={"csrf": csrf_of(page), "code": "123456"}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    right = http.post("/admin/login/code", data={"csrf": csrf_of(page), "code": totp.code_at(key, time.time() + 30)})
    assert right.status_code == 429 and int(right.headers["retry-after"]) >= 1  # even the right one waits
    # Lost the phone: an admin removes the factor; the next sign-in sets up a new one.
    removed = admin.post(f"/admin/staff/{staff.ids['operator']}/second-factor/reset", data={"csrf": csrf})
    assert removed.status_code == 303
    assert post_login(client(server), staff.email("operator")).headers["location"] == "/admin/login/enrol"
