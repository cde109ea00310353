"""The undo after an unsubscribe, and one-click for someone gone, over real HTTP.

Only the subscriber changes their subscription: the List-Unsubscribe URL (in every old
email, forwarded copies, providers' logs) never brings anyone back; the undo is a
short-lived signed token on the page that answered the unsubscribe, posted from this site.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.subscribers.models import Subscriber, SubscriptionStatus
from tests.integration.web.readers import path_of, state, unsubscribe_url
from tests.integration.web.site import deliver_today

PUB = "spacewar-daily"
pytestmark = pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)


def _undo_form(page_text: str) -> tuple[str, dict[str, str]]:
    """The undo form of the page that answered an unsubscribe: its action and fields."""
    form = re.search(r'<form method="post" action="([^"]+/resubscribe)">(.*?)</form>', page_text, re.S)
    assert form, "no undo form on the page"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)))
    return form.group(1), fields


def test_the_list_unsubscribe_link_alone_never_resubscribes(http, engine, web_settings, publication):
    """The List-Unsubscribe URL is in every old email, forwarded copies and providers' logs:
    holding it (or replaying it) must not move someone who left back in."""
    deliver_today(engine, web_settings, publication, [("ann@example.org", "Ann", None)])
    url = unsubscribe_url(web_settings, "ann@example.org")
    assert http.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    left = state(engine, "ann@example.org")
    assert left[0] == SubscriptionStatus.UNSUBSCRIBED
    for headers in ({"Origin": "http://evil.example"}, {}):
        for data in (None, {"undo_token": ""}, {"undo_token": "garbage"}):
            r = http.post(url + "/resubscribe", data=data, headers=headers)
            assert r.status_code == 400, (headers, data, r.text)
            assert "Welcome back" not in r.text and "Nothing was changed" in r.text
    # Pressing Unsubscribe again on the link's page changes nothing, so it offers no undo.
    again = http.post(url, data={"action": "unsubscribe"})
    assert again.status_code == 200 and "/resubscribe" not in again.text and "undo_token" not in again.text
    assert f"/subscribe?publication={PUB}" in again.text and "confirm" in again.text  # the way back
    assert state(engine, "ann@example.org") == left


def test_the_undo_is_signed_short_lived_and_works_once(http, engine, web_settings, publication, server):
    deliver_today(engine, web_settings, publication, [("ann@example.org", "Ann", None)])
    url = unsubscribe_url(web_settings, "ann@example.org")
    page = http.post(url, data={"action": "unsubscribe"})
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "same-origin"  # browsers send Origin
    assert f"/subscribe?publication={PUB}" in page.text  # signing up again is the way back later
    action, fields = _undo_form(page.text)
    assert set(fields) == {"undo_token"} and path_of(url) + "/resubscribe" == action
    # From another site: refused, nothing changed.
    for origin in ("http://evil.example", "null"):
        r = http.post(action, data=fields, headers={"Origin": origin})
        assert r.status_code == 400 and "Welcome back" not in r.text
    assert state(engine, "ann@example.org")[0] == SubscriptionStatus.UNSUBSCRIBED
    back = http.post(action, data=fields, headers={"Origin": server.url})
    assert back.status_code == 200 and "Welcome back" in back.text
    assert state(engine, "ann@example.org")[0] == SubscriptionStatus.ACTIVE
    # Used once: replayed at once, or after a later unsubscribe, it brings nobody back.
    replay = http.post(action, data=fields)
    assert replay.status_code == 400 and "Welcome back" not in replay.text
    second = http.post(url, data={"action": "unsubscribe"})
    assert http.post(action, data=fields).status_code == 400
    assert state(engine, "ann@example.org")[0] == SubscriptionStatus.UNSUBSCRIBED
    # The new undo works, but not once it has expired (the setting is read per request).
    _, second_fields = _undo_form(second.text)
    web_settings.undo_unsubscribe_max_age_seconds = -1
    expired = http.post(action, data=second_fields)
    assert expired.status_code == 400 and "expired" in expired.text
    assert state(engine, "ann@example.org")[0] == SubscriptionStatus.UNSUBSCRIBED
    web_settings.undo_unsubscribe_max_age_seconds = 3600
    assert http.post(action, data=second_fields).status_code == 200
    kinds = [(kind, method) for kind, method, _ in state(engine, "ann@example.org")[1]]
    assert kinds == [("unsubscribe", "link"), ("resubscribe", "link")] * 2


def test_an_undo_is_bound_to_its_subscriber_and_publication(http, engine, web_settings, publication):
    deliver_today(engine, web_settings, publication, [("ann@example.org", "Ann", None),
                                                      ("bob@example.org", "Bob", None)])
    ann, bob = (unsubscribe_url(web_settings, a) for a in ("ann@example.org", "bob@example.org"))
    _, ann_undo = _undo_form(http.post(ann, data={"action": "unsubscribe"}).text)
    http.post(bob, data={"action": "unsubscribe"})
    assert http.post(bob + "/resubscribe", data=ann_undo).status_code == 400  # Ann's undo on Bob's link
    assert state(engine, "bob@example.org")[0] == SubscriptionStatus.UNSUBSCRIBED
    assert state(engine, "ann@example.org")[0] == SubscriptionStatus.UNSUBSCRIBED


def test_one_click_for_someone_who_no_longer_exists_answers_200_and_changes_nothing(
        http, engine, web_settings, publication):
    """RFC 8058: a provider treats anything but 2xx as a failure of its unsubscribe button.
    After an erasure or a change of address (the link key rotates), the old email's one-click
    POST answers as a success would, changes nothing and says nothing about anyone."""
    deliver_today(engine, web_settings, publication, [("gone@example.org", "Gone", None),
                                                      ("moved@example.org", "Moved", None),
                                                      ("here@example.org", "Here", None)])
    gone, moved, here = (unsubscribe_url(web_settings, f"{a}@example.org") for a in ("gone", "moved", "here"))
    with Session(engine) as s:
        s.execute(delete(Subscriber).where(Subscriber.email == "gone@example.org"))
        s.scalar(select(Subscriber).where(Subscriber.email == "moved@example.org")).token_key += 1
        s.commit()
    success = http.post(here, data={"List-Unsubscribe": "One-Click"})
    assert success.status_code == 200
    for url in (gone, moved):
        r = http.post(url, data={"List-Unsubscribe": "One-Click"})
        assert (r.status_code, r.text) == (200, success.text)
        assert http.get(url).status_code == 400  # the browser pages still say the link no longer works
        assert http.post(url, data={"action": "unsubscribe"}).status_code == 400
    assert state(engine, "moved@example.org") == (SubscriptionStatus.ACTIVE, [])
    tampered = gone[:-3] + ("AAA" if not gone.endswith("AAA") else "BBB")
    assert http.post(tampered, data={"List-Unsubscribe": "One-Click"}).status_code == 400


def test_a_strangers_sign_up_does_not_cancel_the_owners_undo(http, engine, web_settings, publication, server):
    deliver_today(engine, web_settings, publication, [("ann@example.org", "Ann", None)])
    url = unsubscribe_url(web_settings, "ann@example.org")
    action, fields = _undo_form(http.post(url, data={"action": "unsubscribe"}).text)
    signed_up = http.post("/api/subscribe", json={"publication": PUB, "email": "ann@example.org"})
    assert signed_up.status_code == 202  # anyone may ask; it records a sign-up, not a change
    back = http.post(action, data=fields, headers={"Origin": server.url})
    assert back.status_code == 200 and "Welcome back" in back.text
    assert state(engine, "ann@example.org")[0] == SubscriptionStatus.ACTIVE
