"""Alembic environment: the URL comes from the caller or from newsletter settings."""
from alembic import context

from newsletter.config import get_settings
from newsletter.db import get_engine
from newsletter.models import Base

config = context.config
url = config.attributes.get("url") or get_settings().effective_database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with get_engine(url).connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
