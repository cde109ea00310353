"""delivery tallies: the outcomes of erased people's deliveries, kept as counts so that
the figures of past editions do not move (delivery/tallies.py)

Revision ID: 0018_tallies
Revises: 0017_faults
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0018_tallies"
down_revision = "0017_faults"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_class", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_tallies_edition_id", "delivery_tallies", ["edition_id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_tallies_edition_id", table_name="delivery_tallies")
    op.drop_table("delivery_tallies")
