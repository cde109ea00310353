"""End to end in headless Chromium (Debian's package, driven by Playwright through its
executable path): the unsubscribe link from a delivered message, every page at phone
and desktop widths (the email with a 200-character unbreakable name and headline),
and the email's clean-up after inlining compared pixel by pixel with premailer's
plain output. Screenshots are kept under test-output/screenshots/."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.build import window_for
from newsletter.editions.models import Edition
from newsletter.links import Links
from newsletter.publications.models import Publication
from newsletter.publications.schedule import local_date
from newsletter.render.edition import EditionRenderer, Personal
from newsletter.render.inline import inline_css
from newsletter.render.personal import personalise
from newsletter.subscribers.models import SubscriptionStatus
from tests.helpers import add_article
from tests.integration.web.browsers import CHROMIUM, OUTPUT, overflow, shoot  # noqa: F401 - ARGS for others
from tests.integration.web.readers import outbox_messages, state, unsubscribe_url
from tests.integration.web.site import deliver_today, public_id


def cut_off(page) -> list[str]:
    """Elements that reach past the right edge of the viewport or whose content overflows
    them: content a reader cannot see (overflow() misses what a clipping box hides)."""
    return page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => {
        const r = e.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) return false;  // not displayed (the preheader)
        const inline = getComputedStyle(e).display === 'inline';
        return r.right > window.innerWidth + 0.5 || (!inline && e.scrollWidth > e.clientWidth + 1);
    }).map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 40))""")


LONG_WORD = "Supercalifragilistic" * 10  # 200 characters and no place to break them


@pytest.fixture
def delivered(engine, web_settings, publication, server):
    with Session(engine) as s:
        pub = s.merge(publication)
        now = utcnow()
        end = window_for(s, pub, local_date(pub.timezone, now), now)[1]
        add_article(s, "superpowers", f"Talks on {LONG_WORD}", end - timedelta(minutes=30),
                    teaser=f"Delegates could not agree on the word {LONG_WORD} in the final text.")
        s.commit()
    return deliver_today(engine, web_settings, publication, [
        ("ann@example.org", "Ann Reader", None), ("chloe@example.org", "Chloé Moreau-Lindqvist", None),
        ("long@example.org", LONG_WORD, None)])


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
    digest = next(m for m in outbox_messages(web_settings)
                  if m["Precedence"] == "bulk" and m["To"].addresses[0].addr_spec == "long@example.org")
    email_html = digest.get_body(("html",)).get_content()
    assert f"Good morning, {LONG_WORD}." in email_html
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
        if name == "email":
            assert cut_off(page) == [], f"content cut off at {width}px"
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_clean_up_after_inlining_changes_no_pixel(browser, engine, web_settings, delivered, width):
    """The same edition, inlined by premailer alone (as before) and with the lossless
    clean-up (unused classes, white space in styles, indentation): identical screenshots."""
    with Session(engine) as s:
        edition = s.get(Edition, delivered)
        pub = s.get(Publication, edition.publication_id)
        renderer = EditionRenderer(edition, pub, web_settings.templates_dir,
                                   Links.from_settings(web_settings).edition(edition.public_id))
        raw = renderer.env.get_template("email/edition.html").render(renderer.context(None, named=True))
    personal = Personal("Chloé Moreau-Lindqvist", "https://news.example.com/u/T", "https://news.example.com/p/T")
    before, _ = personalise(inline_css(raw, clean_up=False), "", personal)
    after, _ = personalise(inline_css(raw), "", personal)
    assert len(after) < len(before) * 0.97  # less than before the dark scheme: its rules keep most classes
    page = browser.new_page(viewport={"width": width, "height": 900})
    shots = []
    for name, markup in (("before", before), ("after", after)):
        page.set_content(markup)
        shots.append(shoot(page, f"email-{name}-clean-up-{width}"))
    page.close()
    assert shots[0] == shots[1], f"the clean-up changed the rendering at {width}px (see {OUTPUT / 'screenshots'})"
