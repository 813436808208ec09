"""The ledger: inbox of deliveries, one shipment row per order, the attempts log, account blocks.

SQLAlchemy 2 Core on SQLite (the default, one box) or PostgreSQL (many machines); the schema is
created and upgraded by the Alembic migrations in ``integration/migrations``. Every function takes
an engine and runs its own short transaction, so callers (web requests, worker threads, the CLI)
never hold a transaction open across a network call.

Concurrency: every write is a single conditional statement or an ``INSERT ... ON CONFLICT`` (no
check-then-insert), so several gunicorn processes and several workers can share one database.
On SQLite every write transaction starts with ``BEGIN IMMEDIATE``: the write lock is taken up
front and waits out ``busy_timeout`` instead of failing half-way through (WAL readers never
block); writers of this code queue for it on a lock file first, so they are woken at once instead
of polling in SQLite's busy handler. On PostgreSQL workers claim rows with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from integration import file_modes
from integration.config import normalise_database_url
from integration.errors import IntegrationError

STATUSES = ("queued", "booked", "needs_attention", "blocked", "failed", "skipped")
REPLAYABLE = ("queued", "needs_attention", "blocked", "failed", "skipped")
# An earlier attempt with one of these outcomes may have reached JNE and been booked there (the
# reply can be lost), so a later "duplicate" for the same ORDER_ID is this row's own booking.
MAY_HAVE_BOOKED = ("sending", "booked", "duplicate", "transient")
REPLY_MAX_CHARS = 2000
SECRET_FIELDS = frozenset({"USERNAME", "API_KEY", "username", "api_key"})
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")
# How long a SQLite writer waits for another process's write: writes take milliseconds, so this
# is only reached when something is wedged, and a webhook should then fail (503) rather than hang.
SQLITE_BUSY_TIMEOUT_S = 10.0


class ReplayError(IntegrationError):
    """A replay that cannot be done (unknown order, already booked); ``reason`` says why."""


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
    sa.UniqueConstraint("store_id", "event_id", name="uq_deliveries_store_event"),
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
    sa.Column("errors", sa.JSON(), nullable=False),
    sa.Column("skip_reason", sa.Text()),
    sa.Column("account_key", sa.String(512)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("booked_at", UTCDateTime()),
    sa.UniqueConstraint("store_id", "order_ref", name="uq_shipments_store_order"),
    # Claiming the next due row must stay O(log n) with a million booked rows: a partial index
    # holds only queued rows; the composite one serves status counts and other dialects.
    sa.Index("ix_shipments_due", "next_attempt_at",
             postgresql_where=sa.text("status = 'queued'"), sqlite_where=sa.text("status = 'queued'")),
    sa.Index("ix_shipments_status_next", "status", "next_attempt_at"),
    sa.Index("ix_shipments_store_number", "store_id", "order_number"),
    sa.Index("ix_shipments_store_jne_order", "store_id", "jne_order_id"),
    sa.Index("ix_shipments_account_status", "account_key", "status"),
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

account_blocks = sa.Table(
    "account_blocks", metadata,
    sa.Column("account_key", sa.String(512), primary_key=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("blocked_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as received (signature header removed); ``body`` is the raw bytes."""

    store_id: str
    platform: str
    topic: str
    event_id: str
    order_ref: str | None
    order_number: str | None
    order_updated_at: datetime | None
    headers: dict[str, str]
    body: bytes
    received_at: datetime


def utcnow() -> datetime:
    """The current time, aware, UTC."""
    return datetime.now(UTC)


# -- engine and schema --------------------------------------------------------------------------

def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """An engine for ``database_url`` set up for many processes: SQLite WAL + busy timeout, PG pre-ping.

    ``pool_pre_ping=False`` saves a round trip per checkout where the caller retries a dropped
    connection itself (the web app: ``ingest`` and ``ping`` do).
    """
    url = normalise_database_url(database_url)
    # Worker threads (concurrency 8-16) and web threads hold a connection only per statement
    # batch, never across a JNE call; this leaves headroom for both in one process (serve).
    if not (url in ("sqlite://", "sqlite:///") or ":memory:" in url or "mode=memory" in url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    if url.startswith("sqlite"):
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        connect_args.setdefault("check_same_thread", False)
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        _setup_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


class _SQLiteWriteLock:
    """Writers of one SQLite database take turns, woken as soon as the one before them commits.

    Threads of a process queue on a ``threading.Lock``; processes (gunicorn workers, the booking
    worker) queue on ``flock`` of ``<database>-writelock`` beside the file. Both wake a waiter the
    moment the lock is free, where SQLite's own busy handler sleeps 1, 2, 5 ... up to 100 ms per
    try: with four gunicorn workers that made a webhook's p99 ~450 ms. The wait is polled (sleeps
    of at most 0.5 ms) so that a wedged writer still ends in an error after the busy timeout
    instead of a hung request. BEGIN IMMEDIATE and busy_timeout remain the guard against any other writer.
    """

    def __init__(self, path: str | None):
        self.threads = threading.Lock()
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int | None:
        if self.path is None:
            return None
        if self._pid != os.getpid():  # a forked child must not share its parent's flock
            self._pid, self._fd = os.getpid(), None
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                return None  # directory gone or read-only: the database itself will say so
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        """The write turn of this thread, in this process and among processes."""
        with self.threads:
            fd = self._file()
            if fd is None:
                yield
                return
            deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
            pause = 0.00005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break  # let BEGIN IMMEDIATE wait out busy_timeout and fail as SQLite does
                    time.sleep(pause)
                    pause = min(pause * 2, 0.0005)
                except OSError:
                    fd = None
                    break
            try:
                yield
            finally:
                if fd is not None:
                    with suppress(OSError):
                        fcntl.flock(fd, fcntl.LOCK_UN)


_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, _SQLiteWriteLock] = weakref.WeakKeyDictionary()


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite the writers take turns (see _SQLiteWriteLock) before BEGIN IMMEDIATE."""
    lock = _SQLITE_WRITE_LOCKS.get(engine)
    if lock is None:
        with engine.begin() as conn:
            yield conn
        return
    with lock.hold(), engine.begin() as conn:
        yield conn


def _setup_sqlite(engine: Engine) -> None:
    database = engine.url.database
    on_disk = bool(database) and database != ":memory:" and "mode=memory" not in str(engine.url)
    _SQLITE_WRITE_LOCKS[engine] = _SQLiteWriteLock(f"{database}-writelock" if on_disk else None)
    if on_disk:
        file_modes.secure_sqlite_files(database)  # personal data: 0600, WAL and SHM follow the file

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so "begin" below decides how to BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        # WAL: readers never block the writer; switching needs a moment without other writers,
        # which the busy timeout above waits for.
        cur.execute("PRAGMA journal_mode = WAL")
        # FULL: a delivery answered 200 survives a power cut too (WAL fsync per commit, ~0.3 ms).
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN (waiting out busy_timeout), so a transaction
        # never fails half-way when another process wrote first. Read-only work asks for DEFERRED.
        mode = "DEFERRED" if conn.get_execution_options().get("sqlite_read_only") else "IMMEDIATE"
        # Straight to the driver: exec_driver_sql would run SQLAlchemy's whole execution path
        # (events, result set-up) for a statement that returns nothing, on every transaction.
        conn.connection.driver_connection.execute(f"BEGIN {mode}")


@contextmanager
def _reading(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_read_only=True)
        with conn.begin():
            yield conn


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


_upgrade_lock = threading.Lock()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (``jne-integration db upgrade``); idempotent, race-safe."""
    from alembic import command

    with _upgrade_lock, _writing(engine) as conn:
        # One transaction for the whole upgrade: on SQLite BEGIN IMMEDIATE serialises racing
        # processes, on PostgreSQL an advisory lock does; the loser then finds the head applied.
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7352066017)")
        command.upgrade(_alembic_config(conn), "head")


def head_revision() -> str:
    """The newest migration's revision id."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    from alembic.runtime.migration import MigrationContext

    with _reading(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Upgrade only when the database is empty or behind (``serve`` and ``worker`` call this at start)."""
    if current_revision(engine) != head_revision():
        upgrade(engine)


def ping(engine: Engine) -> bool:
    """True when the database answers (a pooled connection the server dropped is replaced once)."""
    try:
        _once_more_if_dropped(lambda: _select_one(engine))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return False


def _select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


def _once_more_if_dropped(work: Callable[[], T]) -> T:
    """Run ``work``; again once if it failed on a pooled connection the server had closed.

    For engines without ``pool_pre_ping`` (the web app's: a ping per request was a fifth of an
    ingest's database time). SQLAlchemy has by then thrown the stale connections away, so the
    second try gets a fresh one; only idempotent work may be passed (ingest is: a repeat is a
    duplicate).
    """
    try:
        return work()
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return work()


# -- ingest -------------------------------------------------------------------------------------
#
# The ingest statements are built once per dialect and run with bound parameters: building and
# cache-keying them on every call was ~2 ms of the ~3 ms a 20-line order took in-process. On
# PostgreSQL the whole ingest is one statement (data-modifying CTEs) sent in autocommit, so a
# webhook costs one round trip to the server instead of BEGIN, two statements and COMMIT.

_DELIVERY_COLUMNS = ("store_id", "platform", "topic", "event_id", "order_ref", "order_number",
                     "order_updated_at", "received_at", "headers", "body")


def _insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which has on_conflict_do_nothing/do_update."""
    return (postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table))


def _sql_literal(text: str) -> Any:
    """A constant string written into the SQL (no expanding IN list to render per call)."""
    return sa.literal_column("'" + text.replace("'", "''") + "'")


class _IngestSQL(NamedTuple):
    delivery: Any        # INSERT the delivery unless its event is known; RETURNING id
    shipment: Any        # upsert the order's shipment for :delivery_id; RETURNING id
    status: Any          # the order's shipment status
    combined: Any        # PostgreSQL: the three above as one statement; None elsewhere


_INGEST_SQL: dict[str, _IngestSQL] = {}


def _ingest_sql(dialect: str) -> _IngestSQL:
    sql = _INGEST_SQL.get(dialect)
    if sql is None:  # two threads may both build it; either result is the same
        sql = _INGEST_SQL.setdefault(dialect, _build_ingest_sql(dialect))
    return sql


def _build_ingest_sql(dialect: str) -> _IngestSQL:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    d, s = deliveries, shipments

    def param(name: str, column: sa.Column[Any], cast: bool = False) -> Any:
        bound = sa.bindparam(name, type_=column.type)
        # In INSERT ... SELECT PostgreSQL types a bare parameter (or NULL) as text; say what it is.
        return sa.cast(bound, column.type) if cast else bound

    new_delivery = (insert(d).values({c: param(c, d.c[c]) for c in _DELIVERY_COLUMNS})
                    .on_conflict_do_nothing(index_elements=["store_id", "event_id"]).returning(d.c.id))

    def shipment_values(delivery_id: Any, cast: bool) -> dict[str, Any]:
        return {
            "store_id": param("store_id", s.c.store_id, cast),
            "order_ref": param("order_ref", s.c.order_ref, cast),
            "status": _sql_literal("queued"),
            "delivery_id": delivery_id,
            "topic": param("topic", s.c.topic, cast),
            "order_updated_at": param("order_updated_at", s.c.order_updated_at, cast),
            "snapshot_version": sa.literal_column("1"),
            "order_number": param("order_number", s.c.order_number, cast),
            "attempts": sa.literal_column("0"),
            "budget_used": sa.literal_column("0"),
            "next_attempt_at": param("now", s.c.next_attempt_at, cast),
            # SQLite would read CAST(... AS JSON) as a number; it stores JSON as text anyway.
            "errors": sa.cast(_sql_literal("{}"), s.c.errors.type) if cast else _sql_literal("{}"),
            "created_at": param("now", s.c.created_at, cast),
            "updated_at": param("now", s.c.updated_at, cast),
        }

    def upsert(stmt: Any) -> Any:
        new = stmt.excluded
        # A newer snapshot gives the owner's fix in the shop a new chance; blocked rows wait for
        # the credentials, queued rows keep their place (and backoff).
        requeue = s.c.status.in_([_sql_literal(v) for v in ("needs_attention", "failed", "skipped")])
        return stmt.on_conflict_do_update(
            index_elements=["store_id", "order_ref"],
            set_={
                "delivery_id": new.delivery_id,
                "topic": new.topic,
                "order_updated_at": new.order_updated_at,
                "order_number": sa.func.coalesce(new.order_number, s.c.order_number),
                "snapshot_version": s.c.snapshot_version + 1,
                "status": sa.case((requeue, "queued"), else_=s.c.status),
                "next_attempt_at": sa.case((requeue, new.next_attempt_at), else_=s.c.next_attempt_at),
                "budget_used": sa.case((requeue, 0), else_=s.c.budget_used),
                "budget_since": sa.case((requeue, None), else_=s.c.budget_since),
                "errors": sa.case((requeue, new.errors), else_=s.c.errors),
                "skip_reason": sa.case((requeue, None), else_=s.c.skip_reason),
                "updated_at": new.updated_at,
            },
            # Newest updated_at wins (ties too: a later delivery of the same second is the later
            # state); when either side has no updated_at the later delivery wins.
            where=sa.and_(
                s.c.status != "booked",
                sa.or_(new.order_updated_at.is_(None), s.c.order_updated_at.is_(None),
                       new.order_updated_at >= s.c.order_updated_at),
            ),
        ).returning(s.c.id)

    this_order = sa.and_(s.c.store_id == sa.bindparam("store_id"), s.c.order_ref == sa.bindparam("order_ref"))
    status = sa.select(s.c.status).where(this_order)
    shipment = upsert(insert(s).values(shipment_values(sa.bindparam("delivery_id", type_=s.c.delivery_id.type),
                                                       cast=False)))
    combined = None
    if dialect == "postgresql":
        stored = new_delivery.cte("new_delivery")
        values = shipment_values(stored.c.id, cast=True)
        upserted = upsert(insert(s).from_select(list(values), sa.select(*values.values()))).cte("upserted")
        # Every data-modifying CTE runs once; the status subquery sees the row as it was before
        # this statement, which is what "ignored" needs when the upsert changed nothing.
        combined = sa.select(sa.select(stored.c.id).scalar_subquery().label("delivery_id"),
                             sa.select(upserted.c.id).scalar_subquery().label("shipment_id"),
                             status.scalar_subquery().label("status"))
    return _IngestSQL(new_delivery, shipment, status, combined)


def _ingest_params(d: Delivery) -> dict[str, Any]:
    return {"store_id": d.store_id, "platform": d.platform, "topic": d.topic, "event_id": d.event_id,
            "order_ref": d.order_ref, "order_number": d.order_number,
            "order_updated_at": d.order_updated_at, "received_at": d.received_at,
            "headers": dict(d.headers), "body": bytes(d.body), "now": utcnow()}


def _outcome(delivery_id: int | None, shipment_id: int | None, status: str | None) -> str:
    if delivery_id is None:
        return "duplicate"
    if shipment_id is not None:
        return "stored"
    # An older, out-of-order delivery is kept in the inbox but does not replace the snapshot.
    return "ignored" if status == "booked" else "stored"


def ingest(engine: Engine, delivery: Delivery) -> str:
    """Store one delivery and upsert its order's shipment in one transaction: 'stored' | 'duplicate' | 'ignored'."""
    sql = _ingest_sql(engine.dialect.name)
    if sql.combined is not None and delivery.order_ref is not None:
        params = _ingest_params(delivery)

        def run() -> str:
            with engine.connect() as conn:
                # One statement is its own transaction: no BEGIN/COMMIT round trips around it.
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                row = conn.execute(sql.combined, params).one()
            return _outcome(row.delivery_id, row.shipment_id, row.status)

        return _once_more_if_dropped(run)

    def steps() -> str:
        with _writing(engine) as conn:
            return ingest_in(conn, delivery)

    return _once_more_if_dropped(steps)


def ingest_in(conn: Connection, d: Delivery) -> str:
    """:func:`ingest` inside the caller's transaction."""
    sql = _ingest_sql(conn.dialect.name)
    params = _ingest_params(d)
    delivery_id = conn.execute(sql.delivery, params).scalar()
    if delivery_id is None or d.order_ref is None:
        return _outcome(delivery_id, None, None) if delivery_id is None else "stored"
    shipment_id = conn.execute(sql.shipment, {**params, "delivery_id": delivery_id}).scalar()
    if shipment_id is not None:
        return "stored"
    return _outcome(delivery_id, None, conn.execute(sql.status, params).scalar())


# -- reading ------------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _shipment_dict(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "store": m["store_id"],
        "order": m["order_ref"],
        "order_number": m["order_number"],
        "order_id": m["jne_order_id"],
        "status": m["status"],
        "cnote": m["cnote"],
        "attempts": m["attempts"],
        "errors": dict(m["errors"] or {}),
        "updated_at": _iso(m["updated_at"]),
        "skip_reason": m["skip_reason"],
        "booked_at": _iso(m["booked_at"]),
        "next_attempt_at": _iso(m["next_attempt_at"]) if m["status"] == "queued" else None,
    }


def queue_depth(engine: Engine) -> dict[str, int]:
    """How many shipments are in each status (every status present, 0 when none)."""
    counts = dict.fromkeys(STATUSES, 0)
    with _reading(engine) as conn:
        for status, n in conn.execute(
                sa.select(shipments.c.status, sa.func.count()).group_by(shipments.c.status)):
            counts[status] = int(n)
    return counts


def list_shipments(engine: Engine, store: str | None = None, status: str | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
    """Shipments, most recently updated first, as the ``status --json`` objects."""
    q = sa.select(shipments)
    if store is not None:
        q = q.where(shipments.c.store_id == store)
    if status is not None:
        q = q.where(shipments.c.status == status)
    q = q.order_by(shipments.c.updated_at.desc(), shipments.c.id.desc())
    if limit is not None:
        q = q.limit(limit)
    with _reading(engine) as conn:
        return [_shipment_dict(r) for r in conn.execute(q)]


def _find_row(conn: Connection, store: str, order: str) -> Any:
    """The shipment row for ``order`` as the owner names it: order id, number (with or without #), ORDER_ID."""
    s = shipments
    order = order.strip()
    bare = order.lstrip("#")
    candidates = [
        s.c.order_ref == order,
        s.c.order_number.in_({order, bare, "#" + bare}),
        s.c.jne_order_id == order.upper(),
    ]
    for cond in candidates:  # in that order of preference: an order id beats a number
        row = conn.execute(sa.select(s).where(s.c.store_id == store, cond)
                           .order_by(s.c.id).limit(1)).first()
        if row is not None:
            return row
    return None


def find_shipment(engine: Engine, store: str, order: str) -> dict[str, Any] | None:
    """One shipment by store and order id, order number (with or without '#') or JNE ORDER_ID."""
    with _reading(engine) as conn:
        row = _find_row(conn, store, order)
    return _shipment_dict(row) if row is not None else None


def attempts(engine: Engine, store: str, order: str) -> list[dict[str, Any]]:
    """The attempts log of one shipment, oldest first (empty when the order is unknown)."""
    a = attempts_log
    with _reading(engine) as conn:
        row = _find_row(conn, store, order)
        if row is None:
            return []
        rows = conn.execute(sa.select(a).where(a.c.shipment_id == row.id).order_by(a.c.id)).all()
    return [{
        "id": r.id, "started_at": _iso(r.started_at), "duration_s": r.duration_s,
        "order_id": r.jne_order_id, "outcome": r.outcome, "http_status": r.http_status,
        "reason": r.reason, "reply": r.reply, "worker": r.worker_id, "request": dict(r.request or {}),
    } for r in rows]


# -- replay -------------------------------------------------------------------------------------

def _requeue_values(now: datetime) -> dict[str, Any]:
    return {"status": "queued", "next_attempt_at": now, "budget_used": 0, "budget_since": None,
            "errors": {}, "skip_reason": None, "updated_at": now}


def _requeue_blocked_account(conn: Connection, account_key: str, now: datetime) -> set[int]:
    """Lift an account's block and put every shipment it blocked back in the queue; their ids."""
    conn.execute(sa.delete(account_blocks).where(account_blocks.c.account_key == account_key))
    res = conn.execute(sa.update(shipments)
                       .where(shipments.c.account_key == account_key, shipments.c.status == "blocked")
                       .values(**_requeue_values(now), lease_owner=None, lease_until=None)
                       .returning(shipments.c.id))
    return set(res.scalars())


def replay(engine: Engine, store: str, order: str) -> dict[str, Any]:
    """Requeue one shipment with a fresh retry budget (not a booked one); lifts its account's block.

    Returns the shipment as :func:`list_shipments` does, plus ``requeued``: how many shipments
    went back to the queue (more than one when an account block was lifted).
    """
    now = utcnow()
    s = shipments
    with _writing(engine) as conn:
        row = _find_row(conn, store, order)
        if row is None:
            raise ReplayError(f"no order {order!r} in store {store!r} (use the order id, the order "
                              "number or the JNE ORDER_ID that `jne-integration status` shows)")
        if row.status == "booked":
            raise ReplayError(f"order {order!r} of store {store!r} is already booked at JNE "
                              f"(cnote {row.cnote}); replaying it would book a second pickup")
        requeued: set[int] = set()
        if row.account_key is not None and (row.status == "blocked" or conn.execute(
                sa.select(account_blocks.c.account_key)
                .where(account_blocks.c.account_key == row.account_key)).first() is not None):
            requeued |= _requeue_blocked_account(conn, row.account_key, now)
        values = _requeue_values(now)
        if row.status != "queued":
            values.update(lease_owner=None, lease_until=None)
        # A queued row may be in a worker's hands right now: keep its lease, only make it due.
        if row.id not in requeued:
            conn.execute(sa.update(s).where(s.c.id == row.id, s.c.status != "booked").values(**values))
            requeued.add(row.id)
        out = conn.execute(sa.select(s).where(s.c.id == row.id)).one()
    result = _shipment_dict(out)
    result["requeued"] = len(requeued)
    return result


def replay_status(engine: Engine, status: str, store: str | None = None) -> int:
    """Requeue every shipment with ``status`` (optionally of one store); returns how many."""
    if status not in REPLAYABLE:
        raise ReplayError(f"cannot replay status {status!r}: choose one of {', '.join(REPLAYABLE)}"
                          + (" (booked orders are never booked twice)" if status == "booked" else ""))
    now = utcnow()
    s = shipments
    cond = [s.c.status == status] + ([s.c.store_id == store] if store is not None else [])
    with _writing(engine) as conn:
        if status == "blocked":
            keys = conn.execute(sa.select(s.c.account_key).where(*cond).distinct()).scalars().all()
            for key in keys:
                if key is not None:
                    conn.execute(sa.delete(account_blocks).where(account_blocks.c.account_key == key))
        values = _requeue_values(now)
        if status != "queued":
            values.update(lease_owner=None, lease_until=None)
        return conn.execute(sa.update(s).where(*cond).values(**values)).rowcount or 0


# -- the worker's statements --------------------------------------------------------------------

class _WorkerSQL(NamedTuple):
    """The worker's per-booking statements, built once and run with bound parameters.

    Built per call they cost the worker ~1 ms of CPU each (construction and cache keys) of ~5 ms
    per booking, in one process whose threads share the GIL: the difference between 125 and
    160 bookings a second at 16 concurrent 100 ms calls.
    """

    due: Any            # claim: lease up to :p_limit due rows
    bodies: Any         # claim: the snapshots of the claimed rows
    send: Any           # begin_attempt: still ours, queued, account not blocked -> count the call
    is_blocked: Any
    sent_before: Any    # begin_attempt: an earlier call of this row may have booked this ORDER_ID
    log_attempt: Any    # begin_attempt: the 'sending' row of the attempts log
    end_attempt: Any    # how the call ended
    booked: Any         # record_booked
    # PostgreSQL: each of the three above as one statement (data-modifying CTEs), sent in
    # autocommit: one round trip instead of four or five, and fewer GIL hand-offs per booking.
    due_pg: Any
    send_pg: Any
    booked_pg: Any      # with the attempt's result


_WORKER_SQL: list[_WorkerSQL] = []


def _worker_sql() -> _WorkerSQL:
    if not _WORKER_SQL:  # two threads may both build it; either result is the same
        _WORKER_SQL.append(_build_worker_sql())
    return _WORKER_SQL[0]


def _build_worker_sql() -> _WorkerSQL:
    s, a, d = shipments, attempts_log, deliveries

    def p(name: str, column: sa.Column[Any]) -> Any:
        # "p_" names: SQLAlchemy reserves a column's own name in SET/VALUES for itself.
        return sa.bindparam(f"p_{name}", type_=column.type)

    queued = s.c.status == _sql_literal("queued")
    due_ids = (sa.select(s.c.id)
               .where(queued, s.c.next_attempt_at <= p("now", s.c.next_attempt_at),
                      sa.or_(s.c.lease_until.is_(None), s.c.lease_until <= p("now", s.c.lease_until)))
               # next_attempt_at alone: the partial index gives that order, so the scan stops at
               # the limit instead of sorting every due row (a flash sale queues thousands).
               .order_by(s.c.next_attempt_at).limit(sa.bindparam("p_limit", type_=sa.Integer()))
               # PostgreSQL: rows another worker is claiming right now are skipped, not waited
               # for. SQLite ignores this; its BEGIN IMMEDIATE makes the whole statement exclusive.
               .with_for_update(skip_locked=True))
    # next_attempt_at moves to the lease's end too, so rows in flight sort behind the due ones
    # and an expired lease (killed worker) makes the row due again by itself.
    due = (sa.update(s).where(s.c.id.in_(due_ids.scalar_subquery()))
           .values(lease_owner=p("worker", s.c.lease_owner), lease_until=p("until", s.c.lease_until),
                   next_attempt_at=p("until", s.c.next_attempt_at))
           .returning(s.c.id, s.c.store_id, s.c.order_ref, s.c.order_number, s.c.topic,
                      s.c.snapshot_version, s.c.delivery_id, s.c.jne_order_id, s.c.attempts,
                      s.c.budget_used, s.c.budget_since, s.c.account_key))
    bodies = (sa.select(d.c.id, d.c.body, d.c.received_at)
              .where(d.c.id.in_(sa.bindparam("p_ids", expanding=True))))

    blocked = sa.exists().where(account_blocks.c.account_key == p("account", account_blocks.c.account_key))
    send = (sa.update(s)
            .where(s.c.id == p("shipment", s.c.id), s.c.lease_owner == p("worker", s.c.lease_owner), queued,
                   ~blocked)
            .values(jne_order_id=p("order_id", s.c.jne_order_id), account_key=p("account", s.c.account_key),
                    attempts=s.c.attempts + 1, budget_used=s.c.budget_used + 1,
                    budget_since=sa.func.coalesce(s.c.budget_since, p("now", s.c.budget_since)),
                    lease_until=p("until", s.c.lease_until), next_attempt_at=p("until", s.c.next_attempt_at),
                    updated_at=p("now", s.c.updated_at))
            .returning(s.c.attempts, s.c.budget_used, s.c.budget_since))
    sent_before = (sa.select(a.c.id)
                   .where(a.c.shipment_id == p("shipment", a.c.shipment_id),
                          a.c.jne_order_id == p("order_id", a.c.jne_order_id),
                          a.c.outcome.in_([_sql_literal(o) for o in MAY_HAVE_BOOKED]))
                   .limit(1))
    log_attempt = (sa.insert(a)
                   .values(shipment_id=p("shipment", a.c.shipment_id), started_at=p("now", a.c.started_at),
                           jne_order_id=p("order_id", a.c.jne_order_id),
                           snapshot_version=p("version", a.c.snapshot_version), request=p("request", a.c.request),
                           outcome=_sql_literal("sending"), worker_id=p("worker", a.c.worker_id))
                   .returning(a.c.id))
    end_attempt = (sa.update(a).where(a.c.id == p("attempt", a.c.id))
                   .values(outcome=p("outcome", a.c.outcome), duration_s=p("duration", a.c.duration_s),
                           http_status=p("http_status", a.c.http_status), reason=p("reason", a.c.reason),
                           reply=p("reply", a.c.reply)))
    booked = (sa.update(s).where(s.c.id == p("shipment", s.c.id))
              .values(status=_sql_literal("booked"), cnote=p("cnote", s.c.cnote),
                      jne_order_id=p("order_id", s.c.jne_order_id), booked_at=p("now", s.c.booked_at),
                      updated_at=p("now", s.c.updated_at), errors=_sql_literal("{}"), skip_reason=sa.null(),
                      next_attempt_at=sa.null(), lease_owner=sa.null(), lease_until=sa.null(),
                      account_key=sa.func.coalesce(p("account", s.c.account_key), s.c.account_key)))
    claimed = due.cte("claimed")
    due_pg = sa.select(claimed, d.c.body, d.c.received_at).select_from(
        claimed.outerjoin(d, d.c.id == claimed.c.delivery_id))
    sent = send.cte("sent")
    log_values = {"shipment_id": sa.cast(p("shipment", a.c.shipment_id), a.c.shipment_id.type),
                  "started_at": sa.cast(p("now", a.c.started_at), a.c.started_at.type),
                  "jne_order_id": sa.cast(p("order_id", a.c.jne_order_id), a.c.jne_order_id.type),
                  "snapshot_version": sa.cast(p("version", a.c.snapshot_version), a.c.snapshot_version.type),
                  "request": sa.cast(p("request", a.c.request), a.c.request.type),
                  "outcome": _sql_literal("sending"),
                  "worker_id": sa.cast(p("worker", a.c.worker_id), a.c.worker_id.type)}
    logged = (sa.insert(a).from_select(list(log_values), sa.select(*log_values.values()).select_from(sent))
              .returning(a.c.id).cte("logged"))
    # The EXISTS checks read the rows as they were before this statement, as the separate
    # statements did before the INSERT.
    send_pg = sa.select(sa.select(sent.c.attempts).scalar_subquery().label("attempts"),
                        sa.select(sent.c.budget_used).scalar_subquery().label("budget_used"),
                        sa.select(sent.c.budget_since).scalar_subquery().label("budget_since"),
                        sa.select(logged.c.id).scalar_subquery().label("attempt_id"),
                        sent_before.exists().label("sent_before"), blocked.label("is_blocked"))
    booked_pg = booked.add_cte(end_attempt.returning(a.c.id).cte("ended"))
    return _WorkerSQL(due, bodies, send, sa.select(blocked), sent_before, log_attempt, end_attempt, booked,
                      due_pg, send_pg, booked_pg)


@contextmanager
def _one_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for a single statement, which is then its own transaction (no BEGIN/COMMIT)."""
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


@dataclass(frozen=True)
class Claim:
    """A shipment a worker holds the lease on, with the snapshot it must book."""

    id: int
    store_id: str
    order_ref: str
    order_number: str | None
    topic: str
    snapshot_version: int
    delivery_id: int
    jne_order_id: str | None
    attempts: int
    budget_used: int
    budget_since: datetime | None
    account_key: str | None
    body: bytes = b""
    received_at: datetime | None = None


def claim(engine: Engine, worker_id: str, now: datetime, lease_s: float, limit: int) -> list[Claim]:
    """Lease up to ``limit`` due queued shipments for ``worker_id`` (no two workers get the same row)."""
    if limit <= 0:
        return []
    sql = _worker_sql()
    params = {"p_now": now, "p_until": now + timedelta(seconds=lease_s), "p_worker": worker_id, "p_limit": limit}
    if engine.dialect.name == "postgresql":
        with _one_statement(engine) as conn:
            rows = conn.execute(sql.due_pg, params).all()
        return [Claim(**{k: v for k, v in r._asdict().items() if k not in ("body", "received_at")},
                      body=bytes(r.body or b""), received_at=r.received_at)
                for r in sorted(rows, key=lambda r: r.id)]
    with _writing(engine) as conn:
        rows = conn.execute(sql.due, params).all()
        if not rows:
            return []
        bodies = {r.id: (r.body, r.received_at) for r in conn.execute(
            sql.bodies, {"p_ids": [r.delivery_id for r in rows]})}
    out = []
    for r in sorted(rows, key=lambda r: r.id):
        body, received_at = bodies.get(r.delivery_id, (b"", None))
        out.append(Claim(**r._asdict(), body=bytes(body), received_at=received_at))
    return out


class Attempt(NamedTuple):
    """An attempt committed as 'sending' before its JNE call."""

    id: int
    sent_before: bool      # an earlier attempt of this row may have booked this ORDER_ID at JNE
    budget_used: int       # JNE calls of the current retry budget, this one included
    budget_since: datetime | None


def blocked_accounts(engine: Engine) -> dict[str, str]:
    """Blocked JNE accounts: account key -> reason."""
    with _reading(engine) as conn:
        return {k: r for k, r in conn.execute(sa.select(account_blocks.c.account_key,
                                                        account_blocks.c.reason))}


def _safe_request(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in SECRET_FIELDS}


def begin_attempt(engine: Engine, claim_: Claim, worker_id: str, jne_order_id: str,
                  account_key: str, fields: dict[str, Any], now: datetime,
                  lease_s: float) -> Attempt | str:
    """Record, before the JNE call, that this row is sending ``jne_order_id``; commit it.

    Returns the :class:`Attempt` (its ``sent_before`` tells whether an earlier attempt of this
    row may already have booked this ORDER_ID at JNE: the lost-reply rule), or a string when the
    call must not be made: ``'blocked'`` (the account is blocked) or ``'lost'`` (the
    lease was taken over by another worker).
    """
    sql = _worker_sql()
    params = {"p_shipment": claim_.id, "p_worker": worker_id, "p_account": account_key,
              "p_order_id": jne_order_id, "p_now": now, "p_until": now + timedelta(seconds=lease_s),
              "p_version": claim_.snapshot_version, "p_request": _safe_request(fields)}
    if engine.dialect.name == "postgresql":
        with _one_statement(engine) as conn:
            row = conn.execute(sql.send_pg, params).one()
        if row.attempt_id is None:
            return "blocked" if row.is_blocked else "lost"
        return Attempt(row.attempt_id, row.attempts > 1 and bool(row.sent_before), row.budget_used,
                       row.budget_since)
    with _writing(engine) as conn:
        # One statement: still ours, still queued, account not blocked (by any process).
        got = conn.execute(sql.send, params).first()
        if got is None:
            return "blocked" if conn.execute(sql.is_blocked, params).scalar() else "lost"
        # attempts counts every call ever begun for this row, so 1 means no earlier attempt rows.
        sent_before = got.attempts > 1 and conn.execute(sql.sent_before, params).first() is not None
        attempt_id = conn.execute(sql.log_attempt, params).scalar_one()
    return Attempt(attempt_id, sent_before, got.budget_used, got.budget_since)


@dataclass(frozen=True)
class AttemptResult:
    """How one JNE call ended, for the attempts log row written by :func:`begin_attempt`."""

    id: int
    outcome: str
    duration_s: float | None
    http_status: int | None
    reason: str | None
    reply: str | None


def _end_attempt(conn: Connection, result: AttemptResult | None) -> None:
    if result is None:
        return
    conn.execute(_worker_sql().end_attempt, _end_params(result))


def _end_params(result: AttemptResult) -> dict[str, Any]:
    return {"p_attempt": result.id, "p_outcome": result.outcome, "p_duration": result.duration_s,
            "p_http_status": result.http_status,
            "p_reason": (result.reason or None) and result.reason[:REPLY_MAX_CHARS],
            "p_reply": (result.reply or None) and result.reply[:REPLY_MAX_CHARS]}


def end_attempt(engine: Engine, result: AttemptResult) -> None:
    """Record how one JNE call ended (when no shipment update goes with it)."""
    with _writing(engine) as conn:
        _end_attempt(conn, result)


def record_booked(engine: Engine, shipment_id: int, jne_order_id: str, cnote: str,
                  account_key: str | None, now: datetime, attempt: AttemptResult | None = None) -> None:
    """Mark a shipment booked; unconditional, because a booking at JNE is a fact whoever holds the lease."""
    sql = _worker_sql()
    params = {"p_shipment": shipment_id, "p_cnote": cnote, "p_order_id": jne_order_id, "p_now": now,
              "p_account": account_key}
    if engine.dialect.name == "postgresql":
        with _one_statement(engine) as conn:
            if attempt is None:
                conn.execute(sql.booked, params)
            else:
                conn.execute(sql.booked_pg, {**params, **_end_params(attempt)})
        return
    with _writing(engine) as conn:
        _end_attempt(conn, attempt)
        conn.execute(sql.booked, params)


def finish(engine: Engine, claim_: Claim, worker_id: str, status: str, now: datetime, *,
           errors: dict[str, list[str]] | None = None, skip_reason: str | None = None,
           next_attempt_at: datetime | None = None, account_key: str | None = None,
           block_reason: str | None = None, requeue_if_changed: bool = False,
           attempt: AttemptResult | None = None) -> str | None:
    """Record a non-booked result if this worker still holds the lease; returns the status written or None.

    ``attempt`` (how the JNE call went) is written to the attempts log in the same transaction,
    lease or not: the log says what happened at JNE.

    With ``requeue_if_changed`` a result that a newer snapshot (arrived while this worker was
    busy) could change is not written: the row goes back to the queue for the newer data.
    ``block_reason`` also blocks ``account_key`` so no other shipment of it is sent.
    """
    s = shipments
    mine = sa.and_(s.c.id == claim_.id, s.c.lease_owner == worker_id, s.c.status == "queued")
    values: dict[str, Any] = {"status": status, "updated_at": now, "lease_owner": None,
                              "lease_until": None, "next_attempt_at": next_attempt_at}
    if errors is not None:
        values["errors"] = errors
    if status != "queued":
        values["skip_reason"] = skip_reason
    if account_key is not None:
        values["account_key"] = account_key
    with _writing(engine) as conn:
        _end_attempt(conn, attempt)
        if block_reason is not None and account_key is not None:
            conn.execute(_insert(conn, account_blocks).values(
                account_key=account_key, reason=block_reason, blocked_at=now,
            ).on_conflict_do_nothing(index_elements=["account_key"]))
        if requeue_if_changed:
            moved = conn.execute(sa.update(s).where(mine, s.c.snapshot_version != claim_.snapshot_version)
                                 .values(**{**_requeue_values(now), "budget_used": s.c.budget_used,
                                            "budget_since": s.c.budget_since},
                                         lease_owner=None, lease_until=None)
                                 .returning(s.c.id)).first()
            if moved is not None:
                return "queued"
        done = conn.execute(sa.update(s).where(mine).values(**values).returning(s.c.id)).first()
    return status if done is not None else None


def release(engine: Engine, claim_: Claim, worker_id: str, now: datetime) -> None:
    """Give a claimed row back untouched (graceful stop before its JNE call): due again now."""
    s = shipments
    with _writing(engine) as conn:
        conn.execute(sa.update(s).where(s.c.id == claim_.id, s.c.lease_owner == worker_id,
                                        s.c.status == "queued")
                     .values(lease_owner=None, lease_until=None, next_attempt_at=now))


def extend_lease(engine: Engine, claim_: Claim, worker_id: str, now: datetime, lease_s: float) -> bool:
    """Keep holding a claimed row a while longer; False when the lease was lost."""
    s = shipments
    until = now + timedelta(seconds=lease_s)
    with _writing(engine) as conn:
        got = conn.execute(sa.update(s).where(s.c.id == claim_.id, s.c.lease_owner == worker_id,
                                              s.c.status == "queued")
                           .values(lease_until=until, next_attempt_at=until).returning(s.c.id)).first()
    return got is not None

