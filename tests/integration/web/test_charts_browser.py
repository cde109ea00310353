"""The figures' charts in headless Chromium: an edition's page and a publication's figures
page draw their SVG charts under the console's Content-Security-Policy (no script, no
violation reported), with the numbers the API and `newsletter stats --json` give."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.clicks import count
from newsletter.editions.models import Edition
from newsletter.tracking.scanners import ClickKind
from tests.integration.web.browsers import overflow, shoot, signed_in
from tests.integration.web.console_helpers import make_world


@pytest.fixture
def world(engine, web_settings, publication, server):
    publication.click_stats = True
    w = make_world(engine, web_settings, publication, server)
    with Session(engine) as s:  # clicks on the delivered edition, counted by the function the redirect uses
        edition = s.get(Edition, w.ids["e1"])
        items = {i.section_slug: i for i in edition.items}
        now = utcnow()
        for slug, readers, scanners in (("superpowers", 7, 2), ("drone-war", 3, 5), ("missile-defense", 1, 0)):
            for _ in range(readers):
                count(s, edition.id, items[slug].position, slug, now, ClickKind.READER)
            for _ in range(scanners):
                count(s, edition.id, items[slug].position, slug, now, ClickKind.EARLY)
        s.commit()
    yield w
    w.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_the_charts_of_an_edition_and_a_publication(browser, engine, server, world, width):
    page = signed_in(browser, server, world, width)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    answer = page.goto(f"{server.url}/admin/editions/{world.ids['e1']}")
    assert "script-src" not in answer.headers["content-security-policy"]  # no script needed for a chart
    page.wait_for_selector("svg#edition-sections")
    for chart in ("edition-sent", "edition-reactions", "edition-sections"):
        box = page.locator(f"svg#{chart}").bounding_box()
        assert box and box["width"] > 200 and box["height"] > 60, chart  # drawn, at a readable size
    bars = page.eval_on_selector_all("svg#edition-sections rect title", "els => els.map(e => e.textContent)")
    assert "SUPERPOWERS: 7 clicks (readers)" in bars and "DRONE WAR: 5 clicks (scanners)" in bars
    desc = page.eval_on_selector("svg#edition-sent desc", "e => e.textContent")
    assert desc.endswith(": 4 sent.")  # the delivered messages
    rows = page.eval_on_selector_all("#figures-sections tbody tr",
                                     "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")
    assert ["SUPERPOWERS", "7", "2"] in rows and ["DRONE WAR", "3", "5"] in rows
    shoot(page, f"console-edition-charts-{width}")
    assert overflow(page) <= 0

    page.goto(f"{server.url}/admin/publications")
    page.click("#figures-spacewar-daily")
    page.wait_for_selector("svg#pub-reactions")
    assert "clicks (readers)" in page.eval_on_selector("svg#pub-reactions", "e => e.textContent")
    days = page.eval_on_selector_all("svg#pub-reactions circle title", "els => els.map(e => e.textContent)")
    assert any(t.endswith(": 11 clicks (readers)") for t in days)  # 7 + 3 + 1 today
    assert any(t.endswith(": 7 clicks (scanners)") for t in days)
    shoot(page, f"console-publication-charts-{width}")
    assert overflow(page) <= 0
    assert not violations, violations
