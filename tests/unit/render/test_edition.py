import re
from datetime import date, timedelta

import pytest
from jinja2 import UndefinedError

from newsletter.editions.build import build_edition
from newsletter.editions.models import EditionItem
from newsletter.errors import ConfigurationError
from newsletter.render.edition import (
    EditionRenderer,
    Personal,
    SectionGroup,
    cut_at_word,
    personalise,
    preheader_for,
)
from newsletter.render.templates import environment
from tests.helpers import add_article, at
from tests.unit.render.rendering import render_for

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
    assert rendered.subject.startswith('Talks <script>alert("x")</script> & "quotes"')


def test_styles_are_inlined_and_media_rules_kept(settings, edition, publication):
    markup = renderer(settings, edition, publication).render().html
    assert 'class="headline" style="font-size:19px;' in markup
    assert "@media only screen and (max-width:480px){.masthead-name{" in markup
    assert ".masthead-name {" not in markup.split("@media")[0]  # plain rules left the style block
    # Only the classes the phone and dark-scheme rules name are kept; the others did their job when inlining.
    assert set(re.findall(r'class="([^"]*)"', markup)) == {
        "masthead-name", "online", "greeting", "section", "headline", "footer",  # phones
        "body", "wrapper", "container", "section-title", "item", "dateline", "teaser", "more"}  # dark


def test_render_runs_once_per_section_set(settings, edition, publication):
    r = renderer(settings, edition, publication)
    r.render(None), r.render(None), r.render(frozenset({"drone-war"})), r.render(frozenset({"drone-war"}))
    r.render(frozenset({"superpowers", "drone-war", "missile-defense"}))  # covers everything: same as all
    assert r.renders == 2
    only = r.render(frozenset({"drone-war"}))
    assert "Drone news" in only.html and "Talks" not in only.html and only.headline_count == 1


def test_personal_values_are_substituted_escaped(settings, edition, publication):
    rendered = renderer(settings, edition, publication).render(named=True)
    markup, text = personalise(rendered, Personal(name='<b>"Bob"</b>',
                                                  unsubscribe_url="https://n.example.com/u/a?x=1&y=2",
                                                  preferences_url="https://n.example.com/p/b"))
    assert "Good morning, &lt;b&gt;&quot;Bob&quot;&lt;/b&gt;." in markup
    assert 'Good morning, <b>"Bob"</b>.' in text
    assert 'href="https://n.example.com/u/a?x=1&amp;y=2"' in markup
    assert "Unsubscribe: https://n.example.com/u/a?x=1&y=2" in text
    assert "XNLX" not in markup and "XNLX" not in text


@pytest.mark.parametrize("name", ["Casey C.", "Casey C. ", "Hey!"])
def test_a_name_ending_a_sentence_gets_no_second_full_stop(settings, edition, publication, name):
    rendered = renderer(settings, edition, publication).render(named=True)
    markup, text = personalise(rendered, Personal(name=name, unsubscribe_url="u", preferences_url="p"))
    assert f"Good morning, {name} Here are" in text and ".." not in text.split("Here are")[0]
    assert f"Good morning, {name} Here are" in markup


def test_the_sent_message_has_one_full_stop_after_a_name_ending_in_one(settings, edition, publication):
    import email
    from email import policy

    from newsletter.delivery.compose import Composer, Recipient
    composed = Composer(settings, edition, publication).compose(
        Recipient(subscriber_id=1, email="c@example.com", name="Casey C.", sections=None, key=1, delivery_id=1),
        at("2026-11-27 06:00"))
    message = email.message_from_bytes(composed.data, policy=policy.SMTP)
    for part in ("plain", "html"):
        body = message.get_body((part,)).get_content()
        assert "Casey C.." not in body and "Good morning, Casey C. Here" in body


def test_undefined_variables_are_errors(settings):
    env = environment(settings.templates_dir)
    with pytest.raises(UndefinedError):
        env.get_template("email/edition_subject.txt").render({})


def test_at_most_two_renderings_per_section_set(settings, edition, publication):
    """The name is the only personal value that changes the wording: a variant with and
    one without, never one per reader."""
    r = renderer(settings, edition, publication)
    for name in ("Ann", "Bob", "", "Chloé", ""):
        markup, text = personalise(r.render(None, named=bool(name)), Personal(name, "u", "p"))
        greeting = f"Good morning, {name}." if name else "Good morning."
        assert f"{greeting} Here are today's headlines." in text
        assert greeting in markup
    assert r.renders == 2


def test_subject_leads_with_the_top_headline_then_the_brand(settings, fixed_edition, publication):
    _, _, subject = render_for(settings, fixed_edition, publication)
    assert subject == "Foreign ministers of three Pacific allies meet ahead of Beijing talks | SpaceWar Daily"
    _, _, only_drones = render_for(settings, fixed_edition, publication, sections=frozenset({"drone-war"}))
    assert only_drones == "Drone makers court the army at a trade fair | SpaceWar Daily"


def test_preheader_is_hidden_the_standard_way_and_ends_on_a_word(settings, fixed_edition, publication):
    markup, _, _ = render_for(settings, fixed_edition, publication)
    block = re.search(r'<div style="([^"]*)">(.*?)</div>', markup, re.S)
    style, content = block.group(1).split(";"), block.group(2)
    for declaration in ("display:none", "max-height:0", "opacity:0", "overflow:hidden", "mso-hide:all"):
        assert declaration in style
    assert not any(d.startswith("color:") for d in style)  # not hidden by colouring it like the background
    text, padding = content.split("&zwnj;", 1)
    assert padding.replace("&zwnj;", "").replace("\xa0", "") == ""
    # The subject has the lead headline; the preview goes on with the other sections' leads,
    # as many whole headlines as fit in 140 characters (the next one, 122 long, does not).
    assert text == "Drone makers court the army at a trade fair \u00b7 Zürich talks on verification end without a deal"


def test_preheader_cuts_on_whole_headlines_or_words():
    def groups(*headlines):
        return [SectionGroup("s", "S", [EditionItem(headline=h, teaser="T") for h in headlines])]

    assert preheader_for(groups("Lead")) == "T"
    assert preheader_for(groups("Lead", "Second one", "Third one"), limit=22) == "Second one \u00b7 Third one"
    assert preheader_for(groups("Lead", "Second one", "Third one"), limit=21) == "Second one"
    assert preheader_for(groups("Lead", "A rather long second headline"), limit=16) == "A rather long\u2026"
    assert cut_at_word("x" * 50, 10) == "x" * 9 + "\u2026"


@pytest.mark.parametrize("greeting", ["{{ personal.name | upper }}", "{{ personal.name | lower }}",
                                      "{{ personal.name | truncate(5) }}", "{{ personal.name[:3] }}",
                                      "{{ personal.name | title }}"])
def test_templates_cannot_transform_personal_values(settings, tmp_path, edition, publication, greeting):
    folder = tmp_path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "edition.txt").write_text(f"Hello {greeting}\n{{{{ personal.unsubscribe_url }}}}\n")
    settings.templates_dir = tmp_path / "templates"
    with pytest.raises(ConfigurationError, match="transforms a personal value"):
        renderer(settings, edition, publication).render(named=True)


def test_personal_values_never_go_into_the_shared_subject(settings, tmp_path, edition, publication):
    folder = tmp_path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "edition_subject.txt").write_text("For {{ personal.name }}: {{ lead_headline }}\n")
    settings.templates_dir = tmp_path / "templates"
    with pytest.raises(ConfigurationError, match="in the subject"):
        renderer(settings, edition, publication).render(named=True)
    assert renderer(settings, edition, publication).render(named=False).subject.startswith("For :")
