"""The write-back queue: one row per booked shipment whose cnote goes back to the shop, and shop cursors.

A booking stays booked whatever happens here; this is a second, smaller queue beside the shipments:

- ``enqueue_booked`` finds shipments booked since a store's discovery cursor that have no write-back
  row yet, and adds one (``pending``) in one ``INSERT ... SELECT`` (a repeat adds nothing);
- ``claim`` leases due pending rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one exclusive
  statement on SQLite), so two workers never write the same order, and in the same transaction begins
  an attempt on each: committed as ``sending`` *before* the first call to the shop. Each claim says
  whether an earlier attempt may already have written (``may_have_written``): a worker killed
  mid-call, a lost reply. The caller then looks at the shop before writing again;
- ``finish`` records how attempts ended, a batch per transaction: ``done`` is a fact and is always
  recorded; a retry or a failure only while this worker still holds the lease. A result lost before it
  was recorded (the worker killed) costs one more look at the shop, never a second write;
- ``retry`` queues a failed write-back again after a person fixed the cause.

``shop_cursors`` keeps per store where the last reconcile pass (``RECONCILE``) and the last write-back
discovery (``DISCOVERY``) got to. Like the rest of the ledger this module knows nothing of the
configuration: callers pass store ids and plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from integration.ledger.engine import dialect_insert, reading, writing
from integration.ledger.queries import find_row
from integration.ledger.queue import REPLY_MAX_CHARS
from integration.ledger.replay import ReplayError
from integration.ledger.tables import shipments, shop_cursors, writeback_attempts, writebacks
from integration.vocabulary import ShipmentStatus, WritebackStatus

__all__ = ["DISCOVERY", "RECONCILE", "WritebackClaim", "WritebackSettlement",
           "WritebackStatus", "claim", "cursor", "enqueue_booked", "finish", "known_order",
           "last_pass", "release", "retry", "set_cursor", "writeback_attempts_of"]

RECONCILE = "reconcile"   # shop_cursors.kind: orders updated since this were looked at
DISCOVERY = "writeback"   # shop_cursors.kind: shipments booked since this were queued for write-back


@dataclass(frozen=True)
class WritebackClaim:
    """A write-back this worker holds the lease on."""

    shipment_id: int
    store_id: str
    order_ref: str
    cnote: str
    attempts: int           # attempts ever begun, this one included
    budget_used: int        # attempts of the current retry budget, this one included
    attempt_id: int         # this attempt's row in the attempts log (``sending`` until finished)
    may_have_written: bool  # an earlier attempt of this row may have reached the shop


@dataclass(frozen=True)
class WritebackSettlement:
    """What to record after one attempt (decided by ``integration.booking.writeback``)."""

    status: WritebackStatus
    outcome: str                          # done / retry / refused: the attempts log's words
    reason: str = ""
    reply: str = ""                       # the shop's own words
    wrote: bool = False
    calls: int = 0
    http_status: int | None = None        # the shop's answer that decided it; None: no answer came
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
    with reading(engine) as conn:  # most looks find nothing new: no write turn, no commit for them
        if conn.execute(found.with_only_columns(s.c.id).limit(1)).first() is None:
            return 0
    with writing(engine) as conn:
        stmt = dialect_insert(conn, w).from_select(columns, found).on_conflict_do_nothing(
            index_elements=["shipment_id"])
        return conn.execute(stmt).rowcount or 0


# -- claim (and begin), finish ---------------------------------------------------------------------

def claim(engine: Engine, worker_id: str, now: datetime, lease_s: float, limit: int,
          stores: list[str]) -> list[WritebackClaim]:
    """Lease up to ``limit`` due pending write-backs of ``stores`` and begin an attempt on each; commit.

    One transaction claims the rows (no two workers get the same one: ``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL, BEGIN IMMEDIATE on SQLite) and appends a ``sending`` attempt for each, *before* any call
    to the shop; a claimed row not sent after all goes back with :func:`release`. Claiming and beginning
    together costs one commit per batch instead of one per write-back: on SQLite every commit is an
    fsync that the booking worker's commits queue behind.
    """
    if limit <= 0 or not stores:
        return []
    w, a = writebacks, writeback_attempts
    until = now + timedelta(seconds=lease_s)
    due = (sa.select(w.c.shipment_id)
           .where(w.c.status == WritebackStatus.PENDING.value, w.c.next_attempt_at <= now,
                  w.c.store_id.in_(stores), sa.or_(w.c.lease_until.is_(None), w.c.lease_until <= now))
           .order_by(w.c.next_attempt_at).limit(limit)
           .with_for_update(skip_locked=True))
    # next_attempt_at moves to the lease's end: rows in flight sort behind the due ones, and an
    # expired lease (a killed worker) makes the row due again by itself.
    stmt = (sa.update(w).where(w.c.shipment_id.in_(due.scalar_subquery()))
            .values(lease_owner=worker_id, lease_until=until, next_attempt_at=until, updated_at=now,
                    attempts=w.c.attempts + 1, budget_used=w.c.budget_used + 1)
            .returning(w.c.shipment_id, w.c.store_id, w.c.order_ref, w.c.cnote, w.c.attempts, w.c.budget_used))
    with writing(engine) as conn:
        rows = sorted(conn.execute(stmt).all(), key=lambda r: r.shipment_id)
        if not rows:
            return []
        # attempts counts every attempt ever begun: more than this one means an earlier one may have
        # reached the shop (killed mid-call, reply lost), so the shop is looked at before writing.
        logged = conn.execute(sa.insert(a).returning(a.c.id, sort_by_parameter_order=True), [
            {"shipment_id": r.shipment_id, "started_at": now, "cnote": r.cnote, "may_have_written": r.attempts > 1,
             "outcome": "sending", "worker_id": worker_id} for r in rows]).scalars().all()
    return [WritebackClaim(r.shipment_id, r.store_id, r.order_ref, r.cnote, r.attempts, r.budget_used,
                           attempt_id, r.attempts > 1) for r, attempt_id in zip(rows, logged, strict=True)]


def finish(engine: Engine, worker_id: str, results: list[tuple[WritebackClaim, WritebackSettlement]],
           now: datetime) -> int:
    """Record how attempts ended and each row's next state, in one transaction; how many rows changed.

    The attempts log is always written. ``done`` is a fact (the shop shows the cnote) and is recorded
    whoever holds the lease; a retry or a failure only while this worker still holds it (a row another
    worker took over after the lease ran out is that worker's now).
    """
    if not results:
        return 0
    w, a = writebacks, writeback_attempts
    ended = [{"p_id": held.attempt_id, "outcome": r.outcome, "duration_s": r.duration_s, "wrote": r.wrote,
              "calls": r.calls, "http_status": r.http_status, "reason": _cut(r.reason), "reply": _cut(r.reply)}
             for held, r in results]
    done = [{"p_id": held.shipment_id} for held, r in results if r.status is WritebackStatus.DONE]
    other = [{"p_id": held.shipment_id, "p_status": r.status.value, "p_next": r.next_attempt_at,
              "p_errors": dict(r.errors or {}), "p_problems": list(r.problems or [])}
             for held, r in results if r.status is not WritebackStatus.DONE]
    changed = 0
    with writing(engine) as conn:
        conn.execute(sa.update(a).where(a.c.id == sa.bindparam("p_id")), ended)
        if done:
            changed += conn.execute(
                sa.update(w).where(w.c.shipment_id == sa.bindparam("p_id"), w.c.status != WritebackStatus.DONE.value)
                .values(status=WritebackStatus.DONE.value, updated_at=now, done_at=now, lease_owner=None,
                        lease_until=None, next_attempt_at=None, errors={}, problems=[]), done).rowcount or 0
        if other:
            changed += conn.execute(
                sa.update(w).where(w.c.shipment_id == sa.bindparam("p_id"), w.c.lease_owner == worker_id,
                                   w.c.status == WritebackStatus.PENDING.value)
                .values(status=sa.bindparam("p_status"), updated_at=now, lease_owner=None, lease_until=None,
                        next_attempt_at=sa.bindparam("p_next", type_=w.c.next_attempt_at.type),
                        errors=sa.bindparam("p_errors", type_=w.c.errors.type),
                        problems=sa.bindparam("p_problems", type_=w.c.problems.type)), other).rowcount or 0
    return changed


def release(engine: Engine, held: WritebackClaim, worker_id: str, now: datetime) -> None:
    """Give a claimed row back untouched (stopping before its first call): due again now, attempt undone."""
    w, a = writebacks, writeback_attempts
    with writing(engine) as conn:
        conn.execute(sa.update(a).where(a.c.id == held.attempt_id).values(outcome="released", duration_s=0.0,
                                                                           wrote=False, calls=0))
        conn.execute(sa.update(w).where(w.c.shipment_id == held.shipment_id, w.c.lease_owner == worker_id,
                                        w.c.status == WritebackStatus.PENDING.value)
                     .values(lease_owner=None, lease_until=None, next_attempt_at=now,
                             attempts=w.c.attempts - 1, budget_used=w.c.budget_used - 1))


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
             "http_status": r.http_status, "reason": r.reason, "reply": r.reply, "worker": r.worker_id} for r in rows]


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
