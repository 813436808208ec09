"""Indexes for the owner's dashboard: newest-first lists by status and store, search by cnote, the chart of the last days.

The orders page pages by keyset on (updated_at, id), newest first, within a status tab or a store;
without these it would sort the whole table per page on a ledger of millions. Searching by cnote
(the airwaybill a customer reads out on the phone) is an equality on an indexed column.

Revision ID: 0004
Revises: 0003
Create Date: 2025-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # status and store_id ride along (PostgreSQL INCLUDE): the chart of the last days counts them
    # from the index alone, without visiting a table row per order.
    op.create_index("ix_shipments_updated", "shipments", ["updated_at", "id"],
                    postgresql_include=["status", "store_id"])
    # store_id rides along so a tab's count within the user's stores is read from the index alone.
    op.create_index("ix_shipments_status_updated", "shipments", ["status", "updated_at", "id"],
                    postgresql_include=["store_id"])
    op.create_index("ix_shipments_store_updated", "shipments", ["store_id", "updated_at", "id"])
    op.create_index("ix_shipments_cnote", "shipments", ["cnote"])


def downgrade() -> None:
    for name in ("ix_shipments_cnote", "ix_shipments_store_updated", "ix_shipments_status_updated",
                 "ix_shipments_updated"):
        op.drop_index(name, table_name="shipments")
