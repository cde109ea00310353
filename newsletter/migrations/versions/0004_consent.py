"""consent: confirmation links that work once, sections asked for at sign-up

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as b:
        b.add_column(sa.Column("confirm_nonce", sa.BigInteger(), nullable=False, server_default="0"))
        b.add_column(sa.Column("requested_sections", sa.JSON(), nullable=True))
    with op.batch_alter_table("subscriptions") as b:
        b.alter_column("confirm_nonce", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as b:
        b.drop_column("requested_sections")
        b.drop_column("confirm_nonce")
