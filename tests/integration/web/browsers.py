"""Headless Chromium for the browser tests (Debian's package, driven by Playwright
through its executable path): how it is started, and what the tests measure on a page.
The `browser` fixture is in conftest.py."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.integration.web.staff_helpers import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(os.environ.get("NEWSLETTER_TEST_OUTPUT", Path(__file__).resolve().parents[3] / "test-output"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


def overflow(page) -> int:
    """How many pixels the document is wider than the viewport (0: nothing overflows)."""
    return page.evaluate("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                         " - window.innerWidth")


def shoot(page, name: str) -> bytes:
    folder = OUTPUT / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def fits(page, name: str, width: int) -> None:
    shoot(page, f"console-{name}-{width}")
    assert overflow(page) <= 0, f"{name} overflows by {overflow(page)}px at {width}px"


def signed_in(browser, server, world, width: int, role: str = "admin"):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(server.url + "/admin/editions")
    page.wait_for_selector("#sign-in")  # sent to the sign-in page, and back afterwards
    fits(page, "sign-in", width)
    page.fill("#email", world.staff.email(role))
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#editions")
    assert page.url.endswith("/admin/editions") and f"({role})" in page.inner_text("#me")
    return page
