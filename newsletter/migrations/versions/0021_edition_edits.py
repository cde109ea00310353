"""edition edits: the editors' changes to an edition (drop, pin, move, add, edit, takedown),
kept apart from the selection so that a rebuild keeps them (editions/contents.py)

Revision ID: 0021_edits
Revises: 0020_retention
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0021_edits"
down_revision = "0020_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edition_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_key", sa.String(length=2100), nullable=False),
        sa.Column("section_slug", sa.String(length=64), nullable=False),
        sa.Column("section_name", sa.String(length=128), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("headline", sa.String(length=500), nullable=False),
        sa.Column("teaser", sa.Text(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("byline", sa.String(length=256), nullable=False),
        sa.Column("published_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("image_url", sa.String(length=2048), nullable=False),
        sa.Column("image_alt", sa.String(length=500), nullable=False),
        sa.Column("by", sa.String(length=255), nullable=False),
        sa.Column("created_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_edition_edits_edition_id", "edition_edits", ["edition_id"])


def downgrade() -> None:
    op.drop_index("ix_edition_edits_edition_id", table_name="edition_edits")
    op.drop_table("edition_edits")
