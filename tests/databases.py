"""Test databases on the PostgreSQL server: made from a template (a migrated one, or
template0 for an empty one) under a unique name, and dropped, connections and all."""
from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text

from newsletter.db import get_engine

PG_ADMIN = os.environ.get("NEWSLETTER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def pg_admin():
    """An engine on the server's admin database, outside transactions (CREATE/DROP DATABASE)."""
    return create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")


def new_pg_database(template: str) -> str:
    name = f"nl_test_{uuid.uuid4().hex[:10]}"
    with pg_admin().connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return pg_url(name)


def drop_pg_database(url: str) -> None:
    get_engine(url).dispose()
    with pg_admin().connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
