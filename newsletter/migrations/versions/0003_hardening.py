"""hardening: link keys, public edition ids, failure classes, pauses by refusal, domain holds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
import secrets

import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _fill(table: str, column: str, make) -> None:
    conn = op.get_bind()
    t = sa.table(table, sa.column("id", sa.Integer), sa.column(column))
    for (row_id,) in conn.execute(sa.select(t.c.id)).all():
        conn.execute(t.update().where(t.c.id == row_id).values({column: make()}))


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as b:
        b.add_column(sa.Column("token_key", sa.BigInteger(), nullable=True))
    _fill("subscribers", "token_key", lambda: secrets.randbits(62))
    with op.batch_alter_table("subscribers") as b:
        b.alter_column("token_key", existing_type=sa.BigInteger(), nullable=False)

    with op.batch_alter_table("editions") as b:
        b.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        b.add_column(sa.Column("pause_reason", sa.Text(), nullable=False, server_default=""))
        b.add_column(sa.Column("message_refusals", sa.Integer(), nullable=False, server_default="0"))
    _fill("editions", "public_id", lambda: secrets.token_urlsafe(12))
    with op.batch_alter_table("editions") as b:
        b.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        b.create_unique_constraint("uq_editions_public_id", ["public_id"])
        b.alter_column("pause_reason", server_default=None)
        b.alter_column("message_refusals", server_default=None)

    with op.batch_alter_table("deliveries") as b:
        b.add_column(sa.Column("error_class", sa.String(length=32), nullable=False, server_default=""))
    with op.batch_alter_table("deliveries") as b:
        b.alter_column("error_class", server_default=None)

    op.create_table(
        "domain_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.Column("held_at", newsletter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("edition_id", "domain"),
    )


def downgrade() -> None:
    op.drop_table("domain_holds")
    with op.batch_alter_table("deliveries") as b:
        b.drop_column("error_class")
    with op.batch_alter_table("editions") as b:
        b.drop_constraint("uq_editions_public_id", type_="unique")
        b.drop_column("message_refusals")
        b.drop_column("pause_reason")
        b.drop_column("public_id")
    with op.batch_alter_table("subscribers") as b:
        b.drop_column("token_key")
