import pytest
from sqlalchemy import select

from newsletter.publications.load import PublicationsFileError, load_publications
from newsletter.publications.models import Publication

GOOD = """
[[sections]]
slug = "a"
name = "SECTION A"
[[sections]]
slug = "b"
name = "SECTION B"
[[publications]]
slug = "daily"
name = "Daily"
sender_name = "Daily"
sender_address = "news@example.com"
postal_address = "1 Street"
sections = ["b", "a"]
schedule = "30 7 * * 1-5"
timezone = "Europe/Paris"
list_id = "Daily <daily.example.com>"
"""


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
