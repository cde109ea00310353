"""sign-ups: the name and time zone a request asked for wait with it, applied on confirm

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as b:
        b.add_column(sa.Column("requested_name", sa.String(length=200), nullable=False, server_default=""))
        b.add_column(sa.Column("requested_timezone", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as b:
        b.drop_column("requested_timezone")
        b.drop_column("requested_name")
