"""provider webhooks: which provider a stored bounce event came from, and Mailgun's seen tokens

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bounce_reports") as b:
        b.add_column(sa.Column("provider", sa.String(length=16), nullable=False, server_default=""))
    op.create_table(
        "webhook_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=128), nullable=False),
        sa.Column("seen_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "token"),
    )
    op.create_index("ix_webhook_tokens_seen_at", "webhook_tokens", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_tokens_seen_at", table_name="webhook_tokens")
    op.drop_table("webhook_tokens")
    with op.batch_alter_table("bounce_reports") as b:
        b.drop_column("provider")
