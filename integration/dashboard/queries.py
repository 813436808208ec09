"""The dashboard's reads of the ledger (SQLAlchemy Core), every one limited to the user's stores.

Built to stay fast on a ledger of millions of shipments (benchmarks/bench_dashboard.py):

- the orders list pages by keyset on ``(updated_at, id)``, newest first, served by the indexes
  ``(updated_at, id)``, ``(status, updated_at, id)`` and ``(store_id, updated_at, id)``;
- tab counts stop counting at :data:`COUNT_CAP` (shown as "10,000+"): an exact count of a
  million booked rows costs a scan, and nobody pages through ten thousand orders;
- search is an equality on an indexed column (order id, number, ORDER_ID, cnote), with the
  store ids spelled out so the ``(store_id, ...)`` indexes apply.

Every function takes ``stores``: the store ids the user may see, never empty for a real user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from integration import ledger
from integration.vocabulary import ShipmentStatus

COUNT_CAP = 10_000
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


def _search(query: str) -> Any:
    text = query.strip()
    bare = text.lstrip("#")
    return sa.or_(s.c.order_ref == text, s.c.order_number.in_([text, bare, "#" + bare]),
                  s.c.jne_order_id == text.upper(), s.c.cnote == text)


def _filters(stores: Sequence[str], status: str | None, query: str | None) -> list[Any]:
    cond: list[Any] = [s.c.store_id.in_(list(stores))]
    if status:
        cond.append(s.c.status == status)
    if query and query.strip():
        cond.append(_search(query))
    return cond


def status_counts(conn: Connection, stores: Sequence[str], query: str | None = None) -> dict[str, int]:
    """Shipments per status among ``stores`` (matching ``query``), each counted up to COUNT_CAP + 1."""
    counts: dict[str, int] = {}
    for status in STATUSES:
        capped = (sa.select(sa.literal(1)).select_from(s).where(*_filters(stores, status, query))
                  .limit(COUNT_CAP + 1).subquery())
        counts[status] = int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one())
    return counts


LIST_COLUMNS = (s.c.id, s.c.store_id, s.c.order_ref, s.c.order_number, s.c.jne_order_id, s.c.cnote,
                s.c.status, s.c.errors, s.c.skip_reason, s.c.attempts, s.c.updated_at)


def orders_page(conn: Connection, stores: Sequence[str], status: str | None = None, query: str | None = None,
                after: Cursor | None = None, limit: int = PAGE_SIZE) -> tuple[list[Any], Cursor | None]:
    """One page of shipments, newest change first, and the cursor of the next page (None at the end)."""
    cond = _filters(stores, status, query)
    if after is not None:
        cond.append(sa.tuple_(s.c.updated_at, s.c.id) < sa.tuple_(
            sa.literal(after.updated_at, s.c.updated_at.type), sa.literal(after.id, s.c.id.type)))
    rows = conn.execute(sa.select(*LIST_COLUMNS).where(*cond)
                        .order_by(s.c.updated_at.desc(), s.c.id.desc()).limit(limit + 1)).all()
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
