"""the editor's desk (issue 20): a publication's public listing and its description on the
sign-up page; feed health (since when a feed fails, after how long that is an alert, and
its polls and errors counted in the database, so that /metrics is true whoever polled)

Revision ID: 0022_desk
Revises: 0021_edits
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0022_desk"
down_revision = "0021_edits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("publications") as b:
        b.add_column(sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.true()))
        b.add_column(sa.Column("description", sa.String(length=300), nullable=False, server_default=""))
    with op.batch_alter_table("feeds") as b:
        b.add_column(sa.Column("failing_since", newsletter.db.UTCDateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("down_alerted_since", newsletter.db.UTCDateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("alert_after_minutes", sa.Integer(), nullable=False, server_default="60"))
        b.add_column(sa.Column("total_polls", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("total_errors", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as b:
        b.drop_column("total_errors")
        b.drop_column("total_polls")
        b.drop_column("alert_after_minutes")
        b.drop_column("down_alerted_since")
        b.drop_column("failing_since")
    with op.batch_alter_table("publications") as b:
        b.drop_column("description")
        b.drop_column("public")
