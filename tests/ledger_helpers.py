"""Small builders shared by the ledger and worker tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from integration import ledger

T0 = datetime(2024, 11, 11, 3, 0, tzinfo=UTC)


def delivery(store: str = "toko", order_ref: str | None = "1001", event_id: str = "ev-1", *,
             updated_at: datetime | None = T0, order_number: str | None = None,
             topic: str = "orders/paid", platform: str = "shopify",
             order: dict[str, Any] | None = None, body: bytes | None = None) -> ledger.Delivery:
    """A delivery for ``order_ref``; the body is ``order`` as JSON (or a tiny stand-in)."""
    if body is None:
        body = json.dumps(order if order is not None else {"id": order_ref}).encode()
    return ledger.Delivery(
        store_id=store, platform=platform, topic=topic, event_id=event_id, order_ref=order_ref,
        order_number=order_number if order_number is not None else (f"#{order_ref}" if order_ref else None),
        order_updated_at=updated_at, headers={"X-Shopify-Topic": topic}, body=body,
        received_at=datetime.now(UTC))


def later(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def set_status(engine: sa.Engine, store: str, order_ref: str, status: str, **values: Any) -> None:
    """Force a shipment into a status (what the worker would have written)."""
    s = ledger.shipments
    values.setdefault("next_attempt_at", None)
    with engine.begin() as conn:
        conn.execute(sa.update(s).where(s.c.store_id == store, s.c.order_ref == order_ref)
                     .values(status=status, **values))


def row(engine: sa.Engine, store: str, order_ref: str) -> Any:
    """The raw shipments row."""
    s = ledger.shipments
    with engine.connect() as conn:
        return conn.execute(sa.select(s).where(s.c.store_id == store, s.c.order_ref == order_ref)).one()


def count(engine: sa.Engine, table: sa.Table) -> int:
    """Rows in ``table``."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def dump_text(engine: sa.Engine) -> str:
    """Every value of every ledger table as one string (to look for secrets)."""
    parts: list[str] = []
    with engine.connect() as conn:
        for table in ledger.metadata.sorted_tables:
            for r in conn.execute(sa.select(table)):
                parts += [v.decode("utf-8", "replace") if isinstance(v, bytes) else
                          json.dumps(v, default=str) for v in r]
    return "\n".join(parts)
