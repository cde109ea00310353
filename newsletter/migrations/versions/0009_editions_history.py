"""operators: articles' ingestion time, superseded editions, edition history

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

- articles.ingested_at: when the article entered the store; existing rows take their
  publication time (they count as having arrived on time).
- editions: one *current* edition per (publication, date), a partial unique index on
  rows not superseded; superseded_at and replaces_id link a cancelled edition to the
  one that replaced it (`newsletter send --force`).
- edition_history: rebuilds, holds, releases, replacements.
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CURRENT = "superseded_at IS NULL"


def _old_unique_name() -> str:
    return "uq_editions_publication_id" if op.get_bind().dialect.name == "sqlite" else "editions_publication_id_date_key"


def upgrade() -> None:
    with op.batch_alter_table("articles") as b:
        b.add_column(sa.Column("ingested_at", newsletter.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE articles SET ingested_at = published_at")
    with op.batch_alter_table("articles") as b:
        b.alter_column("ingested_at", existing_type=newsletter.db.UTCDateTime(timezone=True), nullable=False)
        b.create_index("ix_articles_ingested", ["ingested_at"], unique=False)

    # 0001 made the (publication_id, date) constraint without a name: PostgreSQL named it
    # itself; on SQLite batch mode names it by this convention when it reflects the table.
    with op.batch_alter_table("editions", naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}) as b:
        b.add_column(sa.Column("superseded_at", newsletter.db.UTCDateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        b.create_foreign_key("fk_editions_replaces_id", "editions", ["replaces_id"], ["id"], ondelete="SET NULL")
        b.drop_constraint(_old_unique_name(), type_="unique")
    op.create_index("uq_editions_current", "editions", ["publication_id", "date"], unique=True,
                    sqlite_where=sa.text(_CURRENT), postgresql_where=sa.text(_CURRENT))

    op.create_table(
        "edition_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("act", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_edition_history_edition_id", "edition_history", ["edition_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_edition_history_edition_id", table_name="edition_history")
    op.drop_table("edition_history")
    op.drop_index("uq_editions_current", table_name="editions")
    op.execute("DELETE FROM editions WHERE superseded_at IS NOT NULL")  # the old rule allows one per date
    with op.batch_alter_table("editions") as b:
        b.create_unique_constraint(_old_unique_name(), ["publication_id", "date"])
        b.drop_constraint("fk_editions_replaces_id", type_="foreignkey")
        b.drop_column("replaces_id")
        b.drop_column("superseded_at")
    with op.batch_alter_table("articles") as b:
        b.drop_index("ix_articles_ingested")
        b.drop_column("ingested_at")
