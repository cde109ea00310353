"""tally_relay: the relay that took the tallied sent rows, so that editions status keeps
its split by relay after an erasure or retention removes the rows

Revision ID: 0025_tally_relay
Revises: 0024_relays
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0025_tally_relay"
down_revision = "0024_relays"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_tallies") as b:
        b.add_column(sa.Column("relay", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("delivery_tallies") as b:
        b.drop_column("relay")
