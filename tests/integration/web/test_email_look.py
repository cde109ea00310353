"""The edition email as a reader sees it, in headless Chromium (Debian's, through
Playwright): at 375 and 800 px, in the light and the dark colour scheme (emulated
prefers-color-scheme), with a logo, an accent colour and a lead image. Each screenshot is
compared with the golden PNG under tests/integration/web/golden/ (the README shows them)
within a tolerance: at most 0.5% of the pixels may differ by more than 24 in a channel
(font hinting and anti-aliasing move a few pixels; a layout or colour change moves
thousands). NEWSLETTER_UPDATE_GOLDEN=1 writes the goldens anew; read the images before
committing them.

The same pages give the contrast the browser actually renders: every element with text,
its computed colour against the nearest opaque background, 4.5:1 at least, in both
schemes (tests/unit/render/test_contrast.py checks the same from the CSS alone).
"""
from __future__ import annotations

import io
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw
from sqlalchemy import select

from newsletter.editions.build import build_edition
from newsletter.render.edition import EditionRenderer, Personal, personalise
from newsletter.store.models import Article, Section
from tests.helpers import at
from tests.integration.web.browsers import OUTPUT

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NEWSLETTER_UPDATE_GOLDEN") == "1"
CHANNEL_TOLERANCE = 24
PIXEL_SHARE = 0.005
LOGO = "https://img.spacewar.example.com/logo.png"
LEAD = "https://img.spacewar.example.com/launch.png"
CUT = at("2026-11-26T11:00:00")
ANN = Personal(name="Ann Reader", unsubscribe_url="https://news.example.com/u/UNSUB-TOKEN",
               preferences_url="https://news.example.com/preferences/PREFS-TOKEN")
STORIES = [
    ("superpowers", "Foreign ministers of three Pacific allies meet ahead of Beijing talks",
     "Officials said the talks would focus on maritime security and trade.", "Tokyo (AFP)", True),
    ("superpowers", "Envoy lands in Beijing for the first high-level visit in five years",
     "Both sides voiced guarded hope for a thaw.", "Beijing (AFP)", False),
    ("drone-war", "Drone makers court the army at a trade fair", "", "", False),
    ("nuclear-weapons", "Zürich talks on verification end without a deal",
     "Delegates could not agree on the wording of the final text.", "", False),
]


def png(draw, size) -> bytes:
    image = Image.new("RGB", size, "#ffffff")
    draw(ImageDraw.Draw(image), size)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def logo(d, size):  # a white wordmark-like block on the accent, drawn (no font needed)
    w, h = size
    d.rectangle([0, 0, w, h], fill="#8a1538")
    d.ellipse([8, 8, h - 8, h - 8], outline="#ffffff", width=6)
    for n in range(5):
        d.rectangle([h + 8 + n * 44, 18, h + 40 + n * 44, h - 18], fill="#ffffff")


def launch(d, size):  # a sky, a pad, a rocket
    w, h = size
    for y in range(h):
        d.line([0, y, w, y], fill=(20 + y // 6, 40 + y // 4, 90 + y // 3))
    d.rectangle([0, h - 60, w, h], fill="#3b4550")
    d.polygon([(w // 2, 60), (w // 2 - 30, 160), (w // 2 + 30, 160)], fill="#eef0f3")
    d.rectangle([w // 2 - 30, 160, w // 2 + 30, h - 60], fill="#eef0f3")


IMAGES = {LOGO: png(logo, (360, 72)), LEAD: png(launch, (1200, 675))}


@pytest.fixture
def email_html(session, publication, settings):
    publication.logo_url, publication.logo_width, publication.logo_alt = LOGO, 180, "SpaceWar Daily"
    publication.accent_color = "#8a1538"
    sections = {s.slug: s for s in session.scalars(select(Section))}
    for n, (slug, headline, teaser, dateline, image) in enumerate(STORIES):
        session.add(Article(url=f"https://www.spacewar.example.com/reports/{n + 1}.html", headline=headline,
                            teaser=teaser, section_id=sections[slug].id, source="AFP", dateline=dateline,
                            published_at=CUT - timedelta(minutes=10 * (n + 1)),
                            image_url=LEAD if image else "", image_width=1200 if image else None,
                            image_height=675 if image else None, image_alt="A rocket on its pad at dawn"))
    session.flush()
    edition, _ = build_edition(session, publication, date(2026, 11, 26), now=CUT + timedelta(hours=1))
    rendered = EditionRenderer(edition, publication, settings.templates_dir,
                               "https://news.example.com/editions/PUBLIC-ID").render(None, named=True)
    return personalise(rendered, ANN)[0]


def screenshot(browser, markup: str, width: int, scheme: str):
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page.route("https://img.spacewar.example.com/**",
               lambda route: route.fulfill(body=IMAGES[route.request.url], content_type="image/png"))
    page.set_content(markup, wait_until="load")
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    return page, page.screenshot(full_page=True)


def difference(shot: bytes, golden: Path) -> float:
    """The share of pixels that differ by more than the tolerance in any channel."""
    a, b = Image.open(io.BytesIO(shot)).convert("RGB"), Image.open(golden).convert("RGB")
    if a.size != b.size:
        return 1.0
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > CHANNEL_TOLERANCE else 0)
    return 1 - diff.histogram()[0] / (a.size[0] * a.size[1])


TEXT_COLOURS = """() => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                     if (c.length < 4 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
  return [...document.querySelectorAll('body *')].filter(el => {
      const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      const r = el.getBoundingClientRect();
      return own && r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  }).map(el => [el.textContent.trim().slice(0, 30), rgb(getComputedStyle(el).color).slice(0, 3), bg(el)]);
}"""


def contrast(a, b) -> float:
    def lum(c):
        r, g, bl = ((v / 255) / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c)
        return 0.2126 * r + 0.7152 * g + 0.0722 * bl
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 800])
def test_the_email_matches_its_golden_screenshot(browser, email_html, width, scheme):
    page, shot = screenshot(browser, email_html, width, scheme)
    texts = page.evaluate(TEXT_COLOURS)
    background = page.evaluate("() => getComputedStyle(document.querySelector('.container')).backgroundColor")
    page.close()
    assert background == ("rgb(27, 31, 36)" if scheme == "dark" else "rgb(255, 255, 255)")  # the scheme took
    assert len(texts) > 10
    low = [(t, c, b, round(contrast(c, b), 2)) for t, c, b in texts if contrast(c, b) < 4.5]
    assert not low, f"text under 4.5:1 as Chromium renders it ({scheme}, {width}px): {low}"
    name = f"email-{scheme}-{width}.png"
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    (OUTPUT / "screenshots" / name).write_bytes(shot)
    golden = GOLDEN / name
    if UPDATE or not golden.exists():
        GOLDEN.mkdir(exist_ok=True)
        golden.write_bytes(shot)
        if not UPDATE:
            pytest.fail(f"no golden screenshot yet: wrote {golden}; look at it, commit it, run again")
    share = difference(shot, golden)
    assert share <= PIXEL_SHARE, (f"{name}: {share:.2%} of the pixels differ from the golden screenshot "
                                  f"(see {OUTPUT / 'screenshots' / name})")


def test_the_comparison_sees_a_change(browser, email_html):
    """The tolerance is not blind: another accent colour in the dark scheme fails it."""
    golden = GOLDEN / "email-dark-375.png"
    if not golden.exists():
        pytest.fail("no golden screenshot yet: run the test above first")
    changed = email_html.replace("#d", "#0")  # every dark colour starting #d.. gets darker (the teasers)
    page, shot = screenshot(browser, changed, 375, "dark")
    page.close()
    assert difference(shot, golden) > PIXEL_SHARE
