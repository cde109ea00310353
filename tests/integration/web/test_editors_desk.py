"""Issue 20, item 1: the editors' desk in the console, driven in headless Chromium with
plain forms: drop a story, pin another as the lead, add one by its URL (a page on the
tests' real HTTP server), rebuild, preview, send; the email and the archive carry the
curated edition; after the send a takedown removes a story from the browser view."""
from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.db import utcnow
from newsletter.editions.build import build_edition, window_for
from newsletter.jobs import InlineDispatcher
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date
from newsletter.staff.models import AuditEntry
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import OutboxBackend
from tests.helpers import add_article
from tests.integration.feed_server import FeedServer
from tests.integration.web.browsers import shoot
from tests.integration.web.console_helpers import load
from tests.integration.web.staff_helpers import PASSWORD, make_staff

PAGE = """<html><head><title>ignored</title>
<meta property="og:title" content="Found on the web: a story the feeds missed">
<meta property="og:description" content="Told by the page itself."></head><body>...</body></html>"""


def test_curate_rebuild_preview_send_and_take_down(browser, engine, server, web_settings, tmp_path):
    pages = FeedServer(utcnow())
    pages.pages["/story.html"] = PAGE
    pages.start()
    try:
        text = sample_file("publications.toml").read_text().replace("# archive = true", "archive = true")
        text += f'\n[[feeds]]\nname = "wire"\nurl = "{pages.url}/feed"\nsection = "superpowers"\nallow_private = true\n'
        (tmp_path / "pubs.toml").write_text(text)
        load(engine, tmp_path / "pubs.toml")
        with Session(engine, expire_on_commit=False) as s:
            pub = s.query(Publication).one()
            now = utcnow()
            day = local_date(pub.timezone, now)
            end = window_for(s, pub, day, now)[1]
            for n, headline in enumerate(["Wrong headline story", "Second story", "Third story"]):
                add_article(s, "superpowers", headline, end - timedelta(hours=n + 1))
            add_article(s, "drone-war", "Drone story to lead", end - timedelta(hours=5))
            add_subscriber(s, pub, "ann@example.org", "Ann", None)
            edition, _ = build_edition(s, pub, day, now)
            s.commit()
            edition_id, public_id = edition.id, edition.public_id
        staff = make_staff(engine, web_settings)

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url + f"/admin/editions/{edition_id}")
        page.fill("#email", staff.email("operator"))
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#headlines")
        page.click("[aria-label='Drop Wrong headline story']")
        page.wait_for_selector("#done >> text=Saved")
        page.click("[aria-label='Pin Drone story to lead as the lead of the edition']")
        page.wait_for_selector("#done >> text=Saved")
        page.fill("#add-article", pages.url + "/story.html")
        page.select_option("#add-section", "superpowers")
        page.click("#add")
        page.wait_for_selector("#done >> text=Saved")
        shoot(page, "editors-desk-1280")
        rows = page.inner_text("#headlines")
        assert "Wrong headline story" not in rows and "Found on the web" in rows
        assert rows.index("Drone story to lead") < rows.index("Second story")
        assert len(page.locator("#changes tbody tr").all()) == 3

        page.click("#rebuild")  # the selection runs again; the changes stay
        page.wait_for_selector("#done >> text=Rebuilt")
        rows = page.inner_text("#headlines")
        assert "Wrong headline story" not in rows and "Found on the web" in rows
        page.click("#preview")
        page.wait_for_selector("#text-part")
        preview = page.inner_text("#text-part")
        assert page.inner_text("#subject").startswith("Drone story to lead")
        assert "Found on the web" in preview and "Wrong headline story" not in preview

        InlineDispatcher(web_settings, OutboxBackend(web_settings.effective_outbox_dir)).run_edition(edition_id)
        (message,) = list(web_settings.effective_outbox_dir.glob("*.eml"))
        mail = message.read_bytes().decode("utf-8", "replace")
        assert "Found on the web" in mail and "Wrong headline story" not in mail and "Drone story to lead" in mail

        page.goto(f"{server.url}/p/spacewar-daily/{day.isoformat()}")
        archived = page.inner_text("body")
        assert "Found on the web" in archived and "Wrong headline story" not in archived
        page.goto(f"{server.url}/editions/{public_id}")
        assert "Second story" in page.content()

        page.goto(server.url + f"/admin/editions/{edition_id}")
        assert page.locator("[aria-label='Drop Second story']").count() == 0  # sent: a takedown only
        page.click("[aria-label='Take down Second story']")
        page.wait_for_selector("#done >> text=cannot be recalled")
        page.goto(f"{server.url}/editions/{public_id}")
        assert "Second story" not in page.content() and "Found on the web" in page.content()
        # The archive page is cacheable for a short while: a fresh client sees it gone at once.
        archived = httpx.get(f"{server.url}/p/spacewar-daily/{day.isoformat()}").text
        assert "Second story" not in archived and "Found on the web" in archived
        page.close()
        with Session(engine) as s:
            acts = [a.action for a in s.query(AuditEntry).order_by(AuditEntry.id) if a.action.startswith("edition.")]
        assert acts == ["edition.curate.drop", "edition.curate.pin", "edition.curate.add", "edition.rebuild",
                        "edition.takedown"]
    finally:
        pages.stop()
