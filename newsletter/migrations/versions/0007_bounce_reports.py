"""bounce reports: DSN and ARF reports stored raw, then processed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounce_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("envelope_to", sa.String(length=320), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("parse_error", sa.Text(), nullable=False),
        sa.Column("report_type", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("status_code", sa.String(length=16), nullable=False),
        sa.Column("diagnostic", sa.Text(), nullable=False),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("edition_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    with op.batch_alter_table("bounce_reports") as b:
        b.create_index("ix_bounce_reports_status", ["status"], unique=False)
        b.create_index("ix_bounce_reports_subscriber", ["subscriber_id", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bounce_reports") as b:
        b.drop_index("ix_bounce_reports_subscriber")
        b.drop_index("ix_bounce_reports_status")
    op.drop_table("bounce_reports")
