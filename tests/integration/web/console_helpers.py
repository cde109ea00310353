"""For the console tests: a world to act on (subscribers, editions, staff, a feed on
loopback, a second publication), browser-like clients signed in through the sign-in
form, and the CSRF token a page carries."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import sample_file
from newsletter.editions.models import Edition
from newsletter.publications.load import load_publications
from newsletter.subscribers import lifecycle
from newsletter.subscribers.models import Subscriber
from newsletter.tracking.models import EventKind, Method
from tests.helpers import WEEKLY
from tests.integration.web.site import deliver_today
from tests.integration.web.staff_helpers import PASSWORD, ROLES, add_editions, client, make_staff


def publications_file(tmp_path, feed_url: str = "", weekly: bool = False):
    """The sample publications, with a feed on loopback and a second publication if asked."""
    text = sample_file("publications.toml").read_text() + (WEEKLY if weekly else "")
    if feed_url:
        text += f'\n[[feeds]]\nname = "wire"\nurl = "{feed_url}"\nsection = "superpowers"\nallow_private = true\n'
    path = tmp_path / "publications-test.toml"
    path.write_text(text)
    return path


def load(engine, path) -> None:
    with Session(engine) as s:
        load_publications(s, path)
        s.commit()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login_form(http) -> str:
    """The sign-in form's own CSRF token (its page sets the cookie it is checked against)."""
    return csrf_of(http.get("/admin/login").text)


def post_login(http, email: str, password: str = PASSWORD, **fields):
    return http.post("/admin/login", data={"email": email, "password": password, "csrf": login_form(http), **fields})


def sign_in(server, email: str, password: str = PASSWORD):
    """A client signed in through the form, and its session's CSRF token."""
    http = client(server)
    answer = post_login(http, email, password)
    assert answer.status_code == 303, answer.text
    return http, csrf_of(http.get("/admin/account").text)


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)
    clients: dict = field(default_factory=dict)  # role (None: not signed in) -> client
    csrf: dict = field(default_factory=dict)
    staff: object = None

    def close(self):
        for c in self.clients.values():
            c.close()


def make_world(engine, settings, publication, server) -> World:
    edition = deliver_today(engine, settings, publication, [
        ("ann@example.org", "Ann Reader", None), ("bob@example.org", "Bob", None),
        ("cara@example.org", "Cara", "drone-war"), ("hal@example.org", "Hal", None)])
    with Session(engine) as s:
        ids = dict(s.execute(select(Subscriber.email, Subscriber.id)).all())
        cara, hal = s.get(Subscriber, ids["cara@example.org"]), s.get(Subscriber, ids["hal@example.org"])
        lifecycle.unsubscribe(s, cara, s.merge(publication), Method.LINK)
        lifecycle.end_for_address(s, hal.id, hal.email, publication.id, edition, EventKind.BOUNCE, "550 5.1.1")
        s.commit()
    sending, built = add_editions(engine, publication.id)
    with Session(engine) as s:  # one more built edition: one to cancel, one to rebuild
        other = s.get(Edition, built)
        spare = Edition(publication_id=other.publication_id, date=date(2020, 1, 3), status="built",
                        window_start=other.window_start, window_end=other.window_end, max_subscriber_id=0)
        s.add(spare)
        s.commit()
        spare_id = spare.id
    world = World(staff=make_staff(engine, settings))
    world.ids = {"ann": ids["ann@example.org"], "bob": ids["bob@example.org"], "cara": ids["cara@example.org"],
                 "hal": ids["hal@example.org"], "e1": edition, "e2": sending, "e3": built,
                 "e4": spare_id,
                 **{f"staff_{r}": world.staff.ids[r] for r in ROLES}}
    for role in ROLES:
        world.clients[role], world.csrf[role] = sign_in(server, world.staff.email(role))
    world.clients[None], world.csrf[None] = client(server), ""
    return world
