"""The dashboard's reads of the ledger (SQLAlchemy Core), every one limited to the user's stores.

Built to stay fast on a ledger of millions of shipments (benchmarks/bench_dashboard.py):

- the orders list pages by keyset on ``(updated_at, id)``, newest first, served by the indexes
  ``(updated_at, id)``, ``(status, updated_at, id)`` and ``(store_id, updated_at, id)``;
- tab counts stop counting at :data:`COUNT_CAP` (shown as "1,000+"), all six in one statement:
  an exact count of a million booked rows costs a scan, and nobody pages through a thousand
  orders; a search matches a handful of rows, which are counted exactly;
- search is an equality on an indexed column (order id, number, ORDER_ID, cnote), with the
  store ids spelled out so the ``(store_id, ...)`` indexes apply.

Every function takes ``stores``: the store ids the user may see, never empty for a real user.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from integration import ledger
from integration.ledger.retention import RequestKind
from integration.ledger.tables import shop_cursors, writebacks
from integration.ledger.tables import writeback_attempts as writeback_attempts_table
from integration.vocabulary import ShipmentStatus, WritebackStatus

COUNT_CAP = 1_000
PAGE_SIZE = 50
ATTEMPTS_SHOWN = 100
STATUSES = tuple(str(s) for s in ShipmentStatus)

s = ledger.shipments
a = ledger.attempts_log
d = ledger.deliveries


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first list: the last row shown."""

    updated_at: datetime
    id: int

    def encode(self) -> str:
        """As a URL parameter."""
        return f"{self.updated_at.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%f')}_{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """From a URL parameter; None when absent or not one of ours."""
        if not text:
            return None
        try:
            stamp, ident = text.split("_", 1)
            return cls(datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC), int(ident))
        except ValueError:
            return None


# The statements are built once and run with bound parameters: building these SQLAlchemy objects
# per request cost more than PostgreSQL took to answer them.
_STORES = sa.bindparam("stores", expanding=True)


def _const(text: str) -> Any:
    return sa.literal_column("'" + text.replace("'", "''") + "'")


def _search_cond() -> Any:
    return sa.or_(s.c.order_ref == sa.bindparam("q"), s.c.order_number.in_(sa.bindparam("numbers", expanding=True)),
                  s.c.jne_order_id == sa.bindparam("q_upper"), s.c.cnote == sa.bindparam("q"))


def _search_params(query: str) -> dict[str, Any]:
    text = query.strip()
    bare = text.lstrip("#")
    return {"q": text, "q_upper": text.upper(), "numbers": [text, bare, "#" + bare]}


@functools.cache
def _counts_sql(search: bool) -> Any:
    if search:
        # Equality on indexed columns: few rows, counted exactly in one pass.
        return (sa.select(s.c.status, sa.func.count()).where(s.c.store_id.in_(_STORES), _search_cond())
                .group_by(s.c.status))
    return sa.union_all(*(
        sa.select(_const(status).label("status"), sa.func.count().label("n")).select_from(
            sa.select(sa.literal_column("1")).select_from(s)
            .where(s.c.store_id.in_(_STORES), s.c.status == _const(status))
            .limit(COUNT_CAP + 1).subquery(f"c_{status}"))
        for status in STATUSES))


def status_counts(conn: Connection, stores: Sequence[str], query: str | None = None) -> dict[str, int]:
    """Shipments per status among ``stores`` (matching ``query``), each counted up to COUNT_CAP + 1."""
    counts = dict.fromkeys(STATUSES, 0)
    if not stores:
        return counts
    search = bool(query and query.strip())
    params: dict[str, Any] = {"stores": list(stores), **(_search_params(query or "") if search else {})}
    for status, n in conn.execute(_counts_sql(search), params):
        counts[str(status)] = int(n)
    return counts


LIST_COLUMNS = (s.c.id, s.c.store_id, s.c.order_ref, s.c.order_number, s.c.jne_order_id, s.c.cnote,
                s.c.status, s.c.errors, s.c.skip_reason, s.c.attempts, s.c.updated_at)


@functools.cache
def _page_sql(status: bool, search: bool, after: bool) -> Any:
    cond: list[Any] = [s.c.store_id.in_(_STORES)]
    if status:
        cond.append(s.c.status == sa.bindparam("status"))
    if search:
        cond.append(_search_cond())
    if after:
        cond.append(sa.tuple_(s.c.updated_at, s.c.id) < sa.tuple_(
            sa.bindparam("after_at", type_=s.c.updated_at.type), sa.bindparam("after_id", type_=s.c.id.type)))
    return (sa.select(*LIST_COLUMNS).where(*cond).order_by(s.c.updated_at.desc(), s.c.id.desc())
            .limit(sa.bindparam("limit", type_=sa.Integer())))


def orders_page(conn: Connection, stores: Sequence[str], status: str | None = None, query: str | None = None,
                after: Cursor | None = None, limit: int = PAGE_SIZE) -> tuple[list[Any], Cursor | None]:
    """One page of shipments, newest change first, and the cursor of the next page (None at the end)."""
    if not stores:
        return [], None
    search = bool(query and query.strip())
    params: dict[str, Any] = {"stores": list(stores), "limit": limit + 1, "status": status,
                              **(_search_params(query or "") if search else {})}
    if after is not None:
        params.update(after_at=after.updated_at, after_id=after.id)
    rows = conn.execute(_page_sql(bool(status), search, after is not None), params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (Cursor(rows[-1].updated_at, rows[-1].id) if more and rows else None)


def day_status_counts(conn: Connection, stores: Sequence[str], day_starts: Sequence[datetime]) -> dict[tuple[int, str], int]:
    """Shipments last changed on each day, by status: ``{(day index, status): n}``.

    ``day_starts`` are the instants the days begin (oldest first, in the owner's time zone); the
    bucketing is one CASE, so the query is the same on SQLite and PostgreSQL and reads only the
    ``updated_at`` index range of those days.
    """
    if not day_starts:
        return {}
    bucket = sa.case(*((s.c.updated_at >= start, i) for i, start in reversed(list(enumerate(day_starts)))),
                     else_=-1).label("day")
    rows = conn.execute(sa.select(bucket, s.c.status, sa.func.count())
                        .where(s.c.store_id.in_(list(stores)), s.c.updated_at >= day_starts[0])
                        .group_by(bucket, s.c.status))
    return {(int(day), str(status)): int(n) for day, status, n in rows if day >= 0}


def shipment(conn: Connection, stores: Sequence[str], store: str, order_ref: str) -> Any | None:
    """One shipment row, or None when it does not exist or its store is not among ``stores``."""
    if store not in stores:
        return None
    return conn.execute(sa.select(s).where(s.c.store_id == store, s.c.order_ref == order_ref)).first()


def attempts(conn: Connection, shipment_id: int, limit: int = ATTEMPTS_SHOWN) -> list[Any]:
    """The newest ``limit`` attempts of a shipment, newest first."""
    return conn.execute(sa.select(a).where(a.c.shipment_id == shipment_id)
                        .order_by(a.c.id.desc()).limit(limit)).all()


def delivery(conn: Connection, delivery_id: int) -> Any | None:
    """The stored delivery a shipment's snapshot came from."""
    return conn.execute(sa.select(d).where(d.c.id == delivery_id)).first()


def keys_with_status(conn: Connection, stores: Sequence[str], keys: Sequence[tuple[str, str]]) -> list[Any]:
    """Of ``(store, order_ref)`` keys, the rows that exist among ``stores``: store_id, order_ref, status."""
    wanted = [(st, ref) for st, ref in keys if st in stores]
    if not wanted:
        return []
    by_store: dict[str, list[str]] = {}
    for st, ref in wanted:
        by_store.setdefault(st, []).append(ref)
    cond = sa.or_(*(sa.and_(s.c.store_id == st, s.c.order_ref.in_(refs)) for st, refs in by_store.items()))
    return conn.execute(sa.select(s.c.store_id, s.c.order_ref, s.c.status).where(cond)).all()


def last_delivery(conn: Connection, store: str) -> Any | None:
    """The newest delivery received for ``store`` (topic, received_at), or None."""
    return conn.execute(sa.select(d.c.topic, d.c.received_at, d.c.order_number).where(d.c.store_id == store)
                        .order_by(d.c.id.desc()).limit(1)).first()


def account_blocks(conn: Connection) -> dict[str, tuple[str, datetime]]:
    """Blocked JNE accounts: account key -> (reason, since)."""
    t = ledger.account_blocks
    return {r.account_key: (r.reason, r.blocked_at)
            for r in conn.execute(sa.select(t.c.account_key, t.c.reason, t.c.blocked_at))}


# -- the shop's own API: write-back, reconcile passes ------------------------------------------

w = writebacks
wa = writeback_attempts_table
WRITEBACK_STATES = tuple(str(x) for x in WritebackStatus if x is not WritebackStatus.OFF)


def writeback(conn: Connection, shipment_id: int) -> Any | None:
    """The write-back row of a shipment (None: its store does not write back, or not booked yet)."""
    return conn.execute(sa.select(w).where(w.c.shipment_id == shipment_id)).first()


def writeback_attempts(conn: Connection, shipment_id: int, limit: int = ATTEMPTS_SHOWN) -> list[Any]:
    """The newest ``limit`` write-back attempts of a shipment, newest first."""
    return conn.execute(sa.select(wa).where(wa.c.shipment_id == shipment_id)
                        .order_by(wa.c.id.desc()).limit(limit)).all()


@functools.cache
def _writeback_counts_sql() -> Any:
    # Like the tab counts: each state counted up to COUNT_CAP + 1 on ix_writebacks_store_status, so
    # a store with a million written-back orders does not cost a million-row count per page.
    return sa.union_all(*(
        sa.select(_const(state).label("status"), sa.func.count().label("n")).select_from(
            sa.select(sa.literal_column("1")).select_from(w)
            .where(w.c.store_id == sa.bindparam("store"), w.c.status == _const(state))
            .limit(COUNT_CAP + 1).subquery(f"w_{state}"))
        for state in WRITEBACK_STATES))


def writeback_counts(conn: Connection, store: str) -> dict[str, int]:
    """Write-backs of ``store`` per state (pending, done, failed), each counted up to COUNT_CAP + 1."""
    counts = dict.fromkeys(WRITEBACK_STATES, 0)
    for state, n in conn.execute(_writeback_counts_sql(), {"store": store}):
        counts[str(state)] = int(n)
    return counts


def shop_cursor(conn: Connection, store: str, kind: str) -> Any | None:
    """The store's ``shop_cursors`` row of ``kind`` (position, updated_at, detail), or None."""
    c = shop_cursors
    return conn.execute(sa.select(c.c.position, c.c.updated_at, c.c.detail)
                        .where(c.c.store_id == store, c.c.kind == kind)).first()


# -- personal data requests ----------------------------------------------------------------------

def data_requests(conn: Connection, stores: Sequence[str], limit: int = PAGE_SIZE) -> list[Any]:
    """The newest customer data requests of ``stores``: store, customer id, received and done times."""
    if not stores:
        return []
    p = ledger.privacy_requests
    return conn.execute(sa.select(p.c.id, p.c.store_id, p.c.customer_ref, p.c.received_at, p.c.done_at)
                        .where(p.c.store_id.in_(list(stores)), p.c.kind == RequestKind.CUSTOMER_DATA_REQUEST.value)
                        .order_by(p.c.received_at.desc(), p.c.id.desc()).limit(limit)).all()
