"""Publications managed by the file or the console: a load skips the console's, the
console refuses the file's until taken over, both judged by the file's one validation;
`publications export` round-trips through `publications load`."""
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import get_engine
from newsletter.errors import Conflict
from newsletter.ingest.models import Feed
from newsletter.publications import editing
from newsletter.publications.file_form import database_form, export_text, publication_entry
from newsletter.publications.load import CONSOLE_SKIPPED, apply_publications_file
from newsletter.publications.models import Publication
from newsletter.schema import migrate
from tests.helpers import WEEKLY

NEW = {"slug": "evening", "name": "Evening Wire", "sender_name": "Evening Wire",
       "sender_address": "evening@spacewar.example.com", "postal_address": "1 Orbit Way",
       "sections": ["drone-war", "superpowers"], "schedule": "0 18 * * *", "timezone": "Europe/Paris",
       "list_id": "Evening Wire <evening.spacewar.example.com>", "cap_per_section": "3",
       "dkim": {"domain": "spacewar.example.com", "selector": "s1", "key_env": "EVENING_KEY"}}


def _uncommented(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


def test_a_console_publication_and_feed_export_and_load_back_the_same(session, publication, settings, tmp_path):
    editing.save_publication(session, dict(NEW), tmp_path)
    editing.save_section(session, "space-law", "SPACE LAW")
    editing.save_feed(session, {"name": "wire", "url": "https://wire.example.com/rss", "section": "space-law",
                                "categories": {"Nuclear": "nuclear-weapons"}, "interval_minutes": "30"})
    session.commit()
    exported = export_text(session)
    assert "publication evening" in exported and "feed wire" in exported  # marked as the console's
    path = tmp_path / "exported.toml"
    path.write_text(exported)
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    migrate(other_url)
    other = get_engine(other_url)
    with Session(other) as s:
        result = apply_publications_file(s, path)
        assert not result.skipped and {p.slug for p in result.loaded} == {"spacewar-daily", "evening"}
        s.commit()
        assert database_form(s) == database_form(session)
        assert _uncommented(export_text(s)) == _uncommented(exported)
        pub = s.scalar(select(Publication).where(Publication.slug == "evening"))
        assert (pub.cap_per_section, pub.dkim_key_env, pub.managed_by) == (3, "EVENING_KEY", "file")


def test_a_load_skips_what_the_console_manages_and_never_deactivates_it(session, publication, settings, tmp_path):
    editing.save_publication(session, dict(NEW), tmp_path)
    pub = session.get(Publication, publication.id)
    assert editing.set_manager(pub, editing.CONSOLE)
    pub.name = "Renamed in the console"
    session.commit()
    path = tmp_path / "p.toml"
    path.write_text(settings.publications_file.read_text())  # has spacewar-daily, not evening
    result = apply_publications_file(session, path)
    assert result.loaded == [] and result.deactivated == []
    assert result.skipped == [f"publication 'spacewar-daily': {CONSOLE_SKIPPED}"]
    assert session.get(Publication, publication.id).name == "Renamed in the console"
    evening = session.scalar(select(Publication).where(Publication.slug == "evening"))
    assert evening.active  # not in the file, but not the file's to deactivate
    editing.set_manager(pub, editing.FILE)  # handed back: the file's entry rules again
    result = apply_publications_file(session, path)
    assert [p.slug for p in result.loaded] == ["spacewar-daily"] and pub.name == "SpaceWar Daily"


def test_the_console_refuses_a_file_publication_until_taken_over(session, publication, tmp_path):
    entry = {**publication_entry(publication), "name": "Changed"}
    with pytest.raises(Conflict, match="managed by the publications file"):
        editing.save_publication(session, entry, tmp_path, publication.slug)
    editing.set_manager(session.get(Publication, publication.id), editing.CONSOLE)
    assert editing.save_publication(session, entry, tmp_path, publication.slug).name == "Changed"


@pytest.mark.parametrize("change, problem", [
    ({"schedule": "0 6,18 * * *"}, "publication 'evening': schedule: '0 6,18 * * *' fires more than once a day"),
    ({"timezone": "Mars/Olympus"}, "publication 'evening': timezone: unknown IANA time zone: 'Mars/Olympus'"),
    ({"sections": ["nowhere"]}, "publication 'evening': unknown sections 'nowhere'"),
    ({"sender_address": "news@other.example.org"}, "dkim.domain 'spacewar.example.com' must be the sender"),
    ({"cap_per_section": "lots"}, "publication 'evening': cap_per_section: Input should be a valid integer"),
    ({"dkim": {"domain": "spacewar.example.com", "selector": "s1"}}, "give exactly one of key_file"),
])
def test_bad_input_is_refused_in_the_file_s_words_and_changes_nothing(session, publication, tmp_path, change,
                                                                       problem):
    with pytest.raises(editing.Problems) as refused:
        editing.save_publication(session, {**NEW, **change}, tmp_path)
    assert any(problem in p for p in refused.value.problems), refused.value.problems
    assert session.scalar(select(Publication).where(Publication.slug == "evening")) is None


def test_a_feed_the_console_manages_is_not_the_file_s_to_stop(session, publication, settings, tmp_path):
    editing.save_feed(session, {"name": "wire", "url": "https://wire.example.com/rss"})
    path = tmp_path / "p.toml"
    path.write_text(settings.publications_file.read_text() + WEEKLY
                    + '\n[[feeds]]\nname = "wire"\nurl = "https://elsewhere.example.com/rss"\n')
    result = apply_publications_file(session, path)
    assert result.feeds_stopped == [] and result.feeds == [] and "feed 'wire'" in result.skipped[0]
    assert session.scalar(select(Feed.url).where(Feed.name == "wire")) == "https://wire.example.com/rss"
