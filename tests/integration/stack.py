"""The stack of the worker tests: one PostgreSQL database, a Redis DB, an SMTP server, the
workers' environment, and the command line with the same settings."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import redis
from celery import Celery
from sqlalchemy.orm import Session

from newsletter.config import Settings, sample_file
from newsletter.db import get_engine, utcnow
from newsletter.editions.build import build_edition, window_for
from newsletter.publications.load import load_publications
from newsletter.publications.schedule import local_date
from newsletter.subscribers.import_sql import import_csv
from tests.command_line import CommandLine
from tests.helpers import add_article
from tests.integration.servers import SMTPServer, Worker, wait_for

REDIS_URL = os.environ.get("NEWSLETTER_TEST_REDIS", "redis://127.0.0.1:6379/9")


class Stack:
    """One PostgreSQL database, a Redis DB, an SMTP server and the workers' environment."""

    def __init__(self, tmp: Path, db_url: str):
        self.tmp, self.db_url = tmp, db_url
        self.smtp = SMTPServer()
        self.smtp.start()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
        self.env.update({
            "NEWSLETTER_DATABASE_URL": db_url, "NEWSLETTER_BROKER_URL": REDIS_URL,
            "NEWSLETTER_VAR_DIR": str(tmp / "var"), "NEWSLETTER_SECRET_KEY": "integration-secret",
            "NEWSLETTER_DELIVERY_BACKEND": "smtp", "NEWSLETTER_SMTP_HOST": "127.0.0.1",
            "NEWSLETTER_SMTP_PORT": str(self.smtp.port), "NEWSLETTER_SMTP_TIMEOUT": "5",
            "NEWSLETTER_BATCH_SIZE": "100", "NEWSLETTER_VISIBILITY_TIMEOUT": "10",
            "NEWSLETTER_LEASE_SECONDS": "5", "NEWSLETTER_RETRY_BASE_SECONDS": "1",
            "NEWSLETTER_RELAY_DOWN_RETRY_SECONDS": "1", "NEWSLETTER_MAX_ATTEMPTS": "5",
            "NEWSLETTER_WEB_BASE_URL": "https://news.example.com",
        })
        self.settings = Settings(database_url=db_url, secret_key="integration-secret",
                                 var_dir=tmp / "var", web_base_url="https://news.example.com")
        self.engine = get_engine(db_url)
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.redis.flushdb()
        self.client = Celery(broker=REDIS_URL)
        self.client.conf.update(task_serializer="json", accept_content=["json"],
                                broker_transport_options={"visibility_timeout": 10})
        self.workers: list[Worker] = []

    @property
    def cli(self) -> CommandLine:
        """`stack.cli("editions", "status", "1")`: the command line with the workers' settings
        as they are now (tests/command_line.py)."""
        return CommandLine(self.tmp, {**{k: v for k, v in self.env.items() if k.startswith("NEWSLETTER_")},
                                      "COLUMNS": "200"})

    def worker(self, concurrency: int = 2) -> Worker:
        w = Worker(self.env, self.tmp / f"worker-{len(self.workers)}.log", concurrency)
        w.start()
        self.workers.append(w)
        return w

    def send(self, name: str, *args) -> None:
        self.client.send_task(f"newsletter.{name}", args=list(args), queue="newsletter")

    def status(self, edition_id: int) -> str:
        with self.engine.connect() as c:
            return c.exec_driver_sql(f"SELECT status FROM editions WHERE id = {int(edition_id)}").scalar()

    def wait_sent(self, edition_id: int, timeout: float = 180) -> None:
        """Wait for the edition to finish, running the sweep as beat would."""
        ticks = {"n": 0}

        def beat():
            ticks["n"] += 1
            if ticks["n"] % 10 == 0:
                self.send("sweep")

        try:
            wait_for(lambda: self.status(edition_id) == "sent", timeout, interval=0.3, on_wait=beat,
                     what=f"edition {edition_id} to be sent")
        except AssertionError as exc:  # say where it stands, and what the workers said last
            with self.engine.connect() as c:
                counts = c.exec_driver_sql(f"SELECT status, count(*) FROM deliveries WHERE edition_id = "
                                           f"{int(edition_id)} GROUP BY status").all()
            logs = "\n".join(f"--- {w.log_path.name}\n" + "\n".join(
                w.log_path.read_text(errors="replace").splitlines()[-40:]) for w in self.workers)
            raise AssertionError(f"{exc}; edition {self.status(edition_id)}, deliveries {counts}\n{logs}") from None

    def close(self) -> None:
        for w in self.workers:
            w.stop()
        self.smtp.stop()
        self.redis.flushdb()
        self.engine.dispose()

    def seed(self, subscribers: int, **pub_changes) -> tuple[int, int]:
        """A publication with today's articles and `subscribers` active subscribers;
        returns (publication id, id of today's built edition)."""
        with Session(self.engine, expire_on_commit=False) as s:
            pub = load_publications(s, sample_file("publications.toml"))[0]
            for key, value in pub_changes.items():
                setattr(pub, key, value)
            now = utcnow()
            day = local_date(pub.timezone, now)
            end = window_for(s, pub, day, now)[1]
            for n, slug in enumerate(["superpowers", "drone-war", "missile-defense"]):
                add_article(s, slug, f"Headline {n} for {slug}", end - timedelta(hours=n + 1))
            lines = ["email,name"] + [f"reader{i:06d}@example.org,Reader {i}" for i in range(subscribers)]
            import_csv(s, pub, "\n".join(lines) + "\n")
            edition, _ = build_edition(s, pub, day, now)
            assert edition.status == "built"
            s.commit()
            return pub.id, edition.id
