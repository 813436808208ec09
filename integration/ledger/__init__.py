"""The ledger: inbox of deliveries, one shipment row per order, the attempts log, account blocks.

SQLAlchemy 2 Core on SQLite (the default, one box) or PostgreSQL (many machines); the schema is
created and upgraded by the Alembic migrations in ``integration/migrations``. Every function takes
an engine and runs its own short transaction, so callers (web requests, worker threads, the CLI)
never hold a transaction open across a network call.

Concurrency: every write is a single conditional statement or an ``INSERT ... ON CONFLICT`` (no
check-then-insert), so several gunicorn processes and several workers can share one database.
On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` and writers of this code take
turns on a lock file (:mod:`integration.ledger.engine`); on PostgreSQL workers claim rows with
``FOR UPDATE SKIP LOCKED`` (:mod:`integration.ledger.queue`).

The modules, by concern: ``tables`` (the schema), ``engine`` (engines, SQLite's write turns,
upgrades, pings), ``inbox`` (deliveries in), ``queue`` (claims, attempts, results), ``queries``
(what the CLI and pages read), ``replay`` (queue again after a fix), ``retention`` (personal data
erased after retention or on request), ``writeback`` (the cnote written back to the shop, and
per-store cursors). The ledger knows nothing of the configuration: callers pass it plain values.
"""

from integration.ledger import retention, writeback  # ledger.retention.*, ledger.writeback.*
from integration.ledger.engine import (
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    normalise_database_url,
    ping,
    upgrade,
    utcnow,
)
from integration.ledger.inbox import Delivery, ingest, ingest_in
from integration.ledger.queries import attempts, find_shipment, list_shipments, queue_depth
from integration.ledger.queue import (
    AccountBlocked,
    Attempt,
    AttemptResult,
    Claim,
    LeaseLost,
    Settlement,
    begin_attempt,
    blocked_accounts,
    claim,
    end_attempt,
    extend_lease,
    finish,
    record_booked,
    release,
)
from integration.ledger.replay import ReplayError, replay, replay_status
from integration.ledger.tables import (
    account_blocks,
    attempts_log,
    deliveries,
    metadata,
    privacy_requests,
    shipments,
)

__all__ = [
    "AccountBlocked", "Attempt", "AttemptResult", "Claim", "Delivery", "LeaseLost", "ReplayError",
    "Settlement", "account_blocks", "attempts", "attempts_log", "begin_attempt", "blocked_accounts",
    "claim", "current_revision", "deliveries", "end_attempt", "ensure_schema", "extend_lease",
    "find_shipment", "finish", "head_revision", "ingest", "ingest_in", "list_shipments", "make_engine",
    "metadata", "normalise_database_url", "ping", "privacy_requests", "queue_depth", "record_booked",
    "release", "replay", "replay_status", "retention", "shipments", "upgrade", "utcnow", "writeback",
]
