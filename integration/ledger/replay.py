"""Replay: queue an order again after a fix, with a fresh retry budget; never a booked one.

Replaying an order of a blocked JNE account lifts the block and queues every order it held, so one
replay after fixing the credentials resumes them all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from integration.errors import IntegrationError
from integration.ledger.engine import utcnow, writing
from integration.ledger.queries import find_row, shipment_dict
from integration.ledger.retention import erased_note
from integration.ledger.tables import account_blocks, shipments
from integration.vocabulary import REPLAYABLE, ShipmentStatus


class ReplayError(IntegrationError):
    """A replay that cannot be done (unknown order, already booked); ``reason`` says why."""


def requeue_values(now: datetime) -> dict[str, Any]:
    """The column values of a shipment queued again now with a fresh retry budget."""
    return {"status": ShipmentStatus.QUEUED.value, "next_attempt_at": now, "budget_used": 0,
            "budget_since": None, "errors": {}, "problems": [], "skip_reason": None, "updated_at": now}


def _requeue_blocked_account(conn: Connection, account_key: str, now: datetime) -> set[int]:
    """Lift an account's block and put every shipment it blocked back in the queue; their ids."""
    conn.execute(sa.delete(account_blocks).where(account_blocks.c.account_key == account_key))
    res = conn.execute(sa.update(shipments)
                       .where(shipments.c.account_key == account_key,
                              shipments.c.status == ShipmentStatus.BLOCKED.value)
                       .values(**requeue_values(now), lease_owner=None, lease_until=None)
                       .returning(shipments.c.id))
    return set(res.scalars())


def replay(engine: Engine, store: str, order: str) -> dict[str, Any]:
    """Requeue one shipment with a fresh retry budget (not a booked one); lifts its account's block.

    Returns the shipment as :func:`list_shipments` does, plus ``requeued``: how many shipments
    went back to the queue (more than one when an account block was lifted).
    """
    now = utcnow()
    s = shipments
    with writing(engine) as conn:
        row = find_row(conn, store, order)
        if row is None:
            raise ReplayError(f"no order {order!r} in store {store!r} (use the order id, the order "
                              "number or the JNE ORDER_ID that `jne-integration status` shows)")
        if row.status == ShipmentStatus.BOOKED:
            raise ReplayError(f"order {order!r} of store {store!r} is already booked at JNE "
                              f"(cnote {row.cnote}); replaying it would book a second pickup")
        erased = erased_note(row)
        if erased is not None:
            raise ReplayError(f"order {order!r} of store {store!r} cannot be replayed: {erased}")
        requeued: set[int] = set()
        if row.account_key is not None and (row.status == ShipmentStatus.BLOCKED or conn.execute(
                sa.select(account_blocks.c.account_key)
                .where(account_blocks.c.account_key == row.account_key)).first() is not None):
            requeued |= _requeue_blocked_account(conn, row.account_key, now)
        values = requeue_values(now)
        if row.status != ShipmentStatus.QUEUED:
            values.update(lease_owner=None, lease_until=None)
        # A queued row may be in a worker's hands right now: keep its lease, only make it due.
        if row.id not in requeued:
            conn.execute(sa.update(s).where(s.c.id == row.id, s.c.status != ShipmentStatus.BOOKED.value).values(**values))
            requeued.add(row.id)
        out = conn.execute(sa.select(s).where(s.c.id == row.id)).one()
    result = shipment_dict(out)
    result["requeued"] = len(requeued)
    return result


def replay_status(engine: Engine, status: str, store: str | None = None) -> int:
    """Requeue every shipment with ``status`` (optionally of one store); returns how many."""
    if status not in REPLAYABLE:
        raise ReplayError(f"cannot replay status {status!r}: choose one of {', '.join(REPLAYABLE)}"
                          + (" (booked orders are never booked twice)" if status == ShipmentStatus.BOOKED else ""))
    now = utcnow()
    s = shipments
    cond = [s.c.status == status] + ([s.c.store_id == store] if store is not None else [])
    cond.append(s.c.personal_erased_at.is_(None))  # an erased order has nothing left to book with
    with writing(engine) as conn:
        if status == ShipmentStatus.BLOCKED:
            keys = conn.execute(sa.select(s.c.account_key).where(*cond).distinct()).scalars().all()
            for key in keys:
                if key is not None:
                    conn.execute(sa.delete(account_blocks).where(account_blocks.c.account_key == key))
        values = requeue_values(now)
        if status != ShipmentStatus.QUEUED:
            values.update(lease_owner=None, lease_until=None)
        return conn.execute(sa.update(s).where(*cond).values(**values)).rowcount or 0


