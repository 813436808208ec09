"""Erasing personal data from the ledger: after retention, and at once on a customer's or shop's request.

An order's personal data is erased ``personal_days`` after it is settled: booked, skipped or failed
(:func:`settled`; an order still queued, needing attention or blocked keeps its data, because a
person or the worker still needs it). Erasing an order rewrites, in one transaction:

- every stored delivery of it: the JSON body without the personal keys of its platform, the
  headers scrubbed (``integration.privacy.personal`` says what is personal and why the places stay);
- its attempts: the personal JNE fields replaced by ``[erased]``, JNE's reasons and replies scrubbed;
- the shipment's owner-facing words (errors, problems, skip reason) scrubbed, and the erasure marked
  (``personal_erased_at``, ``erasure``: why). Status, ids, ORDER_ID, cnote, amounts, dates and the
  attempts' outcomes stay, so ``status``, the dashboard and labels still say what happened.

Erased means gone from the database files, not hidden:

- SQLite: these writes run with ``PRAGMA secure_delete = ON`` (freed space and pages are overwritten
  with zeros), and :func:`compact` checkpoints the WAL with ``TRUNCATE``, which copies the new pages
  over the old ones in the database file and cuts the WAL to zero bytes.
- PostgreSQL: an UPDATE writes a new row version; the old one stays in the table's pages until
  VACUUM, which :func:`compact` runs on the touched tables after a pass. PostgreSQL guarantees that
  after the UPDATE commits no query can read the old values, and after VACUUM their space is free
  for reuse. It does not guarantee that the bytes are overwritten at once: they may remain in free
  space of a page until reused, in WAL segments until they are recycled, in WAL archives, base
  backups and replicas. Those are the operator's to expire (``wal_keep_size``, backup retention);
  ``VACUUM FULL`` rewrites a table into new files but locks it, so it is not run here.

A delivery that arrives for an order already erased (Shopify sends ``orders/updated`` after the
fulfillment, for instance) is stored as usual and erased by the daily pass once it is
``personal_days`` old, or at once when the order's customer asked for erasure. A row erased on a
customer's or the shop's request never takes a new snapshot again (``inbox`` checks
:func:`takes_new_snapshots`); one erased by retention does, and a newer snapshot of a skipped or
failed order then queues it with the new data, whose retention starts again when it is settled.

The ledger knows nothing of the configuration: callers pass ``personal_days`` and the owner's words.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from integration.ledger.engine import dialect_insert, reading, writing
from integration.ledger.queries import shipment_dict
from integration.ledger.tables import attempts_log, deliveries, privacy_requests, shipments, writebacks
from integration.privacy import personal
from integration.vocabulary import ShipmentStatus, WritebackStatus

BATCH = 25  # orders per transaction: bounds how long one pass holds SQLite's write lock
SETTLED = (ShipmentStatus.BOOKED, ShipmentStatus.SKIPPED, ShipmentStatus.FAILED)
CHECKPOINT_TRIES = 5


class ErasureReason(StrEnum):
    """Why an order's personal data was erased (``shipments.erasure``, a metrics label)."""

    RETENTION = "retention"                # settled more than retention.personal_days ago
    CUSTOMER_REQUEST = "customer_request"  # Shopify customers/redact
    SHOP_REQUEST = "shop_request"          # Shopify shop/redact


class RequestKind(StrEnum):
    """A privacy request as recorded (``privacy_requests.kind``)."""

    CUSTOMER_REDACT = "customer_redact"
    SHOP_REDACT = "shop_redact"
    CUSTOMER_DATA_REQUEST = "customer_data_request"


# Erased on request: never takes a new snapshot (the customer or the shop asked for it).
ON_REQUEST = (ErasureReason.CUSTOMER_REQUEST, ErasureReason.SHOP_REQUEST)


def settled() -> Any:
    """The condition of a shipment whose personal data is no longer needed once retention passes.

    Booked, skipped or failed, and not waiting to be written back to the shop (a pending write-back
    still needs the order as the shop knows it).
    """
    pending = sa.exists().where(writebacks.c.shipment_id == shipments.c.id,
                                writebacks.c.status == WritebackStatus.PENDING.value)
    return sa.and_(shipments.c.status.in_([s.value for s in SETTLED]), ~pending)


def takes_new_snapshots() -> Any:
    """The condition of a shipment that a newer delivery may update (not erased on request)."""
    return sa.or_(shipments.c.erasure.is_(None), shipments.c.erasure == ErasureReason.RETENTION.value)


@dataclass
class PruneReport:
    """What a retention pass found and did."""

    due: int = 0              # orders past retention (erased unless dry_run)
    late_deliveries: int = 0  # deliveries that arrived after their order was erased
    erased: int = 0           # orders erased now
    deliveries: int = 0       # deliveries rewritten now
    dry_run: bool = False


# -- writing with secure delete ------------------------------------------------------------------

@contextmanager
def erasing(engine: Engine) -> Iterator[Connection]:
    """A write transaction whose freed space is overwritten (SQLite ``secure_delete``); rows locked on PG."""
    with writing(engine) as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        raw = conn.connection.driver_connection
        before = raw.execute("PRAGMA secure_delete").fetchone()[0]
        raw.execute("PRAGMA secure_delete = ON")
        try:
            yield conn
        finally:
            raw.execute(f"PRAGMA secure_delete = {int(before)}")


def compact(engine: Engine, *, vacuum: bool = True) -> str:
    """Make erased values unreadable in the files too: SQLite WAL checkpoint (TRUNCATE), PG VACUUM.

    Returns what was done, for the report. ``vacuum=False`` skips PostgreSQL's VACUUM (a web request
    should not wait for it; the daily pass runs it).
    """
    if engine.dialect.name == "sqlite":
        for attempt in range(CHECKPOINT_TRIES):
            with engine.connect() as conn:
                # Straight to the driver: no transaction may be open around a checkpoint.
                busy, frames, done = conn.connection.driver_connection.execute(
                    "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return f"WAL checkpointed and truncated ({done} of {frames} pages copied)"
            time.sleep(0.05 * 2 ** attempt)  # a reader on an old snapshot; it ends in milliseconds
        return "WAL checkpoint busy (readers kept it); the next pass or SQLite's own checkpoint completes it"
    if engine.dialect.name == "postgresql" and vacuum:
        tables = ", ".join(t.name for t in (deliveries, shipments, attempts_log, privacy_requests))
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(f"VACUUM {tables}")
        return f"VACUUM {tables}"
    return "nothing to compact"


# -- erasing orders ------------------------------------------------------------------------------

def _lock(conn: Connection, query: Any) -> Any:
    # PostgreSQL: hold the rows so a delivery arriving meanwhile waits (SQLite's BEGIN IMMEDIATE
    # already made this transaction the only writer).
    return query.with_for_update() if conn.dialect.name == "postgresql" else query


def _erase_order(conn: Connection, row: Any, now: datetime, reason: ErasureReason,
                 end_open_with: str | None) -> int:
    """Erase one order's personal data inside the caller's transaction; deliveries rewritten."""
    d, a, s = deliveries, attempts_log, shipments
    stored = conn.execute(sa.select(d.c.id, d.c.platform, d.c.body, d.c.headers).where(
        d.c.store_id == row.store_id, d.c.order_ref == row.order_ref, d.c.personal_erased_at.is_(None))).all()
    tried = conn.execute(sa.select(a.c.id, a.c.request, a.c.reason, a.c.reply)
                         .where(a.c.shipment_id == row.id)).all()
    values: set[str] = set()
    places: set[str] = set()
    for item in stored:
        values |= personal.body_values(bytes(item.body), item.platform)
    for attempt in tried:
        values |= personal.request_values(attempt.request)
        places |= personal.kept_places(attempt.request)
    scrub = personal.Scrubber(values, keep=places)
    for item in stored:
        conn.execute(sa.update(d).where(d.c.id == item.id).values(
            body=personal.erase_body(bytes(item.body), item.platform, scrub),
            headers=scrub.tree(dict(item.headers or {})), personal_erased_at=now))
    for attempt in tried:
        request = {k: (v if k in personal.JNE_KEPT_PLACE_FIELDS else scrub.tree(v))
                   for k, v in personal.erase_request(dict(attempt.request or {})).items()}
        conn.execute(sa.update(a).where(a.c.id == attempt.id).values(
            request=request, reason=scrub.text(attempt.reason), reply=scrub.text(attempt.reply)))
    values_: dict[str, Any] = {"errors": scrub.tree(dict(row.errors or {})),
                               "problems": scrub.tree(list(row.problems or [])),
                               "skip_reason": scrub.text(row.skip_reason),
                               "personal_erased_at": now, "erasure": reason.value}
    if end_open_with is not None and row.status not in SETTLED:
        # Not booked after all: the customer or the shop asked for the data to go, and without it
        # there is nothing to book. The row says why, in the owner's words.
        values_.update(status=ShipmentStatus.SKIPPED.value, skip_reason=end_open_with, errors={}, problems=[],
                       next_attempt_at=None, lease_owner=None, lease_until=None, updated_at=now)
    conn.execute(sa.update(s).where(s.c.id == row.id).values(**values_))
    return len(stored)


_ROW_COLUMNS = (shipments.c.id, shipments.c.store_id, shipments.c.order_ref, shipments.c.status,
                shipments.c.errors, shipments.c.problems, shipments.c.skip_reason)


def _due(cutoff: datetime) -> list[Any]:
    s = shipments
    return [s.c.personal_erased_at.is_(None), s.c.updated_at <= cutoff, settled()]


def _late_deliveries(cutoff: datetime) -> Any:
    """Deliveries still holding personal data, received before ``cutoff``, whose order was erased."""
    d, s = deliveries, shipments
    joined = d.join(s, sa.and_(s.c.store_id == d.c.store_id, s.c.order_ref == d.c.order_ref))
    return (sa.select(d.c.id).select_from(joined)
            .where(d.c.personal_erased_at.is_(None), d.c.received_at <= cutoff, s.c.personal_erased_at.is_not(None)))


def _late_for_customers() -> Any:
    """Deliveries still holding personal data of orders whose customer asked for erasure (any age)."""
    d, s = deliveries, shipments
    joined = d.join(s, sa.and_(s.c.store_id == d.c.store_id, s.c.order_ref == d.c.order_ref))
    return (sa.select(d.c.id).select_from(joined)
            .where(d.c.personal_erased_at.is_(None), s.c.erasure == ErasureReason.CUSTOMER_REQUEST.value))


def prune(engine: Engine, now: datetime, personal_days: float, *, dry_run: bool = False,
          batch: int = BATCH) -> PruneReport:
    """Erase the personal data of every order settled more than ``personal_days`` ago (see module doc).

    ``dry_run`` counts what would be erased and changes nothing. Call :func:`compact` afterwards.
    """
    cutoff = now - timedelta(days=personal_days)
    report = PruneReport(dry_run=dry_run)
    if dry_run:
        with reading(engine) as conn:
            report.due = conn.execute(sa.select(sa.func.count()).select_from(shipments)
                                      .where(*_due(cutoff))).scalar_one()
            report.late_deliveries = sum(conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
                                         for q in (_late_deliveries(cutoff), _late_for_customers()))
        return report
    while True:
        with erasing(engine) as conn:
            rows = conn.execute(_lock(conn, sa.select(*_ROW_COLUMNS).where(*_due(cutoff))
                                      .order_by(shipments.c.updated_at).limit(batch))).all()
            for row in rows:
                report.deliveries += _erase_order(conn, row, now, ErasureReason.RETENTION, None)
        report.erased += len(rows)
        if len(rows) < batch:
            break
    report.due = report.erased
    late = _erase_late(engine, _late_deliveries(cutoff), now, batch) + erase_late_on_request(engine, now, batch)
    report.late_deliveries += late
    report.deliveries += late
    return report


def erase_late_on_request(engine: Engine, now: datetime, batch: int = BATCH) -> int:
    """Erase deliveries that arrived after their customer's erasure request; how many (the worker: every minute)."""
    return _erase_late(engine, _late_for_customers(), now, batch)


def _erase_late(engine: Engine, query: Any, now: datetime, batch: int) -> int:
    done = 0
    while True:
        with erasing(engine) as conn:
            ids = [r.id for r in conn.execute(query.limit(batch))]
            _erase_deliveries(conn, ids, now)
        done += len(ids)
        if len(ids) < batch:
            return done


def _erase_deliveries(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    """Rewrite these deliveries without personal data (their order was erased before they came)."""
    d = deliveries
    if not ids:
        return
    for item in conn.execute(_lock(conn, sa.select(d.c.id, d.c.platform, d.c.body, d.c.headers)
                                   .where(d.c.id.in_(list(ids)), d.c.personal_erased_at.is_(None)))).all():
        scrub = personal.Scrubber(personal.body_values(bytes(item.body), item.platform))
        conn.execute(sa.update(d).where(d.c.id == item.id).values(
            body=personal.erase_body(bytes(item.body), item.platform, scrub),
            headers=scrub.tree(dict(item.headers or {})), personal_erased_at=now))


def erase_on_request(engine: Engine, store_id: str, reason: ErasureReason, now: datetime, *,
                     end_open_with: str, customer_ref: str | None = None, order_refs: Iterable[str] = (),
                     whole_store: bool = False, limit: int | None = None, batch: int = BATCH) -> tuple[int, bool]:
    """Erase at once the orders of a customer (by id, and the order ids named) or of a whole store.

    Orders still open end as skipped with ``end_open_with`` (the owner's words) and are not booked.
    Orders already erased for this reason are left alone. Returns (orders erased, finished): with
    ``limit`` the work may stop early, and the caller comes back for the rest.
    """
    s = shipments
    if whole_store:
        match = s.c.store_id == store_id
    else:
        named = [s.c.order_ref.in_(list(order_refs))] if order_refs else []
        by_customer = [s.c.customer_ref == customer_ref] if customer_ref is not None else []
        if not named and not by_customer:
            return 0, True
        match = sa.and_(s.c.store_id == store_id, sa.or_(*named, *by_customer))
    todo = sa.and_(match, sa.or_(s.c.erasure.is_(None), s.c.erasure != reason.value))
    erased = 0
    while limit is None or erased < limit:
        size = batch if limit is None else min(batch, limit - erased)
        with erasing(engine) as conn:
            rows = conn.execute(_lock(conn, sa.select(*_ROW_COLUMNS).where(todo).order_by(s.c.id).limit(size))).all()
            for row in rows:
                _erase_order(conn, row, now, reason, end_open_with)
        erased += len(rows)
        if len(rows) < size:
            return erased, True
    with reading(engine) as conn:
        return erased, conn.execute(sa.select(s.c.id).where(todo).limit(1)).first() is None


def erased_note(row: Any) -> str | None:
    """Why and when this shipment's personal data was erased, and what that means (None: not erased)."""
    when = getattr(row, "personal_erased_at", None)
    if when is None:
        return None
    day = when.date().isoformat()
    if row.erasure == ErasureReason.CUSTOMER_REQUEST:
        return f"its personal data was erased at the customer's request on {day}; it is not booked again"
    if row.erasure == ErasureReason.SHOP_REQUEST:
        return f"its personal data was erased at the shop's request on {day}; it is not booked again"
    return (f"its personal data was erased after the retention period on {day}, so nothing is left to book "
            "it with; if it should still ship, the shop must send the order again (save it in the shop, "
            "or `jne-integration reconcile`)")


# -- privacy requests ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PrivacyRequest:
    """One compliance request as kept: who (customer id), which orders, when; never e-mail or phone."""

    store_id: str
    kind: RequestKind
    event_id: str
    customer_ref: str | None
    orders: tuple[str, ...] = ()
    received_at: datetime | None = None
    id: int | None = None
    done_at: datetime | None = None
    erased: int = 0


def record_request(engine: Engine, request: PrivacyRequest) -> tuple[int, bool]:
    """Store ``request`` unless its event is known; (its id, already done)."""
    p = privacy_requests
    with writing(engine) as conn:
        new_id = conn.execute(dialect_insert(conn, p).values(
            store_id=request.store_id, kind=request.kind.value, event_id=request.event_id,
            customer_ref=request.customer_ref, orders=list(request.orders), received_at=request.received_at,
            erased=0).on_conflict_do_nothing(index_elements=["store_id", "event_id"]).returning(p.c.id)).scalar()
        if new_id is not None:
            return int(new_id), False
        known = conn.execute(sa.select(p.c.id, p.c.done_at).where(
            p.c.store_id == request.store_id, p.c.event_id == request.event_id)).one()
    return int(known.id), known.done_at is not None


def finish_request(engine: Engine, request_id: int, erased: int, now: datetime | None) -> None:
    """Add ``erased`` orders to a request's count; mark it done when ``now`` is given."""
    p = privacy_requests
    with writing(engine) as conn:
        conn.execute(sa.update(p).where(p.c.id == request_id).values(erased=p.c.erased + erased, done_at=now))


def pending_requests(engine: Engine) -> list[PrivacyRequest]:
    """Requests recorded but not finished (a shop's erasure larger than one web request's budget)."""
    p = privacy_requests
    with reading(engine) as conn:
        rows = conn.execute(sa.select(p).where(p.c.done_at.is_(None)).order_by(p.c.received_at)).all()
    return [_request(r) for r in rows]


def requests_done_since(engine: Engine, since: datetime) -> int:
    """How many erasure requests were finished since ``since`` (whether a pass should VACUUM)."""
    p = privacy_requests
    with reading(engine) as conn:
        return conn.execute(sa.select(sa.func.count()).where(
            p.c.done_at >= since, p.c.kind != RequestKind.CUSTOMER_DATA_REQUEST.value)).scalar_one()


def _request(r: Any) -> PrivacyRequest:
    return PrivacyRequest(store_id=r.store_id, kind=RequestKind(r.kind), event_id=r.event_id,
                          customer_ref=r.customer_ref, orders=tuple(str(o) for o in r.orders or ()),
                          received_at=r.received_at, id=r.id, done_at=r.done_at, erased=r.erased)


# -- what is held for a customer -----------------------------------------------------------------

@dataclass
class CustomerData:
    """What the ledger holds about one customer: their orders with the personal data in them, requests."""

    customer: str
    store: str | None
    orders: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The ``status --customer ID --json`` object."""
        return {"customer": self.customer, "store": self.store, "orders": self.orders, "requests": self.requests}


def customer_data(engine: Engine, customer_ref: str, store_id: str | None = None) -> CustomerData:
    """Everything held for ``customer_ref``: their orders (by customer id, or named by their requests)."""
    s, d, a, p = shipments, deliveries, attempts_log, privacy_requests
    found = CustomerData(customer=customer_ref, store=store_id)
    in_store = [p.c.store_id == store_id] if store_id is not None else []
    with reading(engine) as conn:
        asked = conn.execute(sa.select(p).where(p.c.customer_ref == customer_ref, *in_store)
                             .order_by(p.c.received_at)).all()
        named = {(r.store_id, str(o)) for r in asked for o in (r.orders or ())}
        cond = [s.c.customer_ref == customer_ref]
        cond += [sa.and_(s.c.store_id == st, s.c.order_ref == ref) for st, ref in sorted(named)]
        rows = conn.execute(sa.select(s).where(sa.or_(*cond), *([s.c.store_id == store_id] if store_id else []))
                            .order_by(s.c.created_at, s.c.id)).all()
        for row in rows:
            stored = conn.execute(sa.select(d.c.received_at, d.c.topic, d.c.platform, d.c.body).where(
                d.c.store_id == row.store_id, d.c.order_ref == row.order_ref, d.c.personal_erased_at.is_(None))
                .order_by(d.c.id)).all()
            sent = conn.execute(sa.select(a.c.started_at, a.c.request).where(a.c.shipment_id == row.id)
                                .order_by(a.c.id)).all()
            order = shipment_dict(row)
            order["personal_data_erased_at"] = _iso(row.personal_erased_at)
            order["erasure"] = row.erasure
            order["held"] = {
                "deliveries": [{"received_at": _iso(x.received_at), "topic": x.topic,
                                "personal": personal.personal_parts(_json(bytes(x.body)), x.platform)}
                               for x in stored],
                "sent_to_jne": [{"started_at": _iso(x.started_at),
                                 "personal": {k: v for k, v in dict(x.request or {}).items()
                                              if k in personal.JNE_PERSONAL_FIELDS and v != personal.ERASED}}
                                for x in sent if personal.request_values(x.request)],
            }
            found.orders.append(order)
    found.requests = [{"store": r.store_id, "kind": r.kind, "received_at": _iso(r.received_at),
                       "done_at": _iso(r.done_at), "orders": list(r.orders or []), "erased": r.erased}
                      for r in asked]
    return found


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None
