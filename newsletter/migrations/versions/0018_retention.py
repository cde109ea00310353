"""retention: delivery tallies (the rows of old editions, rolled up); indexes for removing
deliveries (the bounce tables' foreign keys to them are set to NULL)

Revision ID: 0018_retention
Revises: 0017_faults
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0018_retention"
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
    op.create_index("ix_delivery_tallies_edition", "delivery_tallies", ["edition_id", "status"])
    op.create_index("ix_delivery_tallies_day", "delivery_tallies", ["day"])
    op.create_index("ix_bounce_reports_delivery", "bounce_reports", ["delivery_id"])
    op.create_index("ix_bounce_findings_delivery", "bounce_findings", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_bounce_findings_delivery", table_name="bounce_findings")
    op.drop_index("ix_bounce_reports_delivery", table_name="bounce_reports")
    op.drop_index("ix_delivery_tallies_day", table_name="delivery_tallies")
    op.drop_index("ix_delivery_tallies_edition", table_name="delivery_tallies")
    op.drop_table("delivery_tallies")
