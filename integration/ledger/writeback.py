"""The write-back queue: one row per booked shipment whose cnote goes back to the shop, and shop cursors.

A booking stays booked whatever happens here; this is a second, smaller queue beside the shipments:

- ``enqueue_booked`` finds shipments booked since a store's discovery cursor that have no write-back
  row yet, and adds one (``pending``) in one ``INSERT ... SELECT`` (a repeat adds nothing);
- ``claim`` leases due pending rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one exclusive
  statement on SQLite), so two workers never write the same order;
- ``begin`` commits the attempt as ``sending`` *before* the first call to the shop. Its answer says
  whether an earlier attempt may already have written (``may_have_written``): a worker killed
  mid-call, a lost reply. The caller then looks at the shop before writing again;
- ``finish`` records how the attempt ended: ``done`` is a fact and is always recorded; a retry or a
  failure only while this worker still holds the lease (else ``LeaseLost``);
- ``retry`` queues a failed write-back again after a person fixed the cause.

``shop_cursors`` keeps per store where the last reconcile pass (``RECONCILE``) and the last write-back
discovery (``DISCOVERY``) got to. Like the rest of the ledger this module knows nothing of the
configuration: callers pass store ids and plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from integration.ledger.engine import dialect_insert, reading, writing
from integration.ledger.queries import find_row
from integration.ledger.queue import REPLY_MAX_CHARS, LeaseLost
from integration.ledger.replay import ReplayError
from integration.ledger.tables import shipments, shop_cursors, writeback_attempts, writebacks
from integration.vocabulary import ShipmentStatus

__all__ = ["DISCOVERY", "RECONCILE", "WritebackAttempt", "WritebackClaim", "WritebackSettlement",
           "WritebackStatus", "begin", "claim", "cursor", "enqueue_booked", "finish", "known_order",
           "last_pass", "release", "retry", "set_cursor", "writeback_attempts_of"]

RECONCILE = "reconcile"   # shop_cursors.kind: orders updated since this were looked at
DISCOVERY = "writeback"   # shop_cursors.kind: shipments booked since this were queued for write-back


class WritebackStatus(StrEnum):
    """Where one shipment's write-back stands (``status --json`` ``writeback``)."""

    OFF = "off"          # no write-back for it: the store has no api:, or it is not booked
    PENDING = "pending"  # booked; the shop does not show the cnote yet
    DONE = "done"        # the shop shows the cnote
    FAILED = "failed"    # the shop refused, or faults outlasted the retry budget: see the problems


@dataclass(frozen=True)
class WritebackClaim:
    """A write-back this worker holds the lease on."""

    shipment_id: int
    store_id: str
    order_ref: str
    cnote: str
    attempts: int
    budget_used: int


@dataclass(frozen=True)
class WritebackAttempt:
    """An attempt committed as ``sending`` before its first call to the shop."""

    id: int
    may_have_written: bool  # an earlier attempt of this row may have reached the shop
    budget_used: int        # attempts of the current retry budget, this one included


@dataclass(frozen=True)
class WritebackSettlement:
    """What to record after one attempt (decided by ``integration.booking.writeback``)."""

    status: WritebackStatus
    outcome: str                          # done / retry / refused: the attempts log's words
    reason: str = ""
    reply: str = ""                       # the shop's own words
    wrote: bool = False
    calls: int = 0
    duration_s: float = 0.0
    next_attempt_at: datetime | None = None
    errors: dict[str, list[str]] | None = None
    problems: list[dict[str, Any]] | None = None


def _cut(text: str | None) -> str | None:
    return text[:REPLY_MAX_CHARS] if text else None


# -- discovery ------------------------------------------------------------------------------------

def enqueue_booked(engine: Engine, store_id: str, since: datetime, now: datetime) -> int:
    """Queue the write-back of every shipment of ``store_id`` booked since ``since`` that has none; how many.

    Booked rows are found through ``ix_shipments_status_updated`` (a booked row's ``updated_at`` is its
    booking time, and a booked row is never changed again), so a scan reads only recent bookings.
    """
    s, w = shipments, writebacks
    found = (sa.select(s.c.id, s.c.store_id, s.c.order_ref, s.c.cnote,
                       sa.literal(WritebackStatus.PENDING.value, w.c.status.type),
                       sa.literal(0, sa.Integer()), sa.literal(0, sa.Integer()),
                       sa.literal(now, w.c.next_attempt_at.type),
                       sa.cast(sa.literal("{}"), w.c.errors.type) if engine.dialect.name == "postgresql"
                       else sa.literal("{}"),
                       sa.cast(sa.literal("[]"), w.c.problems.type) if engine.dialect.name == "postgresql"
                       else sa.literal("[]"),
                       sa.literal(now, w.c.created_at.type), sa.literal(now, w.c.updated_at.type))
             .where(s.c.status == ShipmentStatus.BOOKED.value, s.c.updated_at >= since,
                    s.c.store_id == store_id, s.c.cnote.is_not(None),
                    ~sa.exists().where(w.c.shipment_id == s.c.id)))
    columns = ["shipment_id", "store_id", "order_ref", "cnote", "status", "attempts", "budget_used",
               "next_attempt_at", "errors", "problems", "created_at", "updated_at"]
    with writing(engine) as conn:
        stmt = dialect_insert(conn, w).from_select(columns, found).on_conflict_do_nothing(
            index_elements=["shipment_id"])
        return conn.execute(stmt).rowcount or 0


# -- claim, begin, finish ---------------------------------------------------------------------------

def claim(engine: Engine, worker_id: str, now: datetime, lease_s: float, limit: int,
          stores: list[str]) -> list[WritebackClaim]:
    """Lease up to ``limit`` due pending write-backs of ``stores`` (no two workers get the same row)."""
    if limit <= 0 or not stores:
        return []
    w = writebacks
    until = now + timedelta(seconds=lease_s)
    due = (sa.select(w.c.shipment_id)
           .where(w.c.status == WritebackStatus.PENDING.value, w.c.next_attempt_at <= now,
                  w.c.store_id.in_(stores), sa.or_(w.c.lease_until.is_(None), w.c.lease_until <= now))
           .order_by(w.c.next_attempt_at).limit(limit)
           .with_for_update(skip_locked=True))
    # next_attempt_at moves to the lease's end: rows in flight sort behind the due ones, and an
    # expired lease (a killed worker) makes the row due again by itself.
    stmt = (sa.update(w).where(w.c.shipment_id.in_(due.scalar_subquery()))
            .values(lease_owner=worker_id, lease_until=until, next_attempt_at=until)
            .returning(w.c.shipment_id, w.c.store_id, w.c.order_ref, w.c.cnote, w.c.attempts, w.c.budget_used))
    with writing(engine) as conn:
        rows = conn.execute(stmt).all()
    return [WritebackClaim(*r) for r in sorted(rows, key=lambda r: r[0])]


def begin(engine: Engine, held: WritebackClaim, worker_id: str, now: datetime, lease_s: float) -> WritebackAttempt:
    """Record, before the first call, that this worker is writing ``held.cnote``; commit it.

    Raises :class:`LeaseLost` when another worker holds the row now: nothing may be sent then.
    """
    w, a = writebacks, writeback_attempts
    until = now + timedelta(seconds=lease_s)
    with writing(engine) as conn:
        got = conn.execute(
            sa.update(w).where(w.c.shipment_id == held.shipment_id, w.c.lease_owner == worker_id,
                               w.c.status == WritebackStatus.PENDING.value)
            .values(attempts=w.c.attempts + 1, budget_used=w.c.budget_used + 1, lease_until=until,
                    next_attempt_at=until, updated_at=now)
            .returning(w.c.attempts, w.c.budget_used)).first()
        if got is None:
            raise LeaseLost("another worker holds this write-back now")
        # attempts counts every attempt ever begun: more than this one means an earlier one may
        # have reached the shop (killed mid-call, reply lost), so the shop is looked at first.
        may_have_written = got.attempts > 1
        attempt_id = conn.execute(sa.insert(a).values(
            shipment_id=held.shipment_id, started_at=now, cnote=held.cnote, may_have_written=may_have_written,
            outcome="sending", worker_id=worker_id).returning(a.c.id)).scalar_one()
    return WritebackAttempt(attempt_id, may_have_written, got.budget_used)


def finish(engine: Engine, held: WritebackClaim, worker_id: str, attempt: WritebackAttempt,
           result: WritebackSettlement, now: datetime) -> None:
    """Record how the attempt ended and the row's next state.

    The attempts log is always written. ``done`` is a fact (the shop shows the cnote) and is recorded
    whoever holds the lease; a retry or failure only while this worker holds it (else LeaseLost).
    """
    w, a = writebacks, writeback_attempts
    values: dict[str, Any] = {"status": result.status.value, "updated_at": now, "lease_owner": None,
                              "lease_until": None, "next_attempt_at": result.next_attempt_at,
                              "errors": dict(result.errors or {}), "problems": list(result.problems or [])}
    if result.status is WritebackStatus.DONE:
        values.update(done_at=now, next_attempt_at=None)
        cond = [w.c.shipment_id == held.shipment_id, w.c.status != WritebackStatus.DONE.value]
    else:
        cond = [w.c.shipment_id == held.shipment_id, w.c.lease_owner == worker_id,
                w.c.status == WritebackStatus.PENDING.value]
    with writing(engine) as conn:
        conn.execute(sa.update(a).where(a.c.id == attempt.id).values(
            outcome=result.outcome, duration_s=result.duration_s, wrote=result.wrote, calls=result.calls,
            reason=_cut(result.reason), reply=_cut(result.reply)))
        done = conn.execute(sa.update(w).where(*cond).values(**values)).rowcount
    if not done and result.status is not WritebackStatus.DONE:
        raise LeaseLost("another worker holds this write-back now; the result was not written")


def release(engine: Engine, held: WritebackClaim, worker_id: str, now: datetime) -> None:
    """Give a claimed row back untouched (stopping before its first call): due again now."""
    w = writebacks
    with writing(engine) as conn:
        conn.execute(sa.update(w).where(w.c.shipment_id == held.shipment_id, w.c.lease_owner == worker_id,
                                        w.c.status == WritebackStatus.PENDING.value)
                     .values(lease_owner=None, lease_until=None, next_attempt_at=now))


def retry(engine: Engine, store: str, order: str, now: datetime) -> dict[str, Any]:
    """Queue a failed write-back again with a fresh retry budget; ``ReplayError`` when there is none."""
    w = writebacks
    with writing(engine) as conn:
        row = find_row(conn, store, order)
        if row is None:
            raise ReplayError(f"no order {order!r} in store {store!r}")
        current = conn.execute(sa.select(w.c.status, w.c.cnote).where(w.c.shipment_id == row.id)).first()
        if current is None:
            raise ReplayError(f"order {order!r} of store {store!r} has no write-back (it is {row.status}; "
                              "only booked orders of a store with an api: block are written back)")
        if current.status == WritebackStatus.DONE:
            raise ReplayError(f"the shop already shows cnote {current.cnote} for order {order!r}")
        conn.execute(sa.update(w).where(w.c.shipment_id == row.id, w.c.status != WritebackStatus.DONE.value)
                     .values(status=WritebackStatus.PENDING.value, budget_used=0, next_attempt_at=now,
                             errors={}, problems=[], updated_at=now))
    return {"store": store, "order": row.order_ref, "order_number": row.order_number, "cnote": current.cnote}


# -- reading --------------------------------------------------------------------------------------

def writeback_attempts_of(engine: Engine, store: str, order: str) -> list[dict[str, Any]]:
    """The write-back attempts of one shipment, oldest first."""
    a = writeback_attempts
    with reading(engine) as conn:
        row = find_row(conn, store, order)
        if row is None:
            return []
        rows = conn.execute(sa.select(a).where(a.c.shipment_id == row.id).order_by(a.c.id)).all()
    return [{"id": r.id, "started_at": r.started_at.isoformat(), "duration_s": r.duration_s, "cnote": r.cnote,
             "may_have_written": r.may_have_written, "outcome": r.outcome, "wrote": r.wrote, "calls": r.calls,
             "reason": r.reason, "reply": r.reply, "worker": r.worker_id} for r in rows]


def known_order(engine: Engine, store_id: str, order_ref: str) -> tuple[str, datetime | None] | None:
    """(status, order_updated_at) of the order's shipment, or None when the ledger lacks it."""
    s = shipments
    with reading(engine) as conn:
        row = conn.execute(sa.select(s.c.status, s.c.order_updated_at)
                           .where(s.c.store_id == store_id, s.c.order_ref == order_ref)).first()
    return (row.status, row.order_updated_at) if row is not None else None


# -- cursors --------------------------------------------------------------------------------------

def cursor(engine: Engine, store_id: str, kind: str) -> datetime | None:
    """Where the store's last ``kind`` pass got to, or None before the first."""
    c = shop_cursors
    with reading(engine) as conn:
        return conn.execute(sa.select(c.c.position).where(c.c.store_id == store_id, c.c.kind == kind)).scalar()


def last_pass(engine: Engine, store_id: str, kind: str) -> datetime | None:
    """When the store's last ``kind`` pass ended (whether it succeeded or not), or None."""
    c = shop_cursors
    with reading(engine) as conn:
        return conn.execute(sa.select(c.c.updated_at).where(c.c.store_id == store_id, c.c.kind == kind)).scalar()


def set_cursor(engine: Engine, store_id: str, kind: str, position: datetime, now: datetime,
               detail: dict[str, Any] | None = None) -> None:
    """Keep where the store's ``kind`` pass got to (insert or replace)."""
    c = shop_cursors
    with writing(engine) as conn:
        stmt = dialect_insert(conn, c).values(store_id=store_id, kind=kind, position=position, updated_at=now,
                                              detail=detail)
        conn.execute(stmt.on_conflict_do_update(index_elements=["store_id", "kind"], set_={
            "position": stmt.excluded.position, "updated_at": stmt.excluded.updated_at,
            "detail": stmt.excluded.detail}))
