"""The sign-up page sends the browser's time zone (a hidden field filled by a tiny inline
script, allowed by its hash in the page's Content-Security-Policy and nothing else), so
that a publication sent at local time reaches a new subscriber in their morning."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.subscribers.models import Subscriber, Subscription
from tests.integration.web.browsers import ARGS, CHROMIUM


def zone_of(engine, address: str) -> str | None:
    """The zone the pending sign-up asked for: the person's once its link is used (signup.py)."""
    with Session(engine) as s:
        return s.scalar(select(Subscription.requested_timezone).join(Subscriber).where(Subscriber.email == address))


def test_the_browser_zone_reaches_the_subscriber(engine, publication, server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(timezone_id="Pacific/Auckland")
        page = context.new_page()
        blocked = []
        page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto(f"{server.url}/subscribe")
        assert page.input_value("#timezone") == "Pacific/Auckland"
        page.fill("#email", "kiwi@example.org")
        page.click("#subscribe")
        page.wait_for_selector("text=confirmation email")
        browser.close()
    server.settle()
    assert blocked == [] and zone_of(engine, "kiwi@example.org") == "Pacific/Auckland"


def test_the_script_is_allowed_by_its_hash_only(http, publication):
    r = http.get("/subscribe")
    csp = r.headers["Content-Security-Policy"]
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/]+=*'$", csp) and "unsafe-inline' ;" not in csp
    assert csp.startswith("default-src 'none'") and "script-src" not in http.get("/healthz").headers.get(
        "Content-Security-Policy", "")


@pytest.mark.parametrize("zone, stored", [("America/Los_Angeles", "America/Los_Angeles"), ("Nowhere/Land", "")])
def test_a_form_or_json_sign_up_keeps_a_valid_zone_and_ignores_another(http, engine, publication, zone, stored):
    r = http.post("/subscribe", data={"publication": "spacewar-daily", "email": "form@example.org", "timezone": zone})
    assert r.status_code == 200
    r = http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "json@example.org",
                                          "timezone": zone})
    assert r.status_code == 202
    assert zone_of(engine, "form@example.org") == stored and zone_of(engine, "json@example.org") == stored
