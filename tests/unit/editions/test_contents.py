"""The editors' changes applied on top of the selection (editions/contents.py): one rule,
replayed in order, whatever the rebuild did to the selection."""
from __future__ import annotations

from datetime import UTC, datetime

from newsletter.editions.contents import ADDED, apply, unmatched
from newsletter.editions.models import Edition, EditionEdit, EditionItem, EditKind

T = datetime(2026, 11, 26, tzinfo=UTC)


def item(position, section, article_id, headline=None):
    return EditionItem(position=position, section_slug=section, section_name=section.upper(), article_id=article_id,
                       url=f"https://x.example.com/{article_id}", headline=headline or f"story {article_id}",
                       teaser=f"teaser {article_id}", published_at=T)


def selection():
    return [item(0, "a", 1), item(1, "a", 2), item(2, "a", 3), item(3, "b", 4), item(4, "b", 5)]


def change(n, kind, key="", **kw):
    return EditionEdit(id=n, kind=kind, item_key=key, **kw)


def shape(items):
    return [(i.section_slug, i.headline) for i in items]


def test_no_change_reads_as_selected():
    assert shape(apply(selection(), [])) == [("a", "story 1"), ("a", "story 2"), ("a", "story 3"),
                                             ("b", "story 4"), ("b", "story 5")]


def test_drop_pin_move_edit_in_order():
    edits = [change(1, EditKind.DROP, "article:2"),
             change(2, EditKind.PIN, "article:5", scope="section"),
             change(3, EditKind.MOVE, "article:1", section_slug="b", section_name="B", rank=2),
             change(4, EditKind.EDIT, "article:3", headline="Better headline", teaser="New teaser")]
    got = apply(selection(), edits)
    assert shape(got) == [("a", "Better headline"), ("b", "story 5"), ("b", "story 1"), ("b", "story 4")]
    assert got[0].teaser == "New teaser" and got[0].edited and got[1].pinned == "section"
    assert got[2].section_name == "B" and got[2].position == 0  # an item keeps its own position (click links)


def test_pin_as_lead_of_the_edition_brings_its_section_first():
    got = apply(selection(), [change(1, EditKind.PIN, "article:5", scope="edition")])
    assert shape(got)[:3] == [("b", "story 5"), ("b", "story 4"), ("a", "story 1")]
    again = apply(selection(), [change(1, EditKind.PIN, "article:5", scope="edition"),
                                change(2, EditKind.PIN, "article:3", scope="edition")])
    assert shape(again)[0] == ("a", "story 3") and [i.pinned for i in again if i.pinned] == ["edition", "section"]


def test_added_stories_join_their_section_and_a_new_section_comes_after():
    edits = [change(7, EditKind.ADD, "url:https://y.example.com/p", section_slug="b", section_name="B",
                    url="https://y.example.com/p", headline="From the web"),
             change(8, EditKind.ADD, "article:9", section_slug="c", section_name="C", article_id=9,
                    url="https://x.example.com/9", headline="Other section"),
             change(9, EditKind.ADD, "article:4", section_slug="a", section_name="A", article_id=4,
                    url="https://x.example.com/4", headline="Already there")]
    got = apply(selection(), edits)
    assert shape(got)[3:] == [("b", "story 4"), ("b", "story 5"), ("b", "From the web"), ("c", "Other section")]
    assert got[5].position == ADDED + 7 and got[5].added and got[6].article_id == 9


def test_changes_about_stories_the_selection_lost_do_nothing_and_are_listed():
    edition = Edition(items=[item(0, "a", 1)], edits=[change(1, EditKind.DROP, "article:2"),
                                                      change(2, EditKind.EDIT, "article:1", headline="Kept")])
    assert shape(apply(edition.items, edition.edits)) == [("a", "Kept")]
    assert [e.id for e in unmatched(edition)] == [1]


def test_a_takedown_removes_the_story():
    assert "story 4" not in [i.headline for i in apply(selection(), [change(1, EditKind.TAKEDOWN, "article:4")])]


def test_a_story_added_in_a_new_section_leaves_the_lead_first():
    got = apply(selection(), [change(1, EditKind.PIN, "article:5", scope="edition"),
                              change(2, EditKind.ADD, "article:9", section_slug="c", section_name="C", article_id=9,
                                     url="https://x.example.com/9", headline="New section")],
                section_order=["a", "c", "b"])
    assert [i.section_slug for i in got] == ["b", "b", "a", "a", "a", "c"]
    alone = apply(selection(), [change(2, EditKind.ADD, "article:9", section_slug="c", section_name="C",
                                       article_id=9, url="u", headline="x")], ["a", "c", "b"])
    assert [i.section_slug for i in alone] == ["a", "a", "a", "c", "b", "b"]
