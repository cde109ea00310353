"""retention: indexes for removing delivery rows by the million (the bounce tables'
foreign keys to them are set to NULL on delete, a lookup by delivery_id each)

Revision ID: 0020_retention
Revises: 0019_console_publications
Create Date: 2026-12-07
"""
from alembic import op

revision = "0020_retention"
down_revision = "0019_console_publications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_bounce_reports_delivery", "bounce_reports", ["delivery_id"])
    op.create_index("ix_bounce_findings_delivery", "bounce_findings", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_bounce_findings_delivery", table_name="bounce_findings")
    op.drop_index("ix_bounce_reports_delivery", table_name="bounce_reports")
