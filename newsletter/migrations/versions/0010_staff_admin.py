"""staff and admin: accounts, sessions, API tokens, audit log, import jobs, hashed
suppressions for erased people, prefix search on subscribers' addresses

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_at = newsletter.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_nonce", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _at, nullable=False),
        sa.Column("password_changed_at", _at, nullable=True),
        sa.Column("last_login_at", _at, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", _at, nullable=False),
        sa.Column("last_seen_at", _at, nullable=False),
        sa.Column("expires_at", _at, nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", _at, nullable=False),
        sa.Column("last_used_at", _at, nullable=True),
        sa.Column("revoked_at", _at, nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_tokens_staff_id", "api_tokens", ["staff_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _at, nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_staff_id", "audit_log", ["staff_id"])
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("skip_invalid", sa.Boolean(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("existing", sa.Integer(), nullable=False),
        sa.Column("not_resubscribed", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("created_at", _at, nullable=False),
        sa.Column("updated_at", _at, nullable=False),
        sa.Column("finished_at", _at, nullable=True),
        sa.ForeignKeyConstraint(["publication_id"], ["publications.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )

    # Erased people: a global suppression holding only a keyed hash of the address. Two
    # erased rows both have email "", so the global unique index takes the hash in too.
    with op.batch_alter_table("suppressions") as b:
        b.add_column(sa.Column("email_hash", sa.String(length=64), nullable=False, server_default=""))
        b.add_column(sa.Column("note", sa.String(length=500), nullable=False, server_default=""))
    op.drop_index("uq_suppressions_global", table_name="suppressions")
    op.create_index("uq_suppressions_global", "suppressions", ["email", "email_hash"], unique=True,
                    sqlite_where=sa.text("publication_id IS NULL"),
                    postgresql_where=sa.text("publication_id IS NULL"))
    op.create_index("ix_suppressions_email_hash", "suppressions", ["email_hash"])
    op.create_index("ix_subscribers_email_pattern", "subscribers", ["email"],
                    postgresql_ops={"email": "text_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_subscribers_email_pattern", table_name="subscribers")
    op.drop_index("ix_suppressions_email_hash", table_name="suppressions")
    op.drop_index("uq_suppressions_global", table_name="suppressions")
    op.execute("DELETE FROM suppressions WHERE email = ''")
    op.create_index("uq_suppressions_global", "suppressions", ["email"], unique=True,
                    sqlite_where=sa.text("publication_id IS NULL"),
                    postgresql_where=sa.text("publication_id IS NULL"))
    with op.batch_alter_table("suppressions") as b:
        b.drop_column("note")
        b.drop_column("email_hash")
    op.drop_table("import_jobs")
    op.drop_table("audit_log")
    op.drop_table("api_tokens")
    op.drop_table("staff_sessions")
    op.drop_table("staff_accounts")
