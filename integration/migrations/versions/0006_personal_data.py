"""Personal data: erasure marks on deliveries and shipments, customer ids, Shopify's privacy requests.

``deliveries.personal_erased_at`` and ``shipments.personal_erased_at`` / ``erasure`` record that an
order's personal data was erased and why (``integration/ledger/retention.py``); the partial indexes
hold only rows not yet erased, so the daily pass reads what is due and nothing else.
``shipments.customer_ref`` is the shop's customer id, recorded at ingest (NULL for orders stored
before, which a request still finds by the order ids it names). ``privacy_requests`` keeps Shopify's
compliance requests by customer id and time, never the e-mail or phone they carry.

On an existing ledger every row is "not yet erased", so the two partial indexes on deliveries start
as large as the table (building them holds writes back for as long as it takes: seconds per
million rows); the first ``prune`` erases what is past retention and they shrink to the recent rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNERASED = sa.text("personal_erased_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("personal_erased_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("customer_ref", sa.String(64)))
        batch.add_column(sa.Column("personal_erased_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("erasure", sa.String(32)))
    op.create_index("ix_deliveries_unerased_order", "deliveries", ["store_id", "order_ref"],
                    postgresql_where=UNERASED, sqlite_where=UNERASED)
    op.create_index("ix_deliveries_unerased_received", "deliveries", ["received_at"],
                    postgresql_where=UNERASED, sqlite_where=UNERASED)
    op.create_index("ix_shipments_personal_due", "shipments", ["updated_at"],
                    postgresql_where=UNERASED, sqlite_where=UNERASED)
    op.create_index("ix_shipments_store_customer", "shipments", ["store_id", "customer_ref"])
    on_request = sa.text("erasure = 'customer_request'")
    op.create_index("ix_shipments_erased_on_request", "shipments", ["store_id", "order_ref"],
                    postgresql_where=on_request, sqlite_where=on_request)
    op.create_table(
        "privacy_requests",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("customer_ref", sa.String(64)),
        sa.Column("orders", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("erased", sa.Integer(), nullable=False),
        sa.UniqueConstraint("store_id", "event_id", name="uq_privacy_requests_store_event"),
    )
    op.create_index("ix_privacy_requests_customer", "privacy_requests", ["store_id", "customer_ref"])
    pending = sa.text("done_at IS NULL")
    op.create_index("ix_privacy_requests_pending", "privacy_requests", ["received_at"],
                    postgresql_where=pending, sqlite_where=pending)


def downgrade() -> None:
    op.drop_table("privacy_requests")
    for name in ("ix_shipments_erased_on_request", "ix_shipments_store_customer", "ix_shipments_personal_due"):
        op.drop_index(name, table_name="shipments")
    for name in ("ix_deliveries_unerased_received", "ix_deliveries_unerased_order"):
        op.drop_index(name, table_name="deliveries")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("erasure")
        batch.drop_column("personal_erased_at")
        batch.drop_column("customer_ref")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("personal_erased_at")
