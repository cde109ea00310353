"""The emails about a subscriber's own account (mail/account_mail.py): the welcome
and the address change, rendered by the one path every email takes, overridable per
publication, with readable contrast and text lines of at most 72 characters."""
from __future__ import annotations

import pytest

from newsletter.render.emails import render_email
from tests.unit.render.rendering import assert_aa

CONTEXTS = {
    "welcome": {"name": "Ann Reader", "sections": ["SUPERPOWERS", "DRONE WAR"], "every_section": False,
                "schedule": "every day at 06:00", "timezone": "America/New_York",
                "preferences_url": "https://news.example.com/preferences/T", "unsubscribe_url": "https://n.example/u/T"},
    "address_change": {"name": "Ann", "confirm_url": "https://news.example.com/address/T",
                       "old_address": "a***@example.org", "valid_for": "7 days"},
    "address_notice": {"name": "", "new_address": "b***@example.net"},
    "address_taken": {},
}


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_each_renders_with_short_lines_and_readable_colours(settings, publication, name):
    email = render_email(name, CONTEXTS[name], publication, settings)
    assert email.subject and publication.name in email.subject
    assert publication.postal_address in email.text
    assert all(len(line) <= 72 for line in email.text.splitlines()), email.text
    if email.html is not None:
        assert_aa(email.html)
    for value in CONTEXTS[name].values():
        if isinstance(value, str) and value.startswith("https://"):
            assert value in email.text and (email.html is None or value in email.html)


def test_the_welcome_says_which_sections(settings, publication):
    every = render_email("welcome", {**CONTEXTS["welcome"], "every_section": True, "name": ""}, publication, settings)
    assert "Welcome." in every.text and "You get every section:" in every.text
    chosen = render_email("welcome", CONTEXTS["welcome"], publication, settings)
    assert "Welcome, Ann Reader." in chosen.text and "- DRONE WAR" in chosen.text


def test_a_publication_can_have_its_own_welcome(settings, publication, tmp_path):
    own = tmp_path / "templates" / publication.slug / "email"
    own.mkdir(parents=True)
    (own / "welcome_subject.txt").write_text("Glad you are here")
    settings.templates_dir = tmp_path / "templates"
    email = render_email("welcome", CONTEXTS["welcome"], publication, settings)
    assert email.subject == "Glad you are here" and "Welcome, Ann Reader." in email.text  # the rest: shipped
