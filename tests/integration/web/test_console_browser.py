"""The console's main journeys in headless Chromium (Debian's, through Playwright) at
phone and desktop widths: sign in, find a subscriber and see their history, disable and
enable them, import a CSV with a bad row and read the report, erase someone after the
confirmation step, preview an edition as a subscriber (the HTML part in its sandboxed
frame beside the text part), pause and resume a send. And the preference centre's own
forms, which a browser posts with its Origin. Nothing overflows at 360 px; screenshots
are kept under test-output/screenshots/."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.delivery.models import Delivery
from newsletter.links import Links
from newsletter.subscribers.models import Subscriber
from tests.integration.web.browsers import fits, signed_in
from tests.integration.web.console_helpers import load, make_world, publications_file

WIDTHS = pytest.mark.parametrize("width", [360, 1280])
BAD_CSV = "email,name,sections,timezone\nok1@example.org,OK One,,\nnot-an-address,Bad,,\nok2@example.org,,,\n"


@pytest.fixture
def world(engine, web_settings, publication, server):
    w = make_world(engine, web_settings, publication, server)
    yield w
    w.close()


def status_of(engine, address: str) -> str | None:
    with Session(engine) as s:
        return s.scalar(select(Subscriber.status).where(Subscriber.email == address))


@WIDTHS
def test_find_a_subscriber_see_history_disable_enable_and_erase(browser, engine, server, world, width):
    page = signed_in(browser, server, world, width)
    page.click("nav >> text=Dashboard")
    page.wait_for_selector("svg.chart")
    fits(page, "dashboard", width)
    page.click("nav >> text=Subscribers")
    page.fill("#q", "ann")
    page.click("#search")
    page.wait_for_selector("#total >> text=1 found")
    fits(page, "search", width)
    page.click("#results >> text=ann@example.org")
    page.wait_for_selector("#subscriber")
    history = page.inner_text("#deliveries")
    assert f"#{world.ids['e1']}" in history and "sent" in history
    assert "subscribe" in page.inner_text("#events")
    fits(page, "subscriber", width)

    page.click("#disable")
    page.wait_for_selector("#done >> text=Disabled")
    assert page.inner_text("#status") == "disabled" and status_of(engine, "ann@example.org") == "disabled"
    assert "disable" in page.inner_text("#events")
    page.click("#enable")
    page.wait_for_selector("#done >> text=Enabled")
    assert status_of(engine, "ann@example.org") == "active"

    page.goto(f"{server.url}/admin/subscribers/{world.ids['bob']}")
    page.click("#erase")
    page.wait_for_selector("#erase-now")
    fits(page, "erase-confirm", width)
    page.fill("#confirm", "someone@else.example")
    page.click("#erase-now")
    page.wait_for_selector("#problem")  # the wrong address: nothing erased
    assert status_of(engine, "bob@example.org") == "active"
    page.fill("#confirm", "bob@example.org")
    page.click("#erase-now")
    page.wait_for_selector("#done >> text=Erased")
    assert status_of(engine, "bob@example.org") is None
    fits(page, "erased", width)
    page.close()


@WIDTHS
def test_import_a_csv_with_a_bad_row_and_read_the_report(browser, engine, server, world, width,
                                                         tmp_path):
    page = signed_in(browser, server, world, width)
    page.click("nav >> text=Imports")
    csv = tmp_path / "list.csv"
    csv.write_text(BAD_CSV)
    page.set_input_files("#file", str(csv))
    fits(page, "import-form", width)
    page.click("#upload")
    page.wait_for_selector("#errors", timeout=30_000)  # the page refreshes itself until the job is over
    assert page.inner_text("#job-status") == "invalid"
    assert "nothing imported" in page.inner_text("#job-message")
    report = page.inner_text("#errors")
    assert "3" in report and "must have an @-sign" in report and "not-an-address" not in report  # lines, not addresses
    assert status_of(engine, "ok1@example.org") is None  # all or nothing
    fits(page, "import-report", width)

    page.click("text=All imports")
    page.set_input_files("#file", str(csv))
    page.check("#skip_invalid")
    page.click("#upload")
    page.wait_for_selector("#job-status >> text=done", timeout=30_000)
    assert page.inner_text("#added") == "2" and page.inner_text("#invalid") == "1"
    assert status_of(engine, "ok2@example.org") == "active"
    page.close()


@WIDTHS
def test_preview_as_a_subscriber_then_pause_and_resume_a_send(browser, engine, server, world, width):
    page = signed_in(browser, server, world, width, "operator")
    page.click(f"#editions >> text=#{world.ids['e1']}")
    page.click("#preview")
    page.fill("#as", "cara@example.org")  # unsubscribed: she gets nothing
    page.click("#show")
    page.wait_for_selector("#problem")
    page.go_back()
    page.fill("#as", "ann@example.org")
    page.click("#show")
    page.wait_for_selector("#text-part")
    assert "ann@example.org" in page.inner_text("#what")
    assert "Good morning, Ann Reader." in page.inner_text("#text-part")
    frame = page.frame_locator("#html-part")
    assert "Good morning, Ann Reader." in frame.locator("body").inner_text()
    assert page.inner_text("#subject")
    fits(page, "preview", width)

    # The dashboard follows a send without being reloaded: a message goes out, the bar moves.
    e2 = world.ids["e2"]
    page.goto(f"{server.url}/admin")
    label = page.locator(f"#label-{e2}")
    assert label.inner_text().startswith("0 of 0")
    page.evaluate("window.stillHere = true")
    with Session(engine) as s:
        s.add(Delivery(edition_id=e2, subscriber_id=world.ids["ann"], status="sent", sent_at=utcnow()))
        s.commit()
    page.locator(f"#label-{e2}:has-text('1 of 1 (100%), 1 sent')").wait_for(timeout=15_000)  # polls every 3 s
    assert page.evaluate("window.stillHere") is True  # moved in place, not by a reload

    page.goto(f"{server.url}/admin/editions/{e2}")
    page.wait_for_selector("#pause")
    fits(page, "edition-sending", width)
    page.click("#pause")
    page.wait_for_selector("#done >> text=Paused")
    assert page.inner_text("#edition-status") == "paused"
    page.click("#resume")
    page.wait_for_selector("#done >> text=Resumed")
    # Sending again: the page follows the send and shows it finished (nobody is left to send to).
    page.wait_for_selector("#edition-status >> text=sent", timeout=30_000)
    fits(page, "edition-sent", width)
    page.close()


@WIDTHS
def test_the_preference_centre_in_a_browser(browser, engine, server, world, web_settings, tmp_path,
                                            width):
    """Its forms check the Origin: the page must let the browser send it (Referrer-Policy)."""
    load(engine, publications_file(tmp_path, weekly=True))
    with Session(engine) as s:
        ann = s.scalar(select(Subscriber).where(Subscriber.email == "ann@example.org"))
        path = Links.from_settings(web_settings).preferences_path(ann.id, ann.token_key)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(server.url + path)
    fits(page, "preferences", width)
    page.fill("#name", "Ann From The Browser")
    page.click("#save-name")
    page.wait_for_selector("#saved")
    page.check("text=SpaceWar Weekly")
    page.click("#add")
    page.wait_for_selector("#saved >> text=Added")
    page.fill("#email", "ann.elsewhere@example.org")
    page.click("#change-address")
    page.wait_for_selector("#saved >> text=a link is on its way")
    assert "a***@example.org" in page.inner_text("#pending")
    page.click("#erase")
    page.wait_for_selector("#erase-now")
    fits(page, "preferences-erase", width)
    page.click("text=No, keep my subscriptions")
    page.wait_for_selector("#save-name")
    with Session(engine) as s:
        ann = s.get(Subscriber, ann.id)
        assert ann.name == "Ann From The Browser" and len(ann.subscriptions) == 2
    page.close()
