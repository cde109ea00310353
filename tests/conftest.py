"""Shared fixtures: settings in a temporary folder, a migrated database (SQLite file or a
fresh PostgreSQL database cloned from a migrated template), and a loaded publication."""
from __future__ import annotations

import os
import shutil

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from newsletter.config import Settings, sample_file
from newsletter.db import get_engine
from newsletter.publications.load import load_publications
from newsletter.publications.models import Publication
from newsletter.schema import migrate
from newsletter.staff import passwords
from tests.databases import drop_pg_database, new_pg_database, pg_admin, pg_url

_TEMPLATE = f"nl_template_{os.getpid()}"

# Staff passwords hashed at the cost of the second factor's recovery codes (Argon2id, one
# pass over 8 MiB) in this process: the tests check what is hashed, verified and refused,
# not how long it takes, and argon2-cffi's production cost was about 9 s of CPU in the unit
# tests. Servers and workers the integration tests start keep the production cost.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@pytest.fixture(scope="session")
def pg_template():
    admin = pg_admin()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"'))
        c.execute(text(f'CREATE DATABASE "{_TEMPLATE}"'))
    url = pg_url(_TEMPLATE)
    migrate(url)
    get_engine(url).dispose()
    yield _TEMPLATE
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file, copied for each test: the same schema as migrating each
    one, without running every migration a few hundred times."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    url = f"sqlite:///{path}"
    migrate(url)
    get_engine(url).dispose()
    return path


@pytest.fixture(scope="session")
def sqlite_template_published(sqlite_template, tmp_path_factory):
    """The migrated SQLite file with the sample publications file loaded, and the slug of
    its first publication: what the `publication` fixture did in each of ~250 unit tests
    (~20 ms of CPU each), done once. The file holds no time and no feed: the rows are
    the same whenever they are loaded."""
    path = tmp_path_factory.mktemp("template") / "published.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    with Session(get_engine(url)) as s:
        first = load_publications(s, sample_file("publications.toml"))[0].slug
        s.commit()
    get_engine(url).dispose()
    return path, first


@pytest.fixture(params=["sqlite"])
def backend_name(request):
    return request.param


@pytest.fixture
def database_url(request, tmp_path, backend_name):
    if backend_name == "sqlite":
        path = tmp_path / "test.sqlite3"
        if "publication" in request.fixturenames:  # the copy holds it already
            shutil.copyfile(request.getfixturevalue("sqlite_template_published")[0], path)
        else:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        # A copy of a migrated file is at head: no migrate() here (alembic took ~20 ms of CPU
        # per test to find nothing to do); entry points the test runs still migrate it.
        url = f"sqlite:///{path}"
        yield url
        get_engine(url).dispose()
    else:
        template = request.getfixturevalue("pg_template")
        url = new_pg_database(template)  # a clone of the migrated template: at head
        yield url
        drop_pg_database(url)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(var_dir=tmp_path / "var", database_url=database_url,
                    secret_key="test-secret-key-for-signing", web_base_url="https://news.example.com",
                    publications_file=sample_file("publications.toml"))


@pytest.fixture
def engine(settings):
    return get_engine(settings.database_url)


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def publication(request, session, settings, backend_name):
    """The first publication of the sample publications file, loaded (and committed)."""
    if backend_name == "sqlite" and "publication" in request.fixturenames:
        slug = request.getfixturevalue("sqlite_template_published")[1]
        found = session.scalar(select(Publication).where(Publication.slug == slug)
                               .options(selectinload(Publication.sections)))  # as loading leaves it
        if found is not None:
            return found
    pubs = load_publications(session, settings.publications_file)
    session.commit()
    return pubs[0]


def pytest_collection_modifyitems(items):
    """Markers from where a test lives and what it uses: `slow` for everything under
    integration/ (real servers, subprocesses), `postgres` for what needs the server."""
    for item in items:
        if "/tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.slow)
        names = set(getattr(item, "fixturenames", ()))
        if names & {"stack", "pg_template"} or "[postgres" in item.name or "-postgres" in item.name:
            item.add_marker(pytest.mark.postgres)
