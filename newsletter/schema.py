"""Bring a database to the newest schema with Alembic (the only way tables are made).

Every entry point calls `migrate`, so several processes starting together on a fresh
database must not race: the upgrade runs under a lock, a PostgreSQL advisory lock or
a file lock beside the SQLite file. The first process migrates; the others wait, then
find the schema at head and do nothing.
"""
from __future__ import annotations

import fcntl
import threading
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from newsletter.db import get_engine

_done: set[str] = set()
_lock = threading.Lock()
_PG_LOCK_KEY = 0x6E6C5F6D69677261  # "nl_migra": one key for every process of this service


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "newsletter:migrations")  # package data
    cfg.attributes["url"] = url
    return cfg


@contextmanager
def _migration_lock(url: str):
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if not path or path == ":memory:":
            yield
            return
        lock_path = Path(path).with_name(Path(path).name + ".migrate-lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    with get_engine(url).connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
            conn.commit()


def migrate(url: str) -> None:
    """Upgrade to head once per process and URL; cheap to call from every entry point."""
    with _lock:
        if url in _done:
            return
        with _migration_lock(url):
            command.upgrade(alembic_config(url), "head")
        _done.add(url)
