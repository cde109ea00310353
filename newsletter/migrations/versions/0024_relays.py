"""relays: the relay that took each delivery; outages of the relays of a pool

Revision ID: 0024_relays
Revises: 0023_webhooks
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0024_relays"
down_revision = "0023_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    with op.batch_alter_table("deliveries") as b:
        b.add_column(sa.Column("relay", sa.String(length=64), nullable=False, server_default=""))
    op.create_table(
        "relay_outages",
        sa.Column("relay", sa.String(length=64), nullable=False),
        sa.Column("since", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failed_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("relay"),
    )


def downgrade() -> None:
    op.drop_table("relay_outages")
    with op.batch_alter_table("deliveries") as b:
        b.drop_column("relay")
