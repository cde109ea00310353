"""Subscribers look after themselves in the preference centre, over HTTP: their name, their
address (changed only by the new address's link, the old one told, nothing leaked about
the new address and nobody merged), other publications (no double opt-in, no
suppression lifted but their own unsubscribe), everything held about them, and their
own erasure; every form with the centre's CSRF token and from this site only. And the
welcome email after a confirmed sign-up, never after an admin's add or an import."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.links import Links
from newsletter.people.held import person_data
from newsletter.publications.models import Publication
from newsletter.subscribers import lifecycle
from newsletter.subscribers.address_change import request_change
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.subscribers.service import add_subscriber
from newsletter.tracking.models import Event, EventKind
from tests.helpers import find_everywhere
from tests.integration.web.console_helpers import load, publications_file, sign_in
from tests.integration.web.readers import (
    act,
    confirm_link,
    confirmations,
    csrf,
    outbox_messages,
    prefs,
    unsubscribe_url,
)
from tests.integration.web.site import deliver_today
from tests.integration.web.staff_helpers import client, fingerprint, make_staff

both = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def readers(engine, web_settings, publication, server, tmp_path):
    deliver_today(engine, web_settings, publication, [
        ("ann@example.org", "Ann Reader", None), ("bob@example.org", "Bob", None),
        ("hugo@example.org", "Hugo", None), ("hal@example.org", "Hal", None)])
    load(engine, publications_file(tmp_path, weekly=True))  # a second publication to add
    return web_settings


def mails(settings, to: str, subject: str = "") -> list:
    return [m for m in outbox_messages(settings) if m["To"].addresses[0].addr_spec == to and
            m["Subject"].startswith(subject)]


def subscriber(engine, address) -> Subscriber | None:
    with Session(engine) as s:
        return s.scalar(select(Subscriber).where(Subscriber.email == address))


def events(engine, subscriber_id) -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        return [(e.kind, e.method, e.detail) for e in s.scalars(
            select(Event).where(Event.subscriber_id == subscriber_id).order_by(Event.id))]


def test_name_and_forms_only_from_this_page(http, engine, readers):
    path = prefs(engine, readers, "ann@example.org")
    ann = subscriber(engine, "ann@example.org")
    before = fingerprint(engine)
    assert http.post(path, data={"action": "name", "name": "Mallory"}).status_code == 400  # no token
    page_token = csrf(http.get(path))
    assert http.post(path, data={"action": "name", "name": "Mallory", "csrf": page_token},
                     headers={"Origin": "https://evil.example"}).status_code == 400
    assert http.post(path, data={"action": "name", "name": "Mallory", "csrf": page_token},
                     headers={"Origin": "null"}).status_code == 400
    bob_token = csrf(http.get(prefs(engine, readers, "bob@example.org")))
    assert http.post(path, data={"action": "name", "name": "Mallory", "csrf": bob_token}).status_code == 400
    for action in ("address", "add", "download", "erase"):
        assert http.post(path, data={"action": action, "email": "x@example.org"}).status_code == 400
    assert http.post(path + "/erase", data={"confirm": "yes"}).status_code == 400
    bad = act(http, path, action="name", name="Ann\r\nBcc: everyone@example.org")
    assert bad.status_code == 400 and 'id="problem"' in bad.text
    assert fingerprint(engine) == before

    done = act(http, path, action="name", name="  Ann  Newname ")
    assert done.status_code == 200 and "Your name is saved" in done.text and 'value="Ann  Newname"' in done.text
    assert subscriber(engine, "ann@example.org").name == "Ann  Newname"
    assert events(engine, ann.id)[-1] == ("profile", "preference-centre", "name")


def test_address_changes_only_by_the_new_address_link(http, engine, readers):
    path = prefs(engine, readers, "ann@example.org")
    unsubscribe = unsubscribe_url(readers, "ann@example.org")
    ann = subscriber(engine, "ann@example.org")
    answer = act(http, path, action="address", email="Ann.New@Example.org")
    assert answer.status_code == 200 and "a link is on its way" in answer.text and "a***@example.org" in answer.text
    assert subscriber(engine, "ann@example.org").id == ann.id  # nothing changed yet
    (notice,) = mails(readers, "ann@example.org", "A change of address")
    assert "a***@example.org" in notice.get_body(("plain",)).get_content()
    assert "ann.new@example.org" not in notice.as_string()
    (ask,) = mails(readers, "ann.new@example.org", "Confirm your new address")
    assert ask["List-Id"] and ask["Auto-Submitted"] == "auto-generated" and not ask["List-Unsubscribe"]
    link = re.search(r"https?://\S+(/address/\S+)", ask.get_body(("plain",)).get_content()).group(1)
    assert link in ask.get_body(("html",)).get_content()

    page = http.get(link)  # opening it changes nothing: mail scanners open links
    assert page.status_code == 200 and "ann.new@example.org" in page.text
    assert subscriber(engine, "ann.new@example.org") is None
    assert http.post(link, headers={"Origin": "https://evil.example"}).status_code == 400
    done = http.post(link)
    assert done.status_code == 200 and "Your address is changed" in done.text
    moved = subscriber(engine, "ann.new@example.org")
    assert moved.id == ann.id and moved.token_key != ann.token_key and subscriber(engine, "ann@example.org") is None
    assert events(engine, ann.id)[-1] == ("profile", "preference-centre", "email:ann@example.org")
    new_prefs = re.search(r'href="(/preferences/[^"]+)"', done.text).group(1)
    assert http.get(new_prefs).status_code == 200
    for old in (path, unsubscribe, link):  # the old links are dead; the address link works once
        assert http.get(old).status_code == 400, old
    assert http.post(link).status_code == 400


def test_an_address_change_leaks_nothing_and_merges_nobody(http, engine, readers):
    with Session(engine) as s:  # hal bounced: suppressed for every publication
        hal = s.scalar(select(Subscriber).where(Subscriber.email == "hal@example.org"))
        pub = s.scalar(select(Publication).where(Publication.slug == "spacewar-daily"))
        lifecycle.end_for_address(s, hal.id, hal.email, pub.id, None, EventKind.BOUNCE, "550 5.1.1")
        s.commit()
    path = prefs(engine, readers, "bob@example.org")
    answers = []
    for target in ("hank@example.org", "hugo@example.org", "hal@example.org"):  # free, taken, suppressed
        answer = act(http, path, action="address", email=target)
        answers.append((answer.status_code, re.sub(r'name="csrf" value="[^"]+"', "", answer.text)))
    assert len(set(answers)) == 1 and answers[0][0] == 200  # the same page whatever the address
    assert len(mails(readers, "bob@example.org", "A change of address")) == 3  # the old address told each time
    assert len(mails(readers, "hank@example.org", "Confirm your new address")) == 1
    (taken,) = mails(readers, "hugo@example.org", "About a change of address")
    assert "nothing was changed" in taken.get_body(("plain",)).get_content() and "/address/" not in taken.as_string()
    assert [m for m in mails(readers, "hal@example.org") if m["Precedence"] != "bulk"] == []  # never mailed
    four = act(http, path, action="address", email="hank@example.org")
    assert four.status_code == 429  # three an hour

    # The link to the free address, used after that address became someone else's: refused, nobody merged.
    (ask,) = mails(readers, "hank@example.org", "Confirm your new address")
    link = re.search(r"https?://\S+(/address/\S+)", ask.get_body(("plain",)).get_content()).group(1)
    assert http.post(link).status_code == 400  # a newer request (hal) replaced it
    with Session(engine) as s:
        bob = s.scalar(select(Subscriber).where(Subscriber.email == "bob@example.org"))
        change = request_change(s, bob, "hank@example.org")
        add_subscriber(s, s.scalar(select(Publication).where(Publication.slug == "spacewar-daily")),
                       "hank@example.org", "Hank")  # someone's own, not an unconfirmed sign-up's
        s.commit()
        token = Links.from_settings(readers).address_change_path(change.id, bob.token_key, change.nonce)
    before = fingerprint(engine)
    refused = http.post(token)
    assert refused.status_code == 409 and "nothing was changed" in refused.text
    assert fingerprint(engine) == before
    assert subscriber(engine, "bob@example.org").name == "Bob"


def test_add_and_drop_publications_without_lifting_suppressions(http, engine, readers):
    with Session(engine) as s:
        daily, weekly = (s.scalar(select(Publication.id).where(Publication.slug == slug))
                         for slug in ("spacewar-daily", "spacewar-weekly"))
    path = prefs(engine, readers, "ann@example.org")
    page = http.get(path)
    assert "SpaceWar Weekly" in page.text and f'name="add-{weekly}"' in page.text
    added = act(http, path, action="add", **{f"add-{weekly}": "on", f"addsec-{weekly}": "drone-war"})
    assert added.status_code == 200 and "Added" in added.text and f'name="add-{weekly}"' not in added.text
    ann = subscriber(engine, "ann@example.org")
    with Session(engine) as s:
        sub = s.scalar(select(Subscription).where(Subscription.subscriber_id == ann.id,
                                                  Subscription.publication_id == weekly))
        assert (sub.status, sub.sections) == ("active", ["drone-war"])
    assert events(engine, ann.id)[-1][:2] == ("subscribe", "preference-centre")
    assert confirmations(readers, "ann@example.org") == []  # their own act from their own link: no opt-in
    dropped = act(http, path, action="save", **{f"pub-{daily}": "on", f"sec-{daily}": ["superpowers"],
                                                f"sec-{weekly}": ["drone-war"]})  # weekly unticked: dropped
    assert dropped.status_code == 200
    with Session(engine) as s:
        assert dict(s.execute(select(Subscription.publication_id, Subscription.status)
                              .where(Subscription.subscriber_id == ann.id)).all()) == {daily: "active",
                                                                                        weekly: "unsubscribed"}

    # A hard bounce is not theirs to lift: adding another publication is refused, nothing added.
    with Session(engine) as s:
        hal = s.scalar(select(Subscriber).where(Subscriber.email == "hal@example.org"))
        lifecycle.end_for_address(s, hal.id, hal.email, daily, None, EventKind.BOUNCE, "550 5.1.1")
        s.commit()
    hal_path = prefs(engine, readers, "hal@example.org")
    before = fingerprint(engine)
    refused = act(http, hal_path, action="add", **{f"add-{weekly}": "on"})
    assert refused.status_code == 409 and "cannot be added" in refused.text
    assert fingerprint(engine) == before
    assert act(http, path, action="add", **{"add-999": "on"}).status_code == 400


@both
def test_download_and_delete_oneself(http, engine, readers):
    path = prefs(engine, readers, "ann@example.org")
    unsubscribe = unsubscribe_url(readers, "ann@example.org")
    assert http.post("/api/subscribe", json={"publication": "spacewar-weekly", "email": "ann@example.org"}
                     ).status_code == 202
    (confirmation,) = confirmations(readers, "ann@example.org")
    confirm = confirm_link(confirmation).split("127.0.0.1", 1)[1].split("/", 1)[1]
    download = act(http, path, action="download")
    assert download.headers["content-disposition"].startswith("attachment;")
    with Session(engine) as s:
        held = person_data(s, s.scalar(select(Subscriber).where(Subscriber.email == "ann@example.org")))
    assert download.json() == json.loads(json.dumps(held))
    assert download.json()["subscriber"]["email"] == "ann@example.org" and download.json()["deliveries"]

    ask = act(http, path, action="erase")  # a confirmation step first
    assert ask.status_code == 200 and "Delete everything about you?" in ask.text
    token = csrf(ask)
    unticked = http.post(path + "/erase", data={"csrf": token})
    assert unticked.status_code == 400 and subscriber(engine, "ann@example.org") is not None
    assert http.post(path + "/erase", data={"csrf": token, "confirm": "yes"},
                     headers={"Origin": "https://evil.example"}).status_code == 400
    gone = http.post(path + "/erase", data={"csrf": token, "confirm": "yes"})
    assert gone.status_code == 200 and "Everything about you is deleted" in gone.text
    for link in (path, unsubscribe, "/" + confirm):
        assert http.get(link).status_code == 400, link
    # RFC 8058: the provider's unsubscribe button still succeeds (2xx), and finds nothing to change.
    assert http.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert find_everywhere(engine, "ann@example.org") == []
    assert not any(b"ann@example.org" in p.read_bytes().lower() for p in readers.effective_outbox_dir.glob("*.eml"))


def test_a_welcome_after_confirming_and_never_after_an_admin_add(http, engine, web_settings, publication, server):
    r = http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "new@example.org",
                                          "name": "New Reader", "sections": ["drone-war", "superpowers"]})
    assert r.status_code == 202
    assert mails(web_settings, "new@example.org", "Welcome") == []  # not before confirming
    (msg,) = confirmations(web_settings, "new@example.org")
    path = "/" + confirm_link(msg).split("127.0.0.1", 1)[1].split("/", 1)[1]
    assert http.post(path).status_code == 200
    (welcome,) = mails(web_settings, "new@example.org", "Welcome to SpaceWar Daily")
    for header in ("From", "Reply-To", "List-Id", "Auto-Submitted", "Message-ID", "Date"):
        assert welcome[header] == msg[header] or header in ("Message-ID", "Date"), header
    assert welcome["List-Id"] == msg["List-Id"] and not welcome["Precedence"]
    # Like an edition's: the unsubscribe URL with RFC 8058's one-click (and the mailto: address).
    assert welcome["List-Unsubscribe"].strip().startswith(f"<{server.url}/u/")
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = welcome.get_body(("plain",)).get_content()
    assert "Welcome, New Reader." in text and "- SUPERPOWERS" in text and "- DRONE WAR" in text
    assert "MISSILE DEFENSE" not in text
    prefs_path = re.search(r"https?://\S+(/preferences/\S+)", text).group(1)
    assert http.get(prefs_path).status_code == 200
    assert all(len(line) <= 72 or "://" in line for line in text.splitlines())

    staff = make_staff(engine, web_settings)
    admin, csrf_token = sign_in(server, staff.email("admin"))
    assert admin.post("/admin/subscribers", data={"csrf": csrf_token, "publication": "spacewar-daily",
                                                  "email": "added@example.org"}).status_code == 303
    api = client(server, staff.tokens["admin"])
    assert api.post("/api/v1/subscribers", json={"publication": "spacewar-daily", "email": "api@example.org"}
                    ).status_code == 201
    assert api.post("/api/v1/imports?publication=spacewar-daily", content=b"email\nimported@example.org\n",
                    headers={"Content-Type": "text/csv"}).status_code == 202
    assert subscriber(engine, "imported@example.org") is not None
    for address in ("added@example.org", "api@example.org", "imported@example.org"):
        assert mails(web_settings, address) == [], address
