"""faults: a claim per batch run with its own heartbeat; an edition's relay outage; alerts
that may happen more than once a day (ref)

Revision ID: 0017_faults
Revises: 0016
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import newsletter.db

revision = "0017_faults"
down_revision = "0016"
branch_labels = None
depends_on = None

# SQLite keeps the old unique constraint without a name: reflected with this convention,
# it has one batch mode can drop (PostgreSQL named it itself: alerts_publication_id_day_kind_key).
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s_%(column_2_name)s"}
_OLD_UNIQUE_SQLITE = "uq_alerts_publication_id_day_kind"
_OLD_UNIQUE_PG = "alerts_publication_id_day_kind_key"
_ONCE = ["publication_id", "day", "kind", "ref"]


def upgrade() -> None:
    op.create_table(
        "send_claims",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("lo", sa.Integer(), nullable=False),
        sa.Column("hi", sa.Integer(), nullable=False),
        sa.Column("started_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", newsletter.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_index("ix_send_claims_edition_id", "send_claims", ["edition_id"])
    # Existing editions: no outage. The server defaults go again afterwards, as the models
    # set their defaults in Python.
    with op.batch_alter_table("editions") as b:
        b.add_column(sa.Column("relay_down_since", newsletter.db.UTCDateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("relay_down_reason", sa.Text(), nullable=False, server_default=""))
        b.add_column(sa.Column("relay_down_alerted", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("editions") as b:
        b.alter_column("relay_down_reason", server_default=None)
        b.alter_column("relay_down_alerted", server_default=None)
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("alerts", naming_convention=_SQLITE_NAMES) as b:
            b.add_column(sa.Column("ref", sa.String(length=64), nullable=False, server_default=""))
            b.drop_constraint(_OLD_UNIQUE_SQLITE, type_="unique")
            b.create_unique_constraint("uq_alerts_once", _ONCE)
        with op.batch_alter_table("alerts") as b:
            b.alter_column("ref", server_default=None)
    else:
        op.add_column("alerts", sa.Column("ref", sa.String(length=64), nullable=False, server_default=""))
        op.alter_column("alerts", "ref", server_default=None)
        op.drop_constraint(_OLD_UNIQUE_PG, "alerts", type_="unique")
        op.create_unique_constraint("uq_alerts_once", "alerts", _ONCE)


def downgrade() -> None:
    # Alerts told apart only by ref would break the old constraint: keep the first of each.
    op.execute("DELETE FROM alerts WHERE ref != ''")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("alerts") as b:
            b.drop_constraint("uq_alerts_once", type_="unique")
            b.drop_column("ref")
            b.create_unique_constraint(_OLD_UNIQUE_SQLITE, ["publication_id", "day", "kind"])
    else:
        op.drop_constraint("uq_alerts_once", "alerts", type_="unique")
        op.drop_column("alerts", "ref")
        op.create_unique_constraint(_OLD_UNIQUE_PG, "alerts", ["publication_id", "day", "kind"])
    with op.batch_alter_table("editions") as b:
        b.drop_column("relay_down_alerted")
        b.drop_column("relay_down_reason")
        b.drop_column("relay_down_since")
    op.drop_index("ix_send_claims_edition_id", table_name="send_claims")
    op.drop_table("send_claims")
