"""bounce findings: every recipient of a report, what it says, whom it matched, whether it suppressed

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounce_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("received_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.String(length=16), nullable=False),
        sa.Column("diagnostic", sa.Text(), nullable=False),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("edition_id", sa.Integer(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["bounce_reports.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bounce_findings") as b:
        b.create_index("ix_bounce_findings_report", ["report_id"], unique=False)
        b.create_index("ix_bounce_findings_subscriber", ["subscriber_id", "received_at"], unique=False)
    # The reports read so far spoke for one recipient each: that one becomes their finding,
    # so that soft scores and `bounces reprocess --since` see them.
    op.execute(
        "INSERT INTO bounce_findings (report_id, position, received_at, recipient, action, kind, status_code, "
        "diagnostic, matched_by, subscriber_id, delivery_id, edition_id, suppressed, outcome) "
        "SELECT id, 0, received_at, recipient, '', kind, status_code, diagnostic, matched_by, subscriber_id, "
        "delivery_id, edition_id, outcome LIKE '%suppressed, subscription ended%', outcome "
        "FROM bounce_reports WHERE status IN ('parsed', 'unmatched') AND kind <> ''")


def downgrade() -> None:
    with op.batch_alter_table("bounce_findings") as b:
        b.drop_index("ix_bounce_findings_subscriber")
        b.drop_index("ix_bounce_findings_report")
    op.drop_table("bounce_findings")
