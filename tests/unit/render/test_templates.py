"""Template folders: a publication's own, then the operator's, then the package's."""
from __future__ import annotations

import pytest

from newsletter.config import sample_file
from newsletter.errors import ConfigurationError
from newsletter.publications.load import load_publications
from newsletter.render.emails import RenderedEmail, render_email
from newsletter.render.templates import environment
from tests.unit.render.rendering import render_for

WEEKLY = """
[[publications]]
slug = "spacewar-weekly"
name = "SpaceWar Weekly"
sender_name = "SpaceWar Weekly"
sender_address = "weekly@spacewar.example.com"
postal_address = "Space Media Network, 1 Orbit Way, Canberra ACT 2600, Australia"
sections = ["superpowers", "missile-defense", "military-space", "drone-war", "nuclear-weapons"]
schedule = "0 6 * * 1"
list_id = "SpaceWar Weekly <spacewar-weekly.spacewar.example.com>"
"""


@pytest.fixture
def two_publications(session, settings, tmp_path):
    path = tmp_path / "publications.toml"
    path.write_text(sample_file("publications.toml").read_text() + WEEKLY)
    daily, weekly = sorted(load_publications(session, path), key=lambda p: p.slug)
    session.commit()
    return daily, weekly


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_a_publication_gets_its_own_templates_and_the_others_do_not(settings, session, tmp_path,
                                                                   two_publications, fixed_edition):
    daily, weekly = two_publications
    settings.templates_dir = tmp_path / "templates"
    own = settings.templates_dir / "spacewar-weekly" / "email"
    write(own, "edition_subject.txt", "This week: {{ lead_headline }}\n")
    write(own, "edition.txt", "{% if personal.name %}Hello {{ personal.name }},{% else %}Hello,{% endif %}"
                              " here is the week.\n{{ personal.unsubscribe_url }}\n")
    # The same edition's items, rendered for each publication.
    markup, text, subject = render_for(settings, fixed_edition, weekly)
    assert subject == "This week: Foreign ministers of three Pacific allies meet ahead of Beijing talks"
    assert text == "Hello Ann Reader, here is the week.\nhttps://news.example.com/u/UNSUB-TOKEN\n"
    assert "Good morning, Ann Reader." in markup  # no HTML of its own: the package's
    markup, text, subject = render_for(settings, fixed_edition, daily)
    assert subject.endswith("| SpaceWar Daily") and text.startswith("SpaceWar Daily\n")


def test_the_operators_folder_comes_between(settings, tmp_path, two_publications, fixed_edition):
    daily, weekly = two_publications
    settings.templates_dir = tmp_path / "templates"
    write(settings.templates_dir / "email", "edition_subject.txt", "House: {{ lead_headline }}\n")
    write(settings.templates_dir / "spacewar-weekly" / "email", "edition_subject.txt", "Weekly\n")
    assert render_for(settings, fixed_edition, daily)[2].startswith("House: Foreign ministers")
    assert render_for(settings, fixed_edition, weekly)[2] == "Weekly"


def test_a_slug_that_is_not_a_plain_name_is_never_a_folder(tmp_path):
    write(tmp_path / "email", "x_subject.txt", "house\n")
    write(tmp_path.parent / "email", "x_subject.txt", "outside\n")
    env = environment(tmp_path, "../")
    assert env.get_template("email/x_subject.txt").render() == "house\n"


def test_render_email_renders_subject_text_and_inlined_html(settings, publication):
    email = render_email("confirm", {"confirm_url": "https://news.example.com/confirm/T"}, publication, settings)
    assert email.subject == "Confirm your subscription to SpaceWar Daily"
    assert "https://news.example.com/confirm/T" in email.text
    assert 'href="https://news.example.com/confirm/T"' in email.html and "<style>" not in email.html
    assert 'class="' not in email.html  # no phone rules in this one: no class is used


def test_an_email_without_html_is_text_only_and_a_missing_part_is_named(settings, publication, tmp_path):
    settings.templates_dir = tmp_path
    write(tmp_path / "email", "alert.txt", "{{ publication.name }}: {{ what }}\n")
    write(tmp_path / "email", "alert_subject.txt", "Alert\n  for {{ publication.name }}\n")
    assert render_email("alert", {"what": "empty edition"}, publication, settings) == RenderedEmail(
        subject="Alert for SpaceWar Daily", html=None, text="SpaceWar Daily: empty edition\n")
    with pytest.raises(ConfigurationError, match="email/nothing_subject.txt is missing"):
        render_email("nothing", {}, publication, settings)
