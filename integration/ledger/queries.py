"""Reading the ledger: shipments as the CLI and pages show them, counts by status, the attempts log.

Reads run in DEFERRED transactions on SQLite, so they never wait for a writer.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from integration.ledger.engine import reading
from integration.ledger.tables import attempts_log, shipments, writebacks
from integration.vocabulary import ShipmentStatus


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def shipment_dict(row: Any) -> dict[str, Any]:
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
        "problems": list(m["problems"] or []),
        "updated_at": _iso(m["updated_at"]),
        "skip_reason": m["skip_reason"],
        "booked_at": _iso(m["booked_at"]),
        "next_attempt_at": _iso(m["next_attempt_at"]) if m["status"] == ShipmentStatus.QUEUED else None,
        "mapping_version": m.get("mapping_version"),
    }


def _with_writeback(out: dict[str, Any], m: Any, writeback_stores: Collection[str]) -> dict[str, Any]:
    # No write-back row: "off", or "pending" for a booked order of a store that writes back and whose
    # row the worker has not added yet (it does within a poll).
    state = m["writeback"] or ("pending" if out["status"] == ShipmentStatus.BOOKED
                               and out["store"] in writeback_stores else "off")
    out["writeback"] = state
    out["writeback_errors"] = dict(m["writeback_errors"] or {})
    return out


def queue_depth(engine: Engine) -> dict[str, int]:
    """How many shipments are in each status (every status present, 0 when none)."""
    counts = dict.fromkeys(ShipmentStatus, 0)
    with reading(engine) as conn:
        for status, n in conn.execute(
                sa.select(shipments.c.status, sa.func.count()).group_by(shipments.c.status)):
            counts[status] = int(n)
    return counts


def list_shipments(engine: Engine, store: str | None = None, status: str | None = None,
                   limit: int | None = None, writeback_stores: Collection[str] = ()) -> list[dict[str, Any]]:
    """Shipments, most recently updated first, as the ``status --json`` objects (with ``writeback``).

    ``writeback_stores``: the stores that write the cnote back to the shop (their booked orders are
    ``pending`` until the write-back row says otherwise).
    """
    w = writebacks
    q = (sa.select(shipments, w.c.status.label("writeback"), w.c.errors.label("writeback_errors"))
         .select_from(shipments.outerjoin(w, w.c.shipment_id == shipments.c.id)))
    if store is not None:
        q = q.where(shipments.c.store_id == store)
    if status is not None:
        q = q.where(shipments.c.status == status)
    q = q.order_by(shipments.c.updated_at.desc(), shipments.c.id.desc())
    if limit is not None:
        q = q.limit(limit)
    with reading(engine) as conn:
        return [_with_writeback(shipment_dict(r), r._mapping, writeback_stores) for r in conn.execute(q)]


def find_row(conn: Connection, store: str, order: str) -> Any:
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
    with reading(engine) as conn:
        row = find_row(conn, store, order)
    return shipment_dict(row) if row is not None else None


def attempts(engine: Engine, store: str, order: str) -> list[dict[str, Any]]:
    """The attempts log of one shipment, oldest first (empty when the order is unknown)."""
    a = attempts_log
    with reading(engine) as conn:
        row = find_row(conn, store, order)
        if row is None:
            return []
        rows = conn.execute(sa.select(a).where(a.c.shipment_id == row.id).order_by(a.c.id)).all()
    return [{
        "id": r.id, "started_at": _iso(r.started_at), "duration_s": r.duration_s,
        "order_id": r.jne_order_id, "outcome": r.outcome, "http_status": r.http_status,
        "reason": r.reason, "reply": r.reply, "worker": r.worker_id, "request": dict(r.request or {}),
    } for r in rows]


