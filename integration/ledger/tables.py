"""The ledger's tables: the inbox of deliveries, one shipment row per order, attempts, account blocks.

SQLAlchemy Core metadata; the Alembic migrations in ``integration/migrations`` create and upgrade
the same schema (``tests/test_ledger.py`` checks that the two agree).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (naive text) and PostgreSQL (timestamptz) alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        # A naive datetime is taken as UTC; everything is stored in UTC so SQLite's text
        # comparison (next_attempt_at <= now) orders correctly.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only

metadata = sa.MetaData()

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("platform", sa.String(32), nullable=False),
    sa.Column("topic", sa.String(128), nullable=False),
    sa.Column("event_id", sa.String(255), nullable=False),
    sa.Column("order_ref", sa.String(128)),
    sa.Column("order_number", sa.String(128)),
    sa.Column("order_updated_at", UTCDateTime()),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("headers", sa.JSON(), nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("personal_erased_at", UTCDateTime()),             # body and headers rewritten without it
    sa.UniqueConstraint("store_id", "event_id", name="uq_deliveries_store_event"),
    # Only deliveries still holding personal data: an order's erasure and the daily pass find theirs.
    sa.Index("ix_deliveries_unerased_order", "store_id", "order_ref",
             postgresql_where=sa.text("personal_erased_at IS NULL"),
             sqlite_where=sa.text("personal_erased_at IS NULL")),
    sa.Index("ix_deliveries_unerased_received", "received_at",
             postgresql_where=sa.text("personal_erased_at IS NULL"),
             sqlite_where=sa.text("personal_erased_at IS NULL")),
)

shipments = sa.Table(
    "shipments", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("order_ref", sa.String(128), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("delivery_id", _ID, sa.ForeignKey("deliveries.id", name="fk_shipments_delivery"),
              nullable=False),
    sa.Column("topic", sa.String(128), nullable=False),
    sa.Column("order_updated_at", UTCDateTime()),
    sa.Column("snapshot_version", sa.Integer(), nullable=False),
    sa.Column("order_number", sa.String(128)),
    sa.Column("jne_order_id", sa.String(64)),
    sa.Column("cnote", sa.String(64)),
    sa.Column("attempts", sa.Integer(), nullable=False),        # JNE calls ever made for this row
    sa.Column("budget_used", sa.Integer(), nullable=False),     # calls since the last (re)queue
    sa.Column("budget_since", UTCDateTime()),                   # first call of the current budget
    sa.Column("next_attempt_at", UTCDateTime()),                # NULL unless queued
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("errors", sa.JSON(), nullable=False),             # {FIELD: [message]}, the owner's words
    sa.Column("problems", sa.JSON(), nullable=False),           # the same as data: Problem.as_dict()
    sa.Column("skip_reason", sa.Text()),
    sa.Column("account_key", sa.String(512)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("booked_at", UTCDateTime()),
    sa.Column("customer_ref", sa.String(64)),                   # the shop's customer id, for requests
    sa.Column("personal_erased_at", UTCDateTime()),             # see integration/ledger/retention.py
    sa.Column("erasure", sa.String(32)),                        # why: retention, customer or shop request
    sa.Column("mapping_version", sa.String(16)),                # the mapping files last tried (short hash)
    sa.UniqueConstraint("store_id", "order_ref", name="uq_shipments_store_order"),
    # Claiming the next due row must stay O(log n) with a million booked rows: a partial index
    # holds only queued rows; the composite one serves status counts and other dialects.
    sa.Index("ix_shipments_due", "next_attempt_at",
             postgresql_where=sa.text("status = 'queued'"), sqlite_where=sa.text("status = 'queued'")),
    sa.Index("ix_shipments_status_next", "status", "next_attempt_at"),
    sa.Index("ix_shipments_store_number", "store_id", "order_number"),
    sa.Index("ix_shipments_store_jne_order", "store_id", "jne_order_id"),
    sa.Index("ix_shipments_account_status", "account_key", "status"),
    # The dashboard's newest-first pages (keyset on updated_at, id) and its search by cnote.
    sa.Index("ix_shipments_updated", "updated_at", "id", postgresql_include=["status", "store_id"]),
    sa.Index("ix_shipments_status_updated", "status", "updated_at", "id", postgresql_include=["store_id"]),
    sa.Index("ix_shipments_store_updated", "store_id", "updated_at", "id"),
    sa.Index("ix_shipments_cnote", "cnote"),
    # Retention: the daily pass reads only rows not yet erased, oldest first; a customer's request
    # finds their orders; deliveries arriving for an order its customer had erased are found daily.
    sa.Index("ix_shipments_personal_due", "updated_at",
             postgresql_where=sa.text("personal_erased_at IS NULL"),
             sqlite_where=sa.text("personal_erased_at IS NULL")),
    sa.Index("ix_shipments_store_customer", "store_id", "customer_ref"),
    sa.Index("ix_shipments_erased_on_request", "store_id", "order_ref",
             postgresql_where=sa.text("erasure = 'customer_request'"),
             sqlite_where=sa.text("erasure = 'customer_request'")),
)

attempts_log = sa.Table(
    "attempts", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("shipment_id", _ID, sa.ForeignKey("shipments.id", name="fk_attempts_shipment"),
              nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("duration_s", sa.Float()),
    sa.Column("jne_order_id", sa.String(64)),
    sa.Column("snapshot_version", sa.Integer()),
    sa.Column("request", sa.JSON(), nullable=False),   # the fields sent, never username/api_key
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("http_status", sa.Integer()),
    sa.Column("reason", sa.Text()),
    sa.Column("reply", sa.Text()),
    sa.Column("worker_id", sa.String(128)),
    sa.Index("ix_attempts_shipment_order", "shipment_id", "jne_order_id"),
)

# Shopify's compliance requests, kept by customer id and time only (never the e-mail or phone they
# carry): ``orders`` is the order ids the request names, ``erased`` how many orders it erased.
privacy_requests = sa.Table(
    "privacy_requests", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("event_id", sa.String(255), nullable=False),
    sa.Column("customer_ref", sa.String(64)),
    sa.Column("orders", sa.JSON(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("done_at", UTCDateTime()),
    sa.Column("erased", sa.Integer(), nullable=False),
    sa.UniqueConstraint("store_id", "event_id", name="uq_privacy_requests_store_event"),
    sa.Index("ix_privacy_requests_customer", "store_id", "customer_ref"),
    sa.Index("ix_privacy_requests_pending", "received_at",
             postgresql_where=sa.text("done_at IS NULL"), sqlite_where=sa.text("done_at IS NULL")),
)

account_blocks = sa.Table(
    "account_blocks", metadata,
    sa.Column("account_key", sa.String(512), primary_key=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("blocked_at", UTCDateTime(), nullable=False),
)


# -- the shop's own API (integration/ledger/writeback.py) -----------------------------------------
# One write-back row per booked shipment of a store that writes back (no row: "off"), its
# append-only attempts log, and per-store cursors (reconcile passes, write-back discovery).

writebacks = sa.Table(
    "writebacks", metadata,
    sa.Column("shipment_id", _ID, sa.ForeignKey("shipments.id", name="fk_writebacks_shipment"),
              primary_key=True, autoincrement=False),
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("order_ref", sa.String(128), nullable=False),
    sa.Column("cnote", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),          # pending / done / failed
    sa.Column("attempts", sa.Integer(), nullable=False),         # shop attempts ever begun
    sa.Column("budget_used", sa.Integer(), nullable=False),      # attempts since the last (re)queue
    sa.Column("next_attempt_at", UTCDateTime()),                 # NULL unless pending
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("errors", sa.JSON(), nullable=False),              # {"writeback": [message]}
    sa.Column("problems", sa.JSON(), nullable=False),            # Problem.as_dict() records
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("done_at", UTCDateTime()),
    sa.Index("ix_writebacks_due", "next_attempt_at",
             postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'")),
    sa.Index("ix_writebacks_store_status", "store_id", "status"),
)

writeback_attempts = sa.Table(
    "writeback_attempts", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("shipment_id", _ID, sa.ForeignKey("shipments.id", name="fk_writeback_attempts_shipment"),
              nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("duration_s", sa.Float()),
    sa.Column("cnote", sa.String(64), nullable=False),
    sa.Column("may_have_written", sa.Boolean(), nullable=False),  # looked at the shop first
    sa.Column("outcome", sa.String(16), nullable=False),          # sending / done / retry / refused
    sa.Column("wrote", sa.Boolean()),
    sa.Column("calls", sa.Integer()),
    sa.Column("reason", sa.Text()),
    sa.Column("reply", sa.Text()),                                # the shop's own words (secrets masked)
    sa.Column("worker_id", sa.String(128)),
    sa.Column("http_status", sa.Integer()),                       # the shop's last answer; NULL: none came
    sa.Index("ix_writeback_attempts_shipment", "shipment_id"),
)

shop_cursors = sa.Table(
    "shop_cursors", metadata,
    sa.Column("store_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),          # reconcile / writeback
    sa.Column("position", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("detail", sa.JSON()),                              # what the last pass did
)
