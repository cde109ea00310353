import pytest
from sqlalchemy import select

from newsletter.publications.load import PublicationsFileError, load_publications
from newsletter.publications.models import Publication
from tests.helpers import GOOD_PUBLICATIONS as GOOD


def test_load_and_reload(session, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    load_publications(session, path)
    load_publications(session, path)  # idempotent
    path.write_text(GOOD.replace('["b", "a"]', '["a"]'))
    (pub,) = load_publications(session, path)
    assert [s.slug for s in pub.ordered_sections()] == ["a"]


@pytest.mark.parametrize("change", [
    ('schedule = "30 7 * * 1-5"', 'schedule = "every morning"'),
    ('timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"'),
    ('sections = ["b", "a"]', 'sections = ["b", "zzz"]'),
    ('list_id = "Daily <daily.example.com>"', 'list_id = "no brackets"'),
    ('sender_address = "news@example.com"', 'sender_address = "nobody"'),
    ('name = "Daily"', 'name = "Daily"\ncolour = "red"'),
])
def test_a_bad_file_changes_nothing(session, tmp_path, change):
    path = tmp_path / "p.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(PublicationsFileError):
        load_publications(session, path)
    assert session.scalars(select(Publication)).all() == []


SECOND = GOOD[GOOD.index("[[publications]]"):].replace('slug = "daily"', 'slug = "weekly"').replace(
    "daily.example.com", "weekly.example.com")


def _problems(session, tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(PublicationsFileError) as exc:
        load_publications(session, path)
    assert session.scalars(select(Publication)).all() == []  # all or nothing
    message = str(exc.value)
    assert "pydantic" not in message and "http" not in message and "publications.0" not in message
    return exc.value.problems


def test_a_duplicate_slug_is_refused(session, tmp_path):
    problems = _problems(session, tmp_path, GOOD + GOOD[GOOD.index("[[publications]]"):])
    assert problems == ["publication 'daily' is declared more than once (slugs must be unique)"]


@pytest.mark.parametrize(("cron", "words"), [
    ("0 7 30 2 *", "never fires"),
    ("0 7 31 4 *", "never fires"),
    ("*/5 * * * *", "fires more than once a day"),
    ("0 6,18 * * *", "fires more than once a day"),
])
def test_a_schedule_that_never_fires_or_fires_more_than_daily_is_refused(session, tmp_path, cron, words):
    (problem,) = _problems(session, tmp_path, GOOD.replace('"30 7 * * 1-5"', f'"{cron}"'))
    assert problem.startswith("publication 'daily': schedule: ") and words in problem


def test_every_problem_is_reported_one_line_each_by_slug(session, tmp_path):
    text = (GOOD.replace('schedule = "30 7 * * 1-5"', 'schedule = "*/5 * * * *"')
                .replace('timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"')
            + SECOND.replace('sender_address = "news@example.com"', 'sender_address = "nobody"')
                    .replace('["b", "a"]', '["b", "b", "zzz"]')
                    .replace('postal_address = "1 Street"', 'postal_address = "1 Street"\ncolour = "red"')
            + '[[publications]]\nname = "No slug"\n')
    problems = _problems(session, tmp_path, text)
    assert len(problems) == 2 + 4 + 6  # the slug-less entry misses six required settings, its slug one of them
    assert problems[0].startswith("publication 'daily': schedule: '*/5 * * * *' fires more than once a day")
    assert problems[1].startswith("publication 'daily': timezone: unknown IANA time zone")
    weekly = [p for p in problems if p.startswith("publication 'weekly'")]
    assert "publication 'weekly': colour: not a known setting" in weekly
    assert any(p.startswith("publication 'weekly': sender_address: ") for p in weekly)
    assert "publication 'weekly': unknown sections 'zzz'" in weekly
    assert "publication 'weekly': sections listed twice: 'b'" in weekly
    assert "publication 'No slug': slug: missing (required)" in problems
    assert all("\n" not in p for p in problems)


def test_one_problem_is_one_line(session, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(GOOD.replace('slug = "daily"', 'slug = "Daily Digest"'))
    with pytest.raises(PublicationsFileError) as exc:
        load_publications(session, path)
    assert str(exc.value) == (f"{path}: publication 'Daily Digest': slug: must be lower-case letters, digits "
                              "and '-', at most 64")


def test_a_publication_removed_from_the_file_is_deactivated_and_kept(session, tmp_path):
    from datetime import date

    from newsletter.editions.models import Edition
    from newsletter.publications.load import apply_publications_file
    from newsletter.subscribers.service import add_subscriber
    from tests.helpers import at
    path = tmp_path / "p.toml"
    path.write_text(GOOD + SECOND)
    daily, weekly = load_publications(session, path)
    add_subscriber(session, weekly, "ann@example.org", "Ann", None)
    session.add(Edition(publication_id=weekly.id, date=date(2026, 11, 30), window_start=at("2026-11-23T06:00:00"),
                        window_end=at("2026-11-30T06:00:00")))
    session.flush()
    path.write_text(GOOD)
    result = apply_publications_file(session, path)
    assert [p.slug for p in result.loaded] == ["daily"] and [p.slug for p in result.deactivated] == ["weekly"]
    assert not weekly.active and daily.active
    assert session.scalars(select(Edition)).one().publication_id == weekly.id
    assert len(weekly.sections) == 2
    assert apply_publications_file(session, path).deactivated == []  # said once
    path.write_text(GOOD + SECOND)
    assert weekly in apply_publications_file(session, path).loaded and weekly.active
