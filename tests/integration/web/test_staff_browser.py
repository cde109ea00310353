"""Staff sign-in in headless Chromium (Debian's, through Playwright), at phone and desktop
widths: set up a second factor from the QR page (the key it shows gives the codes, as an
authenticator app would compute them), sign out, sign in with a code, sign in with a
recovery code once, and fail with the same recovery code twice; and a single sign-on
against the test OpenID Connect provider. Screenshots under test-output/screenshots/."""
from __future__ import annotations

import time

import pytest

from newsletter.staff import totp
from tests.integration.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.integration.web.browsers import overflow, shoot
from tests.integration.web.staff_helpers import PASSWORD, make_staff

WIDTHS = pytest.mark.parametrize("width", [360, 1280])


@pytest.fixture
def provider():
    p = Provider().start()
    yield p
    p.stop()


@pytest.fixture
def web_settings(web_settings, provider):
    web_settings.sso_issuer, web_settings.sso_client_id = provider.url, CLIENT_ID
    web_settings.sso_client_secret = CLIENT_SECRET
    web_settings.sso_roles = "space-desk=operator:spacewar-daily"
    return web_settings


def fits(page, name: str, width: int) -> None:
    shoot(page, f"staff-{name}-{width}")
    assert overflow(page) <= 0, f"{name} overflows by {overflow(page)}px at {width}px"


def password_step(page, server, email: str) -> None:
    page.goto(server.url + "/admin/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")


def sign_out(page) -> None:
    page.click("#sign-out")
    page.wait_for_selector("#sign-in")


@WIDTHS
def test_second_factor_enrol_code_and_recovery_codes(browser, engine, server, web_settings, publication,
                                                     width):
    staff = make_staff(engine, web_settings)
    email = staff.email("admin")
    page = browser.new_page(viewport={"width": width, "height": 900})
    password_step(page, server, email)
    page.wait_for_selector("#me")
    page.click("#me")
    page.click("#second-factor-start")
    page.wait_for_selector("#qr svg")
    fits(page, "enrol", width)
    key = page.inner_text("#totp-key").replace(" ", "")
    now = time.time()
    page.fill("#code", totp.code_at(key, now))
    page.click("#confirm")
    page.wait_for_selector("#recovery-codes")
    codes = [c.strip() for c in page.inner_text("#recovery-codes").split("\n") if c.strip()]
    assert len(codes) == 10 and len(set(codes)) == 10
    fits(page, "recovery-codes", width)
    page.click("#continue")
    page.wait_for_selector("#second-factor-state >> text=On")
    sign_out(page)

    # Password, then a code (the next one: a code is accepted once).
    password_step(page, server, email)
    page.wait_for_selector("#code")
    fits(page, "code", width)
    page.fill("#code", totp.code_at(key, now + totp.STEP))
    page.click("#verify")
    page.wait_for_selector("#me")
    assert "(admin)" in page.inner_text("#me")
    sign_out(page)

    # A recovery code works once...
    password_step(page, server, email)
    page.wait_for_selector("#code")
    page.fill("#code", codes[3])
    page.click("#verify")
    page.wait_for_selector("#me")
    sign_out(page)
    # ... and then fails, twice, leaving the browser at the code's step.
    password_step(page, server, email)
    for _ in range(2):
        page.wait_for_selector("#code")
        page.fill("#code", codes[3])
        page.click("#verify")
        page.wait_for_selector("#problem >> text=not right")
        assert page.query_selector("#me") is None
    fits(page, "code-refused", width)
    page.goto(server.url + "/admin")
    page.wait_for_selector("#sign-in")  # not signed in: the code's step opens nothing else
    page.close()


@WIDTHS
def test_single_sign_on(browser, engine, server, provider, publication, width):
    provider.redirect_uri = server.url + "/admin/sso/callback"
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(server.url + "/admin/editions")
    page.wait_for_selector("#sso")
    fits(page, "sign-in-sso", width)
    page.click("#sso")  # to the provider, which approves at once, and back
    page.wait_for_selector("#editions")
    assert page.url.endswith("/admin/editions")
    assert "sso.editor@staff.example.org (operator)" in page.inner_text("#me")
    assert provider.seen[-1]["code_challenge_method"] == "S256" and not provider.refusals
    page.close()
