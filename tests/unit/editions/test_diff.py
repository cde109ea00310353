from datetime import date
from types import SimpleNamespace

from newsletter.editions.diff import diff_items, entries, last_sent_edition
from newsletter.editions.models import Edition
from tests.helpers import at


def item(position, section, article_id, headline, url=""):
    return SimpleNamespace(position=position, section_slug=section, article_id=article_id, url=url or headline,
                           headline=headline)


def test_new_gone_moved_and_unchanged():
    before = [item(0, "a", 1, "One"), item(1, "a", 2, "Two"), item(2, "b", 3, "Three"), item(3, "b", 4, "Four")]
    after = [item(0, "a", 2, "Two"), item(1, "a", 1, "One"), item(2, "b", 3, "Three"), item(3, "c", 4, "Four"),
             item(4, "c", 5, "Five")]
    d = diff_items(before, after)
    assert [e.headline for e in d.new] == ["Five"] and d.gone == [] and d.unchanged == 1
    assert [(m.entry.headline, m.was.section, m.was.rank, m.entry.section, m.entry.rank) for m in d.moved] == [
        ("Two", "a", 2, "a", 1), ("One", "a", 1, "a", 2), ("Four", "b", 2, "c", 1)]
    assert d.changed and not diff_items(after, after).changed


def test_history_records_and_deleted_articles_compare_by_url():
    before = [{"position": 0, "section": "a", "article_id": None, "url": "https://x/1", "headline": "Gone"},
              {"position": 1, "section": "a", "article_id": 7, "url": "https://x/7", "headline": "Kept"}]
    after = [item(0, "a", 7, "Kept", "https://x/7"), item(1, "a", None, "Other", "https://x/2")]
    d = diff_items(before, after)
    assert [e.headline for e in d.gone] == ["Gone"] and [e.headline for e in d.new] == ["Other"]
    assert d.unchanged == 1 and [e.key for e in entries(before)] == ["url:https://x/1", "article:7"]


def test_an_edition_is_compared_with_the_one_sent_before_it(session, publication):
    def sent(day):
        ed = Edition(publication_id=publication.id, date=day, status="sent", window_start=at("2026-11-01T00:00:00"),
                     window_end=at("2026-11-01T00:00:00"))
        session.add(ed)
        session.flush()
        return ed

    monday, tuesday = sent(date(2026, 11, 23)), sent(date(2026, 11, 24))
    assert last_sent_edition(session, publication.id).id == tuesday.id
    assert last_sent_edition(session, publication.id, before=date(2026, 11, 24)).id == monday.id
    assert last_sent_edition(session, publication.id, before=date(2026, 11, 23)) is None
