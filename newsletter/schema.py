"""Bring a database to the newest schema with Alembic (the only way tables are made)."""
from __future__ import annotations

import threading

from alembic import command
from alembic.config import Config

_done: set[str] = set()
_lock = threading.Lock()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "newsletter:migrations")  # package data
    cfg.attributes["url"] = url
    return cfg


def migrate(url: str) -> None:
    """Upgrade to head once per process and URL; cheap to call from every entry point."""
    with _lock:
        if url in _done:
            return
        command.upgrade(alembic_config(url), "head")
        _done.add(url)
