"""dkim and verp: per-publication DKIM signing settings and the VERP bounce address

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = [
    ("dkim_domain", sa.String(length=255), ""),
    ("dkim_selector", sa.String(length=63), ""),
    ("dkim_key_file", sa.String(length=1000), ""),
    ("dkim_key_env", sa.String(length=128), ""),
    ("dkim_algorithm", sa.String(length=32), "rsa-sha256"),
    ("verp", sa.Boolean(), sa.true()),
    ("bounce_domain", sa.String(length=255), ""),
]


def upgrade() -> None:
    # Existing rows get the defaults (no DKIM, VERP on); the server defaults go again
    # afterwards, as the models set their defaults in Python.
    with op.batch_alter_table("publications") as b:
        for name, type_, default in _COLUMNS:
            b.add_column(sa.Column(name, type_, nullable=False, server_default=default))
    with op.batch_alter_table("publications") as b:
        for name, type_, _ in _COLUMNS:
            b.alter_column(name, existing_type=type_, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("publications") as b:
        for name, _, _ in reversed(_COLUMNS):
            b.drop_column(name)
