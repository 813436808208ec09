"""The ledger: deliveries (inbox), shipments, attempts log, account blocks.

Written out in full rather than imported from ``integration.ledger`` so that this migration keeps
meaning the same schema when the module's tables change later.

Revision ID: 0001
Revises:
Create Date: 2024-11-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("order_ref", sa.String(128)),
        sa.Column("order_number", sa.String(128)),
        ts("order_updated_at"),
        ts("received_at", nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("store_id", "event_id", name="uq_deliveries_store_event"),
    )
    op.create_table(
        "shipments",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(128), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("delivery_id", ID, sa.ForeignKey("deliveries.id", name="fk_shipments_delivery"),
                  nullable=False),
        sa.Column("topic", sa.String(128), nullable=False),
        ts("order_updated_at"),
        sa.Column("snapshot_version", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(128)),
        sa.Column("jne_order_id", sa.String(64)),
        sa.Column("cnote", sa.String(64)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("budget_used", sa.Integer(), nullable=False),
        ts("budget_since"),
        ts("next_attempt_at"),
        sa.Column("lease_owner", sa.String(128)),
        ts("lease_until"),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("skip_reason", sa.Text()),
        sa.Column("account_key", sa.String(512)),
        ts("created_at", nullable=False),
        ts("updated_at", nullable=False),
        ts("booked_at"),
        sa.UniqueConstraint("store_id", "order_ref", name="uq_shipments_store_order"),
    )
    # Only queued rows are in this index, so the claim stays O(log n) with millions booked.
    op.create_index("ix_shipments_due", "shipments", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'queued'"),
                    sqlite_where=sa.text("status = 'queued'"))
    op.create_index("ix_shipments_status_next", "shipments", ["status", "next_attempt_at"])
    op.create_index("ix_shipments_store_number", "shipments", ["store_id", "order_number"])
    op.create_index("ix_shipments_store_jne_order", "shipments", ["store_id", "jne_order_id"])
    op.create_index("ix_shipments_account_status", "shipments", ["account_key", "status"])
    op.create_table(
        "attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("shipment_id", ID, sa.ForeignKey("shipments.id", name="fk_attempts_shipment"),
                  nullable=False),
        ts("started_at", nullable=False),
        sa.Column("duration_s", sa.Float()),
        sa.Column("jne_order_id", sa.String(64)),
        sa.Column("snapshot_version", sa.Integer()),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("reason", sa.Text()),
        sa.Column("reply", sa.Text()),
        sa.Column("worker_id", sa.String(128)),
    )
    op.create_index("ix_attempts_shipment_order", "attempts", ["shipment_id", "jne_order_id"])
    op.create_table(
        "account_blocks",
        sa.Column("account_key", sa.String(512), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        ts("blocked_at", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_blocks")
    op.drop_table("attempts")
    op.drop_table("shipments")
    op.drop_table("deliveries")
