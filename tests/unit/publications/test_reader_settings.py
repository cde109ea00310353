"""The look and the readers' switches in the publications file: every problem reported."""
import pytest

from newsletter.publications.colours import AA, DARK_PAGE, LIGHT_PAGE, contrast, dark_variant
from newsletter.publications.load import PublicationsFileError, load_publications
from newsletter.publications.spec import read_publications_file
from tests.helpers import WEEKLY


def write(tmp_path, extra: str):
    from newsletter.config import sample_file
    text = sample_file("publications.toml").read_text() + WEEKLY + extra
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def problems(tmp_path, extra: str) -> list[str]:
    with pytest.raises(PublicationsFileError) as exc:
        read_publications_file(write(tmp_path, extra))
    return exc.value.problems


def test_the_look_and_switches_load(tmp_path, session):
    path = write(tmp_path, '''logo = { url = "https://img.example.com/w.png", width = 180, alt = "SpaceWar Weekly" }
accent_color = "#1A56DB"
archive = false
click_stats = true
click_history = true
most_clicked_first = true
open_pixel = true
''')
    weekly = {p.slug: p for p in load_publications(session, path)}["spacewar-weekly"]
    assert (weekly.logo_url, weekly.logo_width, weekly.logo_alt) == ("https://img.example.com/w.png", 180,
                                                                     "SpaceWar Weekly")
    assert weekly.accent_color == "#1a56db" and weekly.archive is False
    assert weekly.click_stats and weekly.click_history and weekly.most_clicked_first and weekly.open_pixel
    daily = {p.slug: p for p in load_publications(session, path)}["spacewar-daily"]
    assert (daily.logo_url, daily.accent_color, daily.archive, daily.click_stats) == ("", "", True, False)


def test_mistakes_are_reported_each(tmp_path):
    found = problems(tmp_path, '''logo = { url = "http://img.example.com/w.png", width = 5000, alt = "" }
accent_color = "#ffee00"
''')
    text = "\n".join(found)
    assert "logo.url: must be an https:// URL" in text
    assert "logo.width" in text and "logo.alt" in text
    assert "accent_color #ffee00 has a contrast of 1.2" in text and "a darker shade such as #" in text
    assert all(p.startswith("publication 'spacewar-weekly'") for p in found)
    assert "click_history needs click_stats = true" in "\n".join(problems(tmp_path, "click_history = true\n"))
    assert "most_clicked_first needs click_history" in "\n".join(problems(
        tmp_path, "click_stats = true\nmost_clicked_first = true\n"))


@pytest.mark.parametrize("value", ["red", "#abc", "#12345g", "b31b1b"])
def test_an_accent_colour_is_written_rrggbb(tmp_path, value):
    assert "must be a colour written #rrggbb" in "\n".join(problems(tmp_path, f'accent_color = "{value}"\n'))


@pytest.mark.parametrize("accent", ["#b31b1b", "#1a56db", "#006c4f", "#5b2a86", "#000000", "#767676"])
def test_the_dark_variant_passes_on_the_dark_page_and_keeps_the_hue(accent):
    assert contrast(accent, LIGHT_PAGE) >= AA  # what the load accepts
    dark = dark_variant(accent)
    assert contrast(dark, DARK_PAGE) >= AA
    if accent not in ("#000000", "#767676"):  # a hue to keep: the strongest channel stays the strongest
        channels = [int(accent[i:i + 2], 16) for i in (1, 3, 5)]
        lighter = [int(dark[i:i + 2], 16) for i in (1, 3, 5)]
        assert channels.index(max(channels)) == lighter.index(max(lighter))
