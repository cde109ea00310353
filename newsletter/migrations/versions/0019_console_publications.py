"""console publications: who manages each publication and feed, the publications file
(`publications load`) or the console; neither overwrites the other's

Revision ID: 0019_console_publications
Revises: 0018_tallies
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_console_publications"
down_revision = "0018_tallies"
branch_labels = None
depends_on = None

_TABLES = ("publications", "feeds")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as b:
            b.add_column(sa.Column("managed_by", sa.String(length=16), nullable=False, server_default="file"))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as b:
            b.drop_column("managed_by")
