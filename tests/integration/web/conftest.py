"""Fixtures of the web tests: a real uvicorn server on loopback serving the app over the
test's database, with the outbox backend (the emails it writes are read back by the
tests: readers.py), a client on it (site.py), and a headless Chromium (browsers.py)."""
from __future__ import annotations

import pytest

from tests.integration.web.browsers import ARGS, CHROMIUM
from tests.integration.web.site import Server, SettlingClient


@pytest.fixture
def web_settings(settings, tmp_path):
    settings.outbox_dir = tmp_path / "outbox"
    settings.allow_http_links = True  # the test server is plain http on loopback
    return settings


@pytest.fixture
def server(web_settings):
    s = Server(web_settings)
    web_settings.web_base_url = s.url  # links in emails point at this server
    s.start()
    yield s
    s.stop()


@pytest.fixture
def http(server):
    with SettlingClient(server, base_url=server.url, timeout=30, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (tests/integration/web/browsers.py)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()
