from datetime import date, timedelta

import pytest
from jinja2 import UndefinedError

from newsletter.editions.build import build_edition
from newsletter.render.edition import EditionRenderer, Personal, personalise
from newsletter.render.templates import environment
from tests.conftest import at
from tests.helpers import add_article

CUT = at("2026-11-26T11:00:00")


@pytest.fixture
def edition(session, publication):
    add_article(session, "superpowers", 'Talks <script>alert("x")</script> & "quotes"', CUT - timedelta(hours=1))
    add_article(session, "drone-war", "Drone news", CUT - timedelta(hours=2))
    ed, _ = build_edition(session, publication, date(2026, 11, 26), now=CUT + timedelta(hours=1))
    return ed


def renderer(settings, edition, publication):
    return EditionRenderer(edition, publication, settings.templates_dir, "https://news.example.com/editions/1")


def test_html_in_headlines_is_escaped(settings, edition, publication):
    rendered = renderer(settings, edition, publication).render()
    assert "<script>" not in rendered.html
    # premailer (lxml) re-serialises: quotes need no escaping in text, < and & stay escaped
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; "quotes"' in rendered.html
    assert 'Talks <script>alert("x")</script> & "quotes"' in rendered.text
    assert rendered.subject.endswith('Talks <script>alert("x")</script> & "quotes"')


def test_styles_are_inlined_and_media_rules_kept(settings, edition, publication):
    markup = renderer(settings, edition, publication).render().html
    assert 'class="headline" style="' in markup
    assert "@media only screen and (max-width: 480px)" in markup
    assert ".masthead-name {" not in markup.split("@media")[0]  # plain rules left the style block


def test_render_runs_once_per_section_set(settings, edition, publication):
    r = renderer(settings, edition, publication)
    r.render(None), r.render(None), r.render(frozenset({"drone-war"})), r.render(frozenset({"drone-war"}))
    r.render(frozenset({"superpowers", "drone-war", "missile-defense"}))  # covers everything: same as all
    assert r.renders == 2
    only = r.render(frozenset({"drone-war"}))
    assert "Drone news" in only.html and "Talks" not in only.html and only.headline_count == 1


def test_personal_values_are_substituted_escaped(settings, edition, publication):
    rendered = renderer(settings, edition, publication).render()
    markup, text = personalise(rendered, Personal(greeting='Hi <b>"Bob"</b>',
                                                  unsubscribe_url="https://n.example.com/u/a?x=1&y=2",
                                                  preferences_url="https://n.example.com/p/b"))
    assert "Hi &lt;b&gt;&#34;Bob&#34;&lt;/b&gt;" in markup or "Hi &lt;b&gt;&quot;Bob&quot;&lt;/b&gt;" in markup
    assert 'href="https://n.example.com/u/a?x=1&amp;y=2"' in markup
    assert "Unsubscribe: https://n.example.com/u/a?x=1&y=2" in text
    assert "XNLX" not in markup and "XNLX" not in text


def test_undefined_variables_are_errors(settings):
    env = environment(settings.templates_dir)
    with pytest.raises(UndefinedError):
        env.get_template("email/subject.txt").render({})
