"""operators: alerts, feeds that poll themselves, delivery at each subscriber's local time

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_PUBLICATION_COLUMNS = [
    ("operator_address", sa.String(length=320), ""),
    ("local_time", sa.Boolean(), sa.false()),
]


def upgrade() -> None:
    # Existing publications: no operator address, one send time for everyone. The server
    # defaults go again afterwards, as the models set their defaults in Python.
    with op.batch_alter_table("publications") as b:
        for name, type_, default in _PUBLICATION_COLUMNS:
            b.add_column(sa.Column(name, type_, nullable=False, server_default=default))
    with op.batch_alter_table("publications") as b:
        for name, type_, _ in _PUBLICATION_COLUMNS:
            b.alter_column(name, existing_type=type_, server_default=None)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["publication_id"], ["publications.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("publication_id", "day", "kind"),
    )
    op.create_table(
        "edition_waves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("send_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("catch_all", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("edition_id", "position"),
    )
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("section", sa.String(length=64), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("allow_private", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.String(length=512), nullable=False),
        sa.Column("last_modified", sa.String(length=128), nullable=False),
        sa.Column("next_poll_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_polled_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("consecutive_errors", sa.Integer(), nullable=False),
        sa.Column("last_added", sa.Integer(), nullable=False),
        sa.Column("total_added", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("feeds")
    op.drop_table("edition_waves")
    op.drop_table("alerts")
    with op.batch_alter_table("publications") as b:
        for name, _, _ in reversed(_PUBLICATION_COLUMNS):
            b.drop_column(name)
