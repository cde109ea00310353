"""The web under test: a real uvicorn server on loopback serving the app (in a thread of
the test's process), a client whose calls return once the server has finished the work
they started, and today's edition delivered to the outbox."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
import uvicorn
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.editions.build import build_edition, window_for
from newsletter.editions.models import Edition
from newsletter.jobs import InlineDispatcher
from newsletter.publications.schedule import local_date
from newsletter.subscribers.service import add_subscriber
from newsletter.transport.backends import OutboxBackend
from newsletter.web.app import create_app
from newsletter.web.server import config as server_config
from tests.helpers import add_article
from tests.integration.servers import free_port, wait_for


def public_id(engine, edition_id: int) -> str:
    with Session(engine) as s:
        return s.get(Edition, edition_id).public_id


class Server:
    def __init__(self, settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = server_config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def settle(self):
        """Wait until every request, the work it left to run after its answer included
        (sign-ups), has finished: uvicorn drops a request's task only then."""
        wait_for(lambda: not self.server.server_state.tasks, 30, interval=0.02, what="requests to finish")


class SettlingClient(httpx.Client):
    """Every call returns once the server has finished the work the request started."""

    def __init__(self, server, **kwargs):
        super().__init__(**kwargs)
        self.server = server

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        self.server.settle()
        return response


def deliver_today(engine, settings, publication, subscribers: list[tuple[str, str, str | None]]):
    """Articles, subscribers, today's edition, delivered to the outbox; returns the edition id."""
    with Session(engine, expire_on_commit=False) as s:
        pub = s.merge(publication)
        now = utcnow()
        day = local_date(pub.timezone, now)
        end = window_for(s, pub, day, now)[1]
        for n, slug in enumerate(["superpowers", "drone-war", "missile-defense", "nuclear-weapons"]):
            add_article(s, slug, f"{slug.replace('-', ' ').title()} headline", end - timedelta(hours=n + 1))
        for email, name, sections in subscribers:
            add_subscriber(s, pub, email, name, sections)
        edition, _ = build_edition(s, pub, day, now)
        s.commit()
    InlineDispatcher(settings, OutboxBackend(settings.effective_outbox_dir)).run_edition(edition.id)
    return edition.id
