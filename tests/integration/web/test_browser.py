"""End to end in headless Chromium (Debian's package, driven by Playwright through its
executable path): the unsubscribe link from a delivered message, and every page at
phone and desktop widths, with screenshots kept under test-output/screenshots/."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from newsletter.subscribers.models import SubscriptionStatus
from tests.integration.web.conftest import deliver_today, public_id
from tests.integration.web.test_http import outbox_messages, state, unsubscribe_url

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(os.environ.get("NEWSLETTER_TEST_OUTPUT", Path(__file__).resolve().parents[3] / "test-output"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def overflow(page) -> int:
    """How many pixels the document is wider than the viewport (0: nothing overflows)."""
    return page.evaluate("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                         " - window.innerWidth")


def shoot(page, name: str) -> None:
    folder = OUTPUT / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def delivered(engine, web_settings, publication, server):
    return deliver_today(engine, web_settings, publication, [
        ("ann@example.org", "Ann Reader", None), ("chloe@example.org", "Chloé Moreau-Lindqvist", None)])


def test_unsubscribe_from_a_delivered_message_in_chromium(browser, engine, web_settings, delivered):
    url = unsubscribe_url(web_settings, "ann@example.org")
    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(url)
    assert "Unsubscribe from SpaceWar Daily?" in page.content()
    assert state(engine, "ann@example.org")[1] == []  # opening the page changed nothing
    page.click("#unsubscribe")
    page.wait_for_selector("#done")
    assert "You are unsubscribed" in page.inner_text("h1")
    shoot(page, "unsubscribed-360")
    assert state(engine, "ann@example.org") == (SubscriptionStatus.UNSUBSCRIBED, [("unsubscribe", "link", delivered)])
    assert state(engine, "chloe@example.org")[0] == "active"
    page.click("#resubscribe")
    page.wait_for_selector("text=Welcome back")
    assert state(engine, "ann@example.org")[0] == "active"
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_pages_fit_the_screen(browser, engine, web_settings, delivered, server, width):
    digest = next(m for m in outbox_messages(web_settings) if m["List-Unsubscribe"])
    email_html = digest.get_body(("html",)).get_content()
    unsub = unsubscribe_url(web_settings, "chloe@example.org")
    prefs = re.search(r'href="(https?://[^"]+/preferences/[^"]+)"', email_html).group(1)
    page = browser.new_page(viewport={"width": width, "height": 900})
    pages = {
        "email": None,
        "edition": f"{server.url}/editions/{public_id(engine, delivered)}",
        "unsubscribe": unsub,
        "preferences": prefs,
        "signup": f"{server.url}/subscribe",
        "error": f"{server.url}/u/not-a-token",
    }
    for name, url in pages.items():
        if url is None:
            page.set_content(email_html)
        else:
            page.goto(url)
        shoot(page, f"{name}-{width}")
        assert overflow(page) <= 0, f"{name} overflows by {overflow(page)}px at {width}px"
    page.close()
