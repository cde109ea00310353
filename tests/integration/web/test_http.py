"""The subscriber web over HTTP against a real uvicorn server."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.subscribers.models import Subscription, SubscriptionStatus, Suppression
from newsletter.tracking.models import Event
from newsletter.tracking.tokens import Tokens
from tests.integration.web.readers import state, unsubscribe_url
from tests.integration.web.site import deliver_today, public_id


def expired_confirm_token(secret: str, subscription_id: int) -> str:
    """A real confirmation token, signed eight days ago (the links work for seven)."""
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class EightDaysAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 8 * 86400

    return URLSafeTimedSerializer(secret, salt="confirm-subscription", signer=EightDaysAgo).dumps([subscription_id, 1])


@pytest.fixture
def delivered(engine, web_settings, publication, server):
    edition_id = deliver_today(engine, web_settings, publication, [
        ("ann@example.org", "Ann Reader", None), ("bob@example.org", "Bob", None),
        ("cara@example.org", "Cara", "drone-war")])
    return edition_id


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_post_unsubscribes_at_once(http, engine, web_settings, delivered, encoding):
    url = unsubscribe_url(web_settings, "ann@example.org")
    if encoding == "urlencoded":
        r = http.post(url, content=b"List-Unsubscribe=One-Click",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        r = http.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert "You are unsubscribed" in r.text
    expected = (SubscriptionStatus.UNSUBSCRIBED, [("unsubscribe", "one-click", delivered)])
    assert state(engine, "ann@example.org") == expected
    assert state(engine, "bob@example.org")[0] == SubscriptionStatus.ACTIVE
    again = http.post(url, content=b"List-Unsubscribe=One-Click",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert again.status_code == 200
    assert len(state(engine, "ann@example.org")[1]) == 1  # repeating records nothing new


def test_get_changes_nothing(http, engine, web_settings, delivered):
    url = unsubscribe_url(web_settings, "ann@example.org")
    for _ in range(3):
        r = http.get(url)
        assert r.status_code == 200
    assert "a***@example.org" in r.text and "ann@example.org" not in r.text
    assert "SpaceWar Daily" in r.text
    assert state(engine, "ann@example.org") == (SubscriptionStatus.ACTIVE, [])


def test_link_unsubscribe_with_undo_and_reason(http, engine, web_settings, delivered):
    url = unsubscribe_url(web_settings, "ann@example.org")
    r = http.post(url, data={"action": "unsubscribe"})
    assert r.status_code == 200 and "resubscribe" in r.text
    token = url.rsplit("/", 1)[1]
    assert http.post(f"/u/{token}/reason", data={"reason": "too-many", "detail": "daily is a lot"}).status_code == 200
    with Session(engine) as s:
        event = s.scalar(select(Event).where(Event.kind == "unsubscribe"))
        assert (event.method, event.reason, event.detail) == ("link", "too-many", "daily is a lot")
    assert http.post(f"/u/{token}/reason", data={"reason": "<script>"}).status_code == 400
    assert http.post(f"/u/{token}/resubscribe").status_code == 400  # the link alone brings nobody back
    assert state(engine, "ann@example.org")[0] == SubscriptionStatus.UNSUBSCRIBED
    undo = re.search(r'name="undo_token" value="([^"]+)"', r.text).group(1)
    r = http.post(f"/u/{token}/resubscribe", data={"undo_token": undo})
    assert r.status_code == 200 and "Welcome back" in r.text
    assert state(engine, "ann@example.org")[0] == SubscriptionStatus.ACTIVE
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 0


def test_unsubscribe_from_everything(http, engine, web_settings, delivered):
    url = unsubscribe_url(web_settings, "bob@example.org")
    assert http.post(url, data={"action": "unsubscribe", "scope": "all"}).status_code == 200
    assert state(engine, "bob@example.org")[0] == SubscriptionStatus.UNSUBSCRIBED


def test_bad_tokens_get_a_clear_400_and_change_nothing(http, engine, web_settings, delivered):
    url = unsubscribe_url(web_settings, "ann@example.org")
    token = url.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    foreign = Tokens("some-other-key").unsubscribe(1, 1, 1, delivered)
    with Session(engine) as s:
        publication_id = s.scalar(select(Subscription.publication_id))
    deleted = Tokens(web_settings.signing_key()).unsubscribe(9999, 1, publication_id, delivered)
    for bad in (tampered, foreign, deleted, "garbage", "x" * 600):
        for method, body in (("get", {}), ("post", {"data": {"List-Unsubscribe": "One-Click"}}),
                             ("post", {"data": {"action": "unsubscribe"}})):
            r = getattr(http, method)(f"/u/{bad}", **body)
            if bad is deleted and body.get("data", {}).get("List-Unsubscribe"):
                assert r.status_code == 200, "RFC 8058: a signed one-click for someone gone is answered 2xx"
                continue
            assert r.status_code == 400, (bad, method)
            assert "This link does not work" in r.text and "Nothing was changed" in r.text
    expired = expired_confirm_token(web_settings.signing_key(), 1)
    for method in ("get", "post"):
        r = getattr(http, method)(f"/confirm/{expired}")
        assert r.status_code == 400 and "expired" in r.text
    assert state(engine, "ann@example.org") == (SubscriptionStatus.ACTIVE, [])


def test_malformed_posts(http, web_settings, delivered):
    url = unsubscribe_url(web_settings, "ann@example.org")
    assert http.post(url, data={"something": "else"}).status_code == 400
    assert http.post(url, content=b"x" * 200_000,
                     headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 413


def test_view_in_browser_has_no_personal_data_without_the_token(http, engine, web_settings, delivered):
    page_url = f"/editions/{public_id(engine, delivered)}"
    page = http.get(page_url)
    assert page.status_code == 200 and "SUPERPOWERS" in page.text
    assert "Ann" not in page.text and "/u/" not in page.text
    token = unsubscribe_url(web_settings, "ann@example.org").rsplit("/", 1)[1]
    personal = http.get(page_url, params={"t": token})
    assert "Good morning, Ann Reader" in personal.text and f"/u/{token}" in personal.text
    assert http.get(page_url, params={"t": "forged"}).status_code == 400
    assert http.get(f"/editions/{delivered}").status_code == 404  # never at its sequential id
