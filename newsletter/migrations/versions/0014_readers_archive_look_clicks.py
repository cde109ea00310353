"""readers: the look (logo, accent colour, lead images), the archive switch, click counts
and, with consent, a reader's click history; the reader's own order of sections

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_PUBLICATION_COLUMNS = [
    ("logo_url", sa.String(length=2000), ""),
    ("logo_width", sa.Integer(), "0"),
    ("logo_alt", sa.String(length=200), ""),
    ("accent_color", sa.String(length=7), ""),
    ("archive", sa.Boolean(), sa.true()),
    ("click_stats", sa.Boolean(), sa.false()),
    ("click_history", sa.Boolean(), sa.false()),
    ("most_clicked_first", sa.Boolean(), sa.false()),
    ("open_pixel", sa.Boolean(), sa.false()),
]


def _image_columns():
    return [sa.Column("image_url", sa.String(length=2048), nullable=False, server_default=""),
            sa.Column("image_width", sa.Integer(), nullable=True),
            sa.Column("image_height", sa.Integer(), nullable=True),
            sa.Column("image_alt", sa.String(length=500), nullable=False, server_default="")]


def upgrade() -> None:
    with op.batch_alter_table("publications") as b:
        for name, type_, default in _PUBLICATION_COLUMNS:
            b.add_column(sa.Column(name, type_, nullable=False, server_default=default))
    for table in ("articles", "edition_items"):
        with op.batch_alter_table(table) as b:
            for column in _image_columns():
                b.add_column(column)
    with op.batch_alter_table("subscriptions") as b:
        b.add_column(sa.Column("section_order", sa.JSON(), nullable=True))
        b.add_column(sa.Column("click_history_since", newsletter.db.UTCDateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("most_clicked_first", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("click_order", sa.JSON(), nullable=True))
    op.create_table(
        "click_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section_slug", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("edition_id", "position", "day", "kind", name="uq_click_counts"),
    )
    op.create_table(
        "reader_clicks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section_slug", sa.String(length=64), nullable=False),
        sa.Column("clicked_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["publication_id"], ["publications.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reader_clicks_person", "reader_clicks", ["subscriber_id", "publication_id"])


def downgrade() -> None:
    op.drop_index("ix_reader_clicks_person", table_name="reader_clicks")
    op.drop_table("reader_clicks")
    op.drop_table("click_counts")
    with op.batch_alter_table("subscriptions") as b:
        for name in ("click_order", "most_clicked_first", "click_history_since", "section_order"):
            b.drop_column(name)
    for table in ("edition_items", "articles"):
        with op.batch_alter_table(table) as b:
            for name in ("image_alt", "image_height", "image_width", "image_url"):
                b.drop_column(name)
    with op.batch_alter_table("publications") as b:
        for name, _, _ in reversed(_PUBLICATION_COLUMNS):
            b.drop_column(name)
