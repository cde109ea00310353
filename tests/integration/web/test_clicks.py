"""Counted links over HTTP, from the links of messages delivered for real: a click lands
on its headline's URL and counts once (edition, section, headline); nothing leads
outside the edition; a simulated link scanner's requests are counted apart; a reader's
history only with their consent, gone when they take it back; the reader's own order of
sections set with the preference centre's buttons (plain form posts: no JavaScript)
reaches the next email."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.build import build_edition, window_for
from newsletter.editions.models import EditionItem
from newsletter.jobs import InlineDispatcher
from newsletter.publications.schedule import local_date
from newsletter.render.click_links import stamp_of
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.click_models import ClickCount, ReaderClick
from newsletter.tracking.tokens import Tokens
from newsletter.transport.backends import OutboxBackend
from tests.helpers import add_article
from tests.integration.web.readers import outbox_messages

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile Safari/604.1"
SECTIONS = ["superpowers", "drone-war", "missile-defense", "nuclear-weapons"]


def deliver(engine, settings, publication, readers, consent=(), day_offset=0, before_send=None):
    """Articles, readers (email, name, sections), consent to a click history for some,
    the edition built and delivered to the outbox; returns the edition id."""
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        now = utcnow()
        day = local_date(pub.timezone, now)
        end = window_for(s, pub, day, now)[1]
        for n, slug in enumerate(SECTIONS):
            add_article(s, slug, f"{slug.replace('-', ' ').title()} headline", end - timedelta(hours=n + 1),
                        url=f"https://www.spacewar.example.com/{slug}/story.html")
        for email, name, sections in readers:
            sub = add_subscriber(s, pub, email, name, sections)
            if email in consent:
                sub.click_history_since = now
                sub.most_clicked_first = True
        if before_send:
            before_send(s, pub)
        edition, _ = build_edition(s, pub, day, now)
        s.commit()
    InlineDispatcher(settings, OutboxBackend(settings.effective_outbox_dir)).run_edition(edition.id)
    return edition.id


def html_of(settings, address):
    for msg in outbox_messages(settings):
        if msg["To"].addresses[0].addr_spec == address and msg.get_body(("html",)):
            return msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()
    raise AssertionError(f"no message for {address}")


def counted_links(markup: str) -> list[str]:
    return re.findall(r'href="(https?://[^"]+/r/[^"]+)"', markup)


def counts(engine, edition_id) -> dict[tuple[int, str, str], int]:
    with Session(engine) as s:
        return {(c.position, c.section_slug, c.kind): c.count
                for c in s.scalars(select(ClickCount).where(ClickCount.edition_id == edition_id))}


@pytest.fixture
def counting(publication, web_settings, server):
    publication.click_stats = True
    publication.click_history = True
    publication.most_clicked_first = True
    return publication


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_a_click_counts_once_and_lands_on_the_headline(engine, web_settings, counting, http):
    web_settings.click_scanner_seconds = 0  # the reader clicks at once: no early rule in this test
    edition_id = deliver(engine, web_settings, counting, [("ann@example.org", "Ann", None)])
    markup, text = html_of(web_settings, "ann@example.org")
    links = counted_links(markup)
    assert links and all("www.spacewar.example.com" not in link for link in links)
    assert "https://www.spacewar.example.com/drone-war/story.html" not in markup  # every headline goes through /r/
    assert f"Read more: {links[0]}" in text.replace("\n", " ") or links[0] in text
    with Session(engine) as s:
        drone = s.scalar(select(EditionItem).where(EditionItem.edition_id == edition_id,
                                                   EditionItem.section_slug == "drone-war"))
    link = next(u for u in links if Tokens(web_settings.signing_key()).read_click(
        path_of(u).split("/")[2]).position == drone.position)
    response = http.get(path_of(link), headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert response.headers["location"] == "https://www.spacewar.example.com/drone-war/story.html"
    assert counts(engine, edition_id) == {(drone.position, "drone-war", "reader"): 1}
    with Session(engine) as s:  # aggregates only: nobody is named anywhere
        assert s.scalar(select(func.count()).select_from(ReaderClick)) == 0


def test_nothing_leads_outside_the_edition(engine, web_settings, counting, http):
    edition_id = deliver(engine, web_settings, counting, [("ann@example.org", "Ann", None)])
    link = path_of(counted_links(html_of(web_settings, "ann@example.org")[0])[0])
    tokens = Tokens(web_settings.signing_key())
    claim = tokens.read_click(link.split("/")[2])
    # A URL of one's own, in the query: ignored; the link still leads to its headline.
    sent_on = http.get(link + "?url=https://evil.example.net/", headers={"User-Agent": BROWSER})
    assert sent_on.status_code == 302 and "evil" not in sent_on.headers["location"]
    # A signed link to a position the edition does not have, or to an edition that does not exist: no.
    for forged in (tokens.click(edition_id, 999), tokens.click(edition_id + 1000, claim.position)):
        response = http.get(f"/r/{forged}", headers={"User-Agent": BROWSER})
        assert response.status_code == 404 and "location" not in response.headers
    # An altered token: refused as every altered link is.
    altered = link.split("/")[2][:-2] + ("AA" if not link.split("/")[2].endswith("AA") else "BB")
    assert http.get(f"/r/{altered}", headers={"User-Agent": BROWSER}).status_code == 400
    # A message part that does not verify: the link still leads on (counted without its timing).
    assert http.get(f"/r/{link.split('/')[2]}/not-a-token", headers={"User-Agent": BROWSER}).status_code == 302


def test_a_simulated_scanner_is_counted_as_scanner(engine, web_settings, counting, http):
    """What a mail security gateway does to a message within seconds of delivery: a HEAD
    of each link, a prefetch, its own User-Agent, and a browser-like GET at once."""
    assert web_settings.click_scanner_seconds == 60
    edition_id = deliver(engine, web_settings, counting, [("ann@example.org", "Ann", None)])
    link = path_of(counted_links(html_of(web_settings, "ann@example.org")[0])[0])
    position = Tokens(web_settings.signing_key()).read_click(link.split("/")[2]).position
    requests = [("HEAD", {"User-Agent": BROWSER}), ("GET", {"User-Agent": BROWSER, "Sec-Purpose": "prefetch"}),
                ("GET", {"User-Agent": "Mozilla/5.0 (compatible; Mimecast URL Protect)"}), ("GET", {}),
                ("GET", {"User-Agent": BROWSER})]  # a browser's UA, but seconds after the send: early
    for method, headers in requests:
        headers = headers if "User-Agent" in headers else {"User-Agent": ""}
        response = http.request(method, link, headers=headers)
        assert response.status_code == 302  # a scanner is sent on like anyone
    found = {kind: n for (pos, _, kind), n in counts(engine, edition_id).items() if pos == position}
    assert found == {"head": 1, "prefetch": 1, "agent": 2, "early": 1}
    assert "reader" not in found
    # The same link a while after the send, from a browser: a reader.
    tokens = Tokens(web_settings.signing_key())
    later = tokens.click_message(edition_id, stamp_of(utcnow() - timedelta(minutes=5)))
    assert http.get(f"/r/{link.split('/')[2]}/{later}", headers={"User-Agent": BROWSER}).status_code == 302
    assert counts(engine, edition_id)[(position, counts_section(engine, edition_id, position), "reader")] == 1


def counts_section(engine, edition_id, position) -> str:
    with Session(engine) as s:
        return s.scalar(select(EditionItem.section_slug).where(EditionItem.edition_id == edition_id,
                                                               EditionItem.position == position))


def test_a_history_only_with_consent_and_gone_when_taken_back(engine, web_settings, counting, http):
    web_settings.click_scanner_seconds = 0
    edition_id = deliver(engine, web_settings, counting, [("ann@example.org", "Ann", None),
                                                          ("bob@example.org", "Bob", None)],
                         consent={"ann@example.org"})
    ann_links = counted_links(html_of(web_settings, "ann@example.org")[0])
    bob_links = counted_links(html_of(web_settings, "bob@example.org")[0])
    # Bob's message part names nobody; Ann's names her (she agreed).
    tokens = Tokens(web_settings.signing_key())
    assert tokens.read_click_message(path_of(bob_links[0]).split("/")[3]).subscriber_id is None
    assert tokens.read_click_message(path_of(ann_links[0]).split("/")[3]).subscriber_id is not None
    drone = next(u for u in ann_links if counts_section(
        engine, edition_id, tokens.read_click(path_of(u).split("/")[2]).position) == "drone-war")
    for url in (drone, drone, bob_links[0]):
        http.get(path_of(url), headers={"User-Agent": BROWSER})
    with Session(engine) as s:
        kept = s.scalars(select(ReaderClick)).all()
        ann = s.scalar(select(Subscriber).where(Subscriber.email == "ann@example.org"))
        assert [(c.subscriber_id, c.section_slug) for c in kept] == [(ann.id, "drone-war")] * 2
        sub = s.scalar(select(Subscription).where(Subscription.subscriber_id == ann.id))
        assert sub.click_order == ["drone-war"]
        prefs = Tokens(web_settings.signing_key()).preferences(ann.id, ann.token_key)
        pid = sub.publication_id
    page = http.get(f"/preferences/{prefs}")
    assert f'id="history-{pid}" checked' in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = http.post(f"/preferences/{prefs}", data={"csrf": csrf, "action": "clicks", "publication": str(pid)},
                       headers={"Origin": web_settings.web_base_url})
    assert answer.status_code == 200 and "what we had is deleted" in answer.text
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ReaderClick)) == 0
        sub = s.scalar(select(Subscription).where(Subscription.publication_id == pid,
                                                  Subscription.subscriber_id == ann.id))
        assert sub.click_history_since is None and sub.click_order is None
    # Her old email's link still works, and is now anyone's click.
    http.get(path_of(drone), headers={"User-Agent": BROWSER})
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ReaderClick)) == 0


def test_the_readers_own_order_with_buttons_and_the_email_follows(engine, web_settings, publication, http, server):
    with Session(engine, expire_on_commit=False) as s:
        sub = add_subscriber(s, s.merge(publication), "ann@example.org", "Ann")
        s.commit()
        ann, pid = sub.subscriber, sub.publication_id
    prefs = Tokens(web_settings.signing_key()).preferences(ann.id, ann.token_key)
    page = http.get(f"/preferences/{prefs}").text
    assert "<script" not in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    origin = {"Origin": web_settings.web_base_url}
    for move in ("nuclear-weapons:up", "nuclear-weapons:up", "nuclear-weapons:up", "nuclear-weapons:up",
                 "drone-war:up", "drone-war:up"):
        answer = http.post(f"/preferences/{prefs}", data={"csrf": csrf, "move": f"{pid}:{move}"}, headers=origin)
        assert answer.status_code == 200 and "Your order is saved" in answer.text
    with Session(engine) as s:
        sub = s.scalar(select(Subscription).where(Subscription.subscriber_id == ann.id))
        assert sub.section_order == ["nuclear-weapons", "superpowers", "drone-war", "missile-defense",
                                     "military-space"]
    bad = http.post(f"/preferences/{prefs}", data={"csrf": csrf, "move": f"{pid}:no-such-section:up"},
                    headers=origin)
    assert bad.status_code == 400
    deliver(engine, web_settings, publication, [("bob@example.org", "Bob", None)])
    titles = re.findall(r'<h2 class="section-title"[^>]*>([^<]+)</h2>', html_of(web_settings, "ann@example.org")[0])
    assert titles == ["NUCLEAR WEAPONS", "SUPERPOWERS", "DRONE WAR", "MISSILE DEFENSE"]
    others = re.findall(r'<h2 class="section-title"[^>]*>([^<]+)</h2>', html_of(web_settings, "bob@example.org")[0])
    assert others == ["SUPERPOWERS", "MISSILE DEFENSE", "DRONE WAR", "NUCLEAR WEAPONS"]
