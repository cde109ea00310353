"""Sign-up with double opt-in, and the preference centre, over HTTP."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.editions.build import build_edition
from newsletter.editions.models import Edition
from newsletter.jobs import InlineDispatcher
from newsletter.publications.models import Publication
from newsletter.subscribers.models import Subscriber, Subscription, SubscriptionStatus
from newsletter.tracking.models import Event
from newsletter.transport.backends import OutboxBackend
from tests.helpers import add_article
from tests.integration.web.readers import confirm_link, confirmations, outbox_messages, prefs_path, state
from tests.integration.web.site import deliver_today


def test_signup_confirm_flow_through_the_outbox(http, engine, web_settings, publication):
    r = http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "New.Reader@Example.org",
                                          "name": "New Reader", "sections": ["drone-war"]})
    assert r.status_code == 202
    assert state(engine, "new.reader@example.org")[0] == SubscriptionStatus.PENDING
    (msg,) = confirmations(web_settings, "new.reader@example.org")
    assert msg["List-Id"] and msg["Auto-Submitted"] == "auto-generated" and len(msg.get_all("Subject")) == 1
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    link = confirm_link(msg)
    path = link.split("127.0.0.1", 1)[1].split("/", 1)[1]
    assert http.get("/" + path).status_code == 200
    # opening the link alone confirms nothing
    assert state(engine, "new.reader@example.org")[0] == SubscriptionStatus.PENDING
    r = http.post("/" + path)
    assert r.status_code == 200 and "You are subscribed" in r.text
    assert state(engine, "new.reader@example.org")[0] == SubscriptionStatus.ACTIVE
    with Session(engine) as s:
        assert s.scalar(select(Subscription.sections)) == ["drone-war"]


def test_same_answer_for_new_pending_and_active(http, engine, web_settings, publication):
    deliver_today(engine, web_settings, publication, [("active@example.org", "A", None)])
    answers = []
    for address in ("fresh@example.org", "fresh@example.org", "active@example.org"):
        r = http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": address})
        answers.append((r.status_code, r.json()))
        f = http.post("/subscribe", data={"publication": "spacewar-daily", "email": address})
        answers.append((f.status_code, f.text))
    assert len({str(a) for a in answers[0::2]}) == 1
    assert len({str(a) for a in answers[1::2]}) == 1
    assert confirmations(web_settings, "active@example.org") == []  # active: nothing to confirm
    assert state(engine, "active@example.org")[0] == SubscriptionStatus.ACTIVE


def test_rate_limits(http, engine, web_settings, publication):
    body = {"publication": "spacewar-daily", "email": "victim@example.org"}
    codes = [http.post("/api/subscribe", json=body).status_code for _ in range(6)]
    assert codes == [202] * 6
    assert len(confirmations(web_settings, "victim@example.org")) == 3  # per-address cap: no flood
    more = [http.post("/api/subscribe", json={**body, "email": f"x{i}@example.org"}).status_code for i in range(6)]
    assert more[-2:] == [429, 429]  # per-client cap: 10 in 10 minutes


def test_honeypot_answers_the_same_and_does_nothing(http, engine, web_settings, publication):
    r = http.post("/api/subscribe", json={"publication": "spacewar-daily", "email": "bot@example.org",
                                          "website": "http://spam.example"})
    assert r.status_code == 202
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_bad_signup_input(http, publication):
    cases = [
        (b"{not json", 400), (b'{"publication": "spacewar-daily"}', 400),
        (b'{"publication": "nope", "email": "a@example.org"}', 400),
        (b'{"publication": "spacewar-daily", "email": "not an address"}', 400),
        (b'{"publication": "spacewar-daily", "email": "a@example.org", "sections": ["gardening"]}', 400),
        (b'{"publication": "spacewar-daily", "email": "a@example.org", "name": "Eve\\r\\nBcc: x@example.org"}', 400),
        (b'{"publication": "spacewar-daily", "email": "a@example.org", "extra": 1}', 400),
    ]
    for body, code in cases:
        r = http.post("/api/subscribe", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == code, body
        assert r.json()["status"] == "error" and r.json()["message"]
    big = b'{"publication": "spacewar-daily", "email": "' + b"a" * 100_000 + b'@example.org"}'
    assert http.post("/api/subscribe", content=big, headers={"Content-Type": "application/json"}).status_code == 413
    form = http.post("/subscribe", data={"publication": "spacewar-daily", "email": "bad"})
    assert form.status_code == 400 and "invalid email address" in form.text


def test_preferences_change_the_next_edition(http, engine, web_settings, publication, server):
    edition_id = deliver_today(engine, web_settings, publication, [("ann@example.org", "Ann", None)])
    path = prefs_path(web_settings, "ann@example.org")
    page = http.get(path)
    assert page.status_code == 200 and "a***@example.org" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    with Session(engine) as s:
        pid = s.scalar(select(Publication.id))
    form = {"csrf": csrf, "action": "save", f"pub-{pid}": "on", f"sec-{pid}": ["missile-defense"]}
    # CSRF: no token, a token for someone else, another site's Origin: refused, nothing changes
    assert http.post(path, data={**form, "csrf": ""}).status_code == 400
    assert http.post(path, data=form, headers={"Origin": "https://evil.example"}).status_code == 400
    assert http.post(path, data={**form, f"sec-{pid}": ["gardening"]}).status_code == 400
    assert http.post(path, data={**form, "pub-999": "on"}).status_code == 400
    for odd in ("pub-²", "sec-¹", "add-²", "pub-99999999999999999999"):  # digits int() refuses, or too many
        assert http.post(path, data={**form, "action": "add" if odd.startswith("add") else "save",
                                     odd: "on"}).status_code == 400, odd
    with Session(engine) as s:
        assert s.scalar(select(Subscription.sections)) is None
    r = http.post(path, data=form, headers={"Origin": server.url})
    assert r.status_code == 200 and "Saved" in r.text
    with Session(engine) as s:
        assert s.scalar(select(Subscription.sections)) == ["missile-defense"]
        kinds = [(e.kind, e.edition_id) for e in s.scalars(select(Event))]
        assert ("preferences", edition_id) in kinds
        # The next edition: only the chosen section reaches Ann.
        pub = s.get(Publication, pid)
        today = s.get(Edition, edition_id)
        add_article(s, "missile-defense", "Tomorrow's interceptor test", today.window_end + timedelta(hours=2))
        add_article(s, "superpowers", "Tomorrow's summit", today.window_end + timedelta(hours=3))
        nxt, _ = build_edition(s, pub, today.date + timedelta(days=1), now=today.window_end + timedelta(days=1))
        s.commit()
        next_id = nxt.id
    for p in web_settings.effective_outbox_dir.glob("*.eml"):
        p.unlink()
    InlineDispatcher(web_settings, OutboxBackend(web_settings.effective_outbox_dir)).run_edition(next_id)
    (msg,) = [m for m in outbox_messages(web_settings) if m["Precedence"] == "bulk"]
    html = msg.get_body(("html",)).get_content()
    assert "Tomorrow&#39;s interceptor test" in html or "Tomorrow's interceptor test" in html
    assert "summit" not in html and "SUPERPOWERS" not in html
    # Unsubscribe from everything in the centre
    r = http.post(path, data={"csrf": csrf, "action": "unsubscribe_all"})
    assert r.status_code == 200 and state(engine, "ann@example.org")[0] == "unsubscribed"
