"""Find booked orders in the ledger and the JNE fields their booking sent, as :class:`Label` values.

The fields come from the attempts log: the request of the attempt that JNE answered with the
booking (``booked``, or ``duplicate`` for a lost reply recovered), for the ORDER_ID the shipment is
booked under. That is exactly what JNE holds for the cnote, even when the mapping changed since.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from integration import ledger
from integration.labels.model import Label, label_from_fields

BOOKING_OUTCOMES = ("booked", "duplicate")
MAX_LABELS = 2000  # one PDF; a day's parcels of a busy shop fit many times over


def _labels(conn: Connection, rows: Sequence[Any]) -> list[Label]:
    """Labels for shipment rows (id, store_id, order_number, jne_order_id, cnote), in their order."""
    if not rows:
        return []
    a = ledger.attempts_log
    ids = [r.id for r in rows]
    requests: dict[int, dict[str, Any]] = {}
    fallback: dict[int, dict[str, Any]] = {}
    wanted = {r.id: r.jne_order_id for r in rows}
    attempts = conn.execute(sa.select(a.c.shipment_id, a.c.jne_order_id, a.c.outcome, a.c.request)
                            .where(a.c.shipment_id.in_(ids)).order_by(a.c.id))
    for att in attempts:
        request = dict(att.request or {})
        if not request:
            continue
        fallback[att.shipment_id] = request  # the newest attempt that sent anything
        if att.outcome in BOOKING_OUTCOMES and att.jne_order_id == wanted.get(att.shipment_id):
            requests[att.shipment_id] = request
    out = []
    for r in rows:
        fields = requests.get(r.id) or fallback.get(r.id) or {"ORDER_ID": r.jne_order_id}
        out.append(label_from_fields(r.cnote, fields, store=r.store_id, order_number=r.order_number or ""))
    return out


def _columns() -> list[Any]:
    s = ledger.shipments
    return [s.c.id, s.c.store_id, s.c.order_ref, s.c.order_number, s.c.jne_order_id, s.c.cnote,
            s.c.booked_at]


def labels_for_keys(engine: Engine, keys: Iterable[tuple[str, str]],
                    allowed_stores: Iterable[str] | None = None) -> list[Label]:
    """Labels of the booked orders among ``(store, order_ref)`` keys, in the order given.

    Keys of stores outside ``allowed_stores`` (when given) and orders not booked are left out.
    """
    s = ledger.shipments
    allowed = None if allowed_stores is None else set(allowed_stores)
    keys = [(st, ref) for st, ref in dict.fromkeys(keys) if allowed is None or st in allowed][:MAX_LABELS]
    if not keys:
        return []
    by_store: dict[str, list[str]] = {}
    for store, ref in keys:
        by_store.setdefault(store, []).append(ref)
    cond = sa.or_(*(sa.and_(s.c.store_id == st, s.c.order_ref.in_(refs)) for st, refs in by_store.items()))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*_columns()).where(cond, s.c.status == "booked",
                                                         s.c.cnote.is_not(None))).all()
        position = {k: i for i, k in enumerate(keys)}
        rows = sorted(rows, key=lambda r: position[(r.store_id, r.order_ref)])
        return _labels(conn, rows)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` begins and ends in ``timezone``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def select_labels(engine: Engine, *, stores: Sequence[str] | None = None, orders: Sequence[str] = (),
                  booked_on: date | None = None, timezones: dict[str, str] | None = None) -> list[Label]:
    """Labels for ``jne-integration labels``: the named orders, else those booked on a day.

    ``orders`` are matched as the owner names them (order id, number with or without '#', JNE
    ORDER_ID or cnote) within ``stores`` (all stores when None). ``booked_on`` is read in each
    store's pickup time zone (``timezones``, default Asia/Jakarta). Oldest booking first.
    """
    s = ledger.shipments
    cond: list[Any] = [s.c.status == "booked", s.c.cnote.is_not(None)]
    if stores is not None:
        cond.append(s.c.store_id.in_(list(stores)))
    if orders:
        named: list[Any] = []
        for order in orders:
            text = order.strip()
            bare = text.lstrip("#")
            named += [s.c.order_ref == text, s.c.order_number.in_([text, bare, "#" + bare]),
                      s.c.jne_order_id == text.upper(), s.c.cnote == text]
        cond.append(sa.or_(*named))
    if booked_on is not None:
        zones = timezones or {}
        groups: dict[str, list[str]] = {}
        for store in (stores if stores is not None else zones) or []:
            groups.setdefault(zones.get(store, "Asia/Jakarta"), []).append(store)
        spans = []
        for zone, members in groups.items():
            start, end = day_bounds(booked_on, zone)
            spans.append(sa.and_(s.c.store_id.in_(members), s.c.booked_at >= start, s.c.booked_at < end))
        if stores is None:  # stores the configuration does not name: Jakarta's day
            start, end = day_bounds(booked_on, "Asia/Jakarta")
            spans.append(sa.and_(s.c.store_id.not_in(list(zones)), s.c.booked_at >= start,
                                 s.c.booked_at < end))
        cond.append(sa.or_(*spans) if spans else sa.false())
    query = sa.select(*_columns()).where(*cond).order_by(s.c.booked_at, s.c.id).limit(MAX_LABELS)
    with engine.connect() as conn:
        return _labels(conn, conn.execute(query).all())
