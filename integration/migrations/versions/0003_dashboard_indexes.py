"""Indexes for the owner's dashboard: newest-first lists by status and store, search by cnote.

The orders page pages by keyset on (updated_at, id), newest first, within a status tab or a store;
without these it would sort the whole table per page on a ledger of millions. Searching by cnote
(the airwaybill a customer reads out on the phone) is an equality on an indexed column.

Revision ID: 0003
Revises: 0002
Create Date: 2025-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_shipments_updated", "shipments", ["updated_at", "id"])
    op.create_index("ix_shipments_status_updated", "shipments", ["status", "updated_at", "id"])
    op.create_index("ix_shipments_store_updated", "shipments", ["store_id", "updated_at", "id"])
    op.create_index("ix_shipments_cnote", "shipments", ["cnote"])


def downgrade() -> None:
    for name in ("ix_shipments_cnote", "ix_shipments_store_updated", "ix_shipments_status_updated",
                 "ix_shipments_updated"):
        op.drop_index(name, table_name="shipments")
