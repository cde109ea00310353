"""A reader's own order of sections, and the variants it makes."""
from datetime import date, timedelta

import pytest

from newsletter.editions.build import build_edition
from newsletter.errors import InvalidInput
from newsletter.render.edition import EditionRenderer, reading_order, variant_key
from newsletter.subscribers.order import moved, normalised, sender_orders
from tests.helpers import add_article, at

KNOWN = ["a", "b", "c", "d"]
CUT = at("2026-11-26T11:00:00")


def test_the_order_is_stored_whole_or_not_at_all():
    assert normalised(None, KNOWN) is None
    assert normalised(["a", "b", "c", "d"], KNOWN) is None  # the publication's own
    assert normalised(["c"], KNOWN) == ["c", "a", "b", "d"]
    assert normalised(["x", "c", "c"], KNOWN) == ["c", "a", "b", "d"]  # unknown and repeated left out


def test_moves_up_and_down():
    assert moved(None, KNOWN, "c", -1) == ["a", "c", "b", "d"]
    assert moved(["a", "c", "b", "d"], KNOWN, "c", -1) == ["c", "a", "b", "d"]
    assert moved(["c", "a", "b", "d"], KNOWN, "c", -1) == ["c", "a", "b", "d"]  # already first
    assert moved(["b", "a", "c", "d"], KNOWN, "b", 1) is None  # back to the publication's
    with pytest.raises(InvalidInput):
        moved(None, KNOWN, "zz", 1)


def test_the_click_order_reaches_the_sender_only_when_asked_for_and_agreed_to():
    assert sender_orders(["b", "a"], ["c"], True, CUT) == (("b", "a"), ("c",))
    assert sender_orders(None, ["c"], False, CUT) == (None, None)
    assert sender_orders(None, ["c"], True, None) == (None, None)


@pytest.fixture
def edition(session, publication):
    for n, slug in enumerate(["superpowers", "drone-war", "nuclear-weapons"]):
        add_article(session, slug, f"{slug} story", CUT - timedelta(hours=n + 1))
    ed, _ = build_edition(session, publication, date(2026, 11, 26), now=CUT + timedelta(hours=1))
    return ed


def test_variants_are_ordered_section_sets(edition):
    built = ("superpowers", "drone-war", "nuclear-weapons")
    assert variant_key(edition, None) is None
    assert variant_key(edition, built) is None
    assert variant_key(edition, frozenset(built)) is None  # a set keeps the built order
    assert variant_key(edition, ("nuclear-weapons", "superpowers", "drone-war")) == \
        ("nuclear-weapons", "superpowers", "drone-war")
    # The order names sections the edition lacks: they drop out; the reader's choice filters.
    assert reading_order(edition, None, ["missile-defense", "nuclear-weapons"]) == \
        ("nuclear-weapons", "superpowers", "drone-war")
    assert reading_order(edition, ["drone-war", "superpowers"], ["drone-war"]) == ("drone-war", "superpowers")


def test_one_rendering_per_ordered_set(settings, edition, publication):
    r = EditionRenderer(edition, publication, settings.templates_dir, "https://n.example.com/e/1")
    first = r.render(("nuclear-weapons", "superpowers", "drone-war"))
    r.render(("nuclear-weapons", "superpowers", "drone-war", "missile-defense"))  # same in this edition
    r.render(None), r.render(("superpowers", "drone-war", "nuclear-weapons"))  # both the built order
    assert r.renders == 2
    titles = [t for t in ("NUCLEAR WEAPONS", "SUPERPOWERS", "DRONE WAR")]
    at_ = [first.html.index(f">{t}</h2>") for t in titles]
    assert at_ == sorted(at_)
