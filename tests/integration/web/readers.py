"""A reader's side of the web tests: the mail the outbox holds for them and its links,
their subscription's state, the preference centre's pages and forms."""
from __future__ import annotations

import email
import re
from email import policy

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.links import Links
from newsletter.subscribers.models import Subscriber, Subscription
from newsletter.tracking.models import Event


def outbox_messages(settings):
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(settings.effective_outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime)]


def unsubscribe_url(settings, address):
    """The https URL of List-Unsubscribe in the digest (a bulk message: the welcome has one too)."""
    for msg in outbox_messages(settings):
        if msg["To"].addresses[0].addr_spec == address and msg["Precedence"] == "bulk":
            return msg["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    raise AssertionError(f"no digest for {address}")


def state(engine, address):
    """The subscription's status and its events since it was set up (the admin's add is left out)."""
    with Session(engine) as s:
        sub = s.scalar(select(Subscription).join(Subscriber).where(Subscriber.email == address))
        events = s.scalars(select(Event).where(Event.subscriber_id == sub.subscriber_id, Event.kind != "subscribe")
                           .order_by(Event.id)).all()
        return sub.status, [(e.kind, e.method, e.edition_id) for e in events]


def confirmations(settings, address):
    return [m for m in outbox_messages(settings)
            if m["To"].addresses[0].addr_spec == address and m["Subject"].startswith("Confirm")]


def confirm_link(msg) -> str:
    text = msg.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+/confirm/\S+", text).group(0)


def prefs_path(web_settings, address):
    for msg in outbox_messages(web_settings):
        if msg["To"].addresses[0].addr_spec == address and msg["Precedence"] == "bulk":  # the digest
            html = msg.get_body(("html",)).get_content()
            return re.search(r'href="https?://[^/"]+(/preferences/[^"]+)"', html).group(1)
    raise AssertionError("no digest")


def path_of(url: str) -> str:
    return "/" + url.split("//", 1)[1].split("/", 1)[1]


def prefs(engine, settings, address) -> str:
    with Session(engine) as s:
        sub = s.scalar(select(Subscriber).where(Subscriber.email == address))
        return Links.from_settings(settings).preferences_path(sub.id, sub.token_key)


def csrf(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def act(http, path: str, **data):
    """Post one of the centre's forms the way the page does (its CSRF token)."""
    token = csrf(http.get(path))
    return http.post(path, data={"csrf": token, **data})
