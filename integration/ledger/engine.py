"""Engines for SQLite (one box) and PostgreSQL (many), SQLite's write turns, schema upgrades, pings.

Every write transaction on SQLite starts with ``BEGIN IMMEDIATE``: the write lock is taken up front
and waits out ``busy_timeout`` instead of failing half-way through (WAL readers never block);
writers of this code queue for it on a lock file first, so they are woken at once instead of
polling in SQLite's busy handler. PostgreSQL needs none of that.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from integration import file_modes

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
T = TypeVar("T")
# How long a SQLite writer waits for another process's write: writes take milliseconds, so this
# is only reached when something is wedged, and a webhook should then fail (503) rather than hang.
SQLITE_BUSY_TIMEOUT_S = 10.0


def utcnow() -> datetime:
    """The current time, aware, UTC."""
    return datetime.now(UTC)


def normalise_database_url(url: str) -> str:
    """Accept Heroku-style ``postgres://`` URLs and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


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


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which has on_conflict_do_nothing/do_update."""
    return (postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table))


def sql_literal(text: str) -> Any:
    """A constant string written into the SQL (no expanding IN list to render per call)."""
    return sa.literal_column("'" + text.replace("'", "''") + "'")


class _SQLiteWriteLock:
    """Writers of one SQLite database take turns, woken as soon as the one before them commits.

    Threads of a process queue on a ``threading.Lock``; processes (gunicorn workers, the booking
    worker) queue on ``flock`` of ``<database>-writelock`` beside the file. Both wake a waiter the
    moment the lock is free, where SQLite's own busy handler sleeps 1, 2, 5 ... up to 100 ms per
    try: with four gunicorn workers that made a webhook's p99 ~450 ms. The wait is polled (sleeps
    of at most 0.5 ms) so that a wedged writer still ends in an error after the busy timeout
    instead of a hung request. BEGIN IMMEDIATE and busy_timeout remain the guard against any other writer.
    """

    def __init__(self, path: str | None, database: str | None = None):
        self.threads = threading.Lock()
        self.path = path
        self._fd: int | None = None
        self._pid = 0
        self.ledger = LedgerFile(database) if database else None

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


class LedgerGone(sa.exc.OperationalError):
    """The SQLite ledger file is not where the engine opened it: nothing may be written (503)."""

    def __init__(self, reason: str):
        super().__init__("(ledger file check)", None, sqlite3.OperationalError(reason))


class LedgerFile:
    """The identity (device, inode) of a SQLite ledger file, checked before each write transaction.

    A connection keeps writing to the file it opened, even after that file was deleted, moved or
    replaced: the writes succeed, the webhook gets 200, and the delivery is lost with the old file.
    So before each write the path is looked up (one ``stat``, about a microsecond):

    - missing: the write fails as the database being unavailable (503, the platform retries), and
      the pooled connections are closed;
    - another file (a ledger restored from a backup): the pooled connections are closed, the old
      file's ``-wal`` and ``-shm`` still beside it are moved aside (``...-wal.orphaned-<time>``;
      SQLite would otherwise replay the old file's WAL into the new one), and the next connection
      opens the file that is there now: writing resumes without a restart. A file that is not a
      ledger then fails on its own, again as unavailable.
    """

    SIDE_FILES = ("-wal", "-shm")

    def __init__(self, database: str):
        self.database = database
        self.files: dict[str, tuple[int, int]] = {}  # "", "-wal", "-shm" -> identity, as the connections opened them
        self.connected = False

    @staticmethod
    def _identity(path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def opened(self) -> None:
        """A new connection opened the file (and its WAL): remember which files those are."""
        for suffix in ("", *self.SIDE_FILES):
            identity = self._identity(self.database + suffix)
            if identity is not None:
                self.files[suffix] = identity
        self.connected = True

    def check(self, engine: Engine) -> None:
        """Raise LedgerGone when the file is missing; start over on the file there when it is another one."""
        current = self._identity(self.database)
        if current is None:
            if self.connected:
                self.connected = False
                engine.dispose()  # the old connections would write to a file nobody can read again
            raise LedgerGone(f"the ledger file {self.database} is gone")
        known = self.files.get("")
        if known is None or current == known:
            return
        engine.dispose()
        self.connected = False
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for suffix in self.SIDE_FILES:
            side = self.database + suffix
            if self.files.get(suffix) is not None and self._identity(side) == self.files[suffix]:
                with suppress(OSError):
                    os.replace(side, f"{side}.orphaned-{stamp}")
        self.files = {}


_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, _SQLiteWriteLock] = weakref.WeakKeyDictionary()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite the writers take turns (see _SQLiteWriteLock) before BEGIN IMMEDIATE."""
    lock = _SQLITE_WRITE_LOCKS.get(engine)
    if lock is None:
        with engine.begin() as conn:
            yield conn
        return
    with lock.hold():
        if lock.ledger is not None:
            lock.ledger.check(engine)  # in the write turn: no other writer of this process is mid-write
        with engine.begin() as conn:
            yield conn
        if lock.ledger is not None and len(lock.ledger.files) <= len(LedgerFile.SIDE_FILES):
            lock.ledger.opened()  # SQLite makes the -wal and -shm at the first write: know them too


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for a single statement, which is then its own transaction (no BEGIN/COMMIT)."""
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def _setup_sqlite(engine: Engine) -> None:
    database = engine.url.database
    on_disk = bool(database) and database != ":memory:" and "mode=memory" not in str(engine.url)
    lock = _SQLITE_WRITE_LOCKS[engine] = _SQLiteWriteLock(f"{database}-writelock" if on_disk else None,
                                                          database if on_disk else None)
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
        # Space freed inside a page (an updated row's old copy) is zeroed, at no extra I/O: an
        # erased customer's name must not survive in an old copy of the row (ledger/retention.py).
        cur.execute("PRAGMA secure_delete = FAST")
        cur.close()
        if lock.ledger is not None:
            lock.ledger.opened()  # after journal_mode: the WAL beside the file exists now

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN (waiting out busy_timeout), so a transaction
        # never fails half-way when another process wrote first. Read-only work asks for DEFERRED.
        mode = "DEFERRED" if conn.get_execution_options().get("sqlite_read_only") else "IMMEDIATE"
        # Straight to the driver: exec_driver_sql would run SQLAlchemy's whole execution path
        # (events, result set-up) for a statement that returns nothing, on every transaction.
        conn.connection.driver_connection.execute(f"BEGIN {mode}")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (DEFERRED on SQLite: it never waits for the write lock)."""
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

    with _upgrade_lock, writing(engine) as conn:
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

    with reading(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Upgrade only when the database is empty or behind (``serve`` and ``worker`` call this at start)."""
    if current_revision(engine) != head_revision():
        upgrade(engine)


def ping(engine: Engine) -> bool:
    """True when the database answers (a pooled connection the server dropped is replaced once)."""
    try:
        once_more_if_dropped(lambda: _select_one(engine))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return False


def _select_one(engine: Engine) -> None:
    lock = _SQLITE_WRITE_LOCKS.get(engine)
    if lock is not None and lock.ledger is not None:
        lock.ledger.check(engine)  # a ledger file that is gone is down, whatever a new empty file answers
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


def once_more_if_dropped(work: Callable[[], T]) -> T:
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


