"""staff security: second factors (TOTP, recovery codes, remembered devices), single
sign-on identities, per-publication roles, the staff policy, sessions awaiting a code

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_at = newsletter.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("staff_accounts") as b:
        b.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=False, server_default=""))
        b.add_column(sa.Column("totp_enabled_at", _at, nullable=True))
        b.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=False, server_default="0"))
        b.add_column(sa.Column("sso_subject", sa.String(length=600), nullable=True))
        b.add_column(sa.Column("sso_only", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.create_unique_constraint("uq_staff_accounts_sso_subject", ["sso_subject"])
    with op.batch_alter_table("staff_sessions") as b:
        b.add_column(sa.Column("stage", sa.String(length=16), nullable=False, server_default=""))
    op.create_table(
        "staff_publications",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["publication_id"], ["publications.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("staff_id", "publication_id"),
    )
    op.create_table(
        "staff_policy",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("used_at", _at, nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_recovery_codes_staff_id", "staff_recovery_codes", ["staff_id"])
    op.create_table(
        "staff_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", _at, nullable=False),
        sa.Column("last_used_at", _at, nullable=False),
        sa.Column("expires_at", _at, nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_staff_devices_staff_id", "staff_devices", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_devices_staff_id", table_name="staff_devices")
    op.drop_table("staff_devices")
    op.drop_index("ix_staff_recovery_codes_staff_id", table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_table("staff_policy")
    op.drop_table("staff_publications")
    with op.batch_alter_table("staff_sessions") as b:
        b.drop_column("stage")
    with op.batch_alter_table("staff_accounts") as b:
        b.drop_constraint("uq_staff_accounts_sso_subject", type_="unique")
        b.drop_column("sso_only")
        b.drop_column("sso_subject")
        b.drop_column("totp_last_step")
        b.drop_column("totp_enabled_at")
        b.drop_column("totp_secret")
