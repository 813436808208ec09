"""The shop's own API: write-back state per booked shipment, its attempts log, per-store cursors.

``writebacks`` holds one row per booked shipment of a store that writes the cnote back (no row means
write-back is off for it): pending / done / failed, with a lease, an attempt count and the time of
the next try, like a booking. ``writeback_attempts`` is append-only like ``attempts``: each shop
attempt is recorded as ``sending`` before its first call, so a worker killed mid-call makes the next
one look at the shop before writing. ``shop_cursors`` keeps, per store, where the last reconcile
pass and the last write-back discovery got to.

Written out in full (not imported from ``integration.ledger``) so the migration keeps its meaning.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "writebacks",
        sa.Column("shipment_id", ID, sa.ForeignKey("shipments.id", name="fk_writebacks_shipment"),
                  primary_key=True, autoincrement=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(128), nullable=False),
        sa.Column("cnote", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("budget_used", sa.Integer(), nullable=False),
        ts("next_attempt_at"),
        sa.Column("lease_owner", sa.String(128)),
        ts("lease_until"),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        ts("created_at", nullable=False),
        ts("updated_at", nullable=False),
        ts("done_at"),
    )
    # Claiming the next due write-back stays O(log n) however many are done: only pending rows.
    op.create_index("ix_writebacks_due", "writebacks", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.create_index("ix_writebacks_store_status", "writebacks", ["store_id", "status"])
    op.create_table(
        "writeback_attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("shipment_id", ID, sa.ForeignKey("shipments.id", name="fk_writeback_attempts_shipment"),
                  nullable=False),
        ts("started_at", nullable=False),
        sa.Column("duration_s", sa.Float()),
        sa.Column("cnote", sa.String(64), nullable=False),
        sa.Column("may_have_written", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("wrote", sa.Boolean()),
        sa.Column("calls", sa.Integer()),
        sa.Column("reason", sa.Text()),
        sa.Column("reply", sa.Text()),
        sa.Column("worker_id", sa.String(128)),
    )
    op.create_index("ix_writeback_attempts_shipment", "writeback_attempts", ["shipment_id"])
    op.create_table(
        "shop_cursors",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        ts("position", nullable=False),
        ts("updated_at", nullable=False),
        sa.Column("detail", sa.JSON()),
    )


def downgrade() -> None:
    op.drop_table("shop_cursors")
    op.drop_index("ix_writeback_attempts_shipment", table_name="writeback_attempts")
    op.drop_table("writeback_attempts")
    op.drop_index("ix_writebacks_store_status", table_name="writebacks")
    op.drop_index("ix_writebacks_due", table_name="writebacks")
    op.drop_table("writebacks")
