"""Retention: how fast ``prune`` erases orders, and what the worker's daily pass costs when nothing is due.

Run: python benchmarks/bench_prune.py [--orders N] [--fresh M] [--backend sqlite|postgresql|both]

Stores N booked orders (the Shopify prepaid fixture, renumbered, ~6 kB each, with the attempt that
booked it) settled 100 days ago and M booked today, then times one ``prune`` (erases the N: orders
per second, compaction included) and a second pass that finds nothing due (the daily pass of a
worker on a ledger already pruned: what "cheap when nothing is due" means in milliseconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402 - after the path tweak so the script runs from anywhere
import sqlalchemy as sa  # noqa: E402

from integration import ledger  # noqa: E402
from integration.ledger import retention  # noqa: E402

FIXTURE = common.ORDERS / "shopify" / "prepaid_jakarta.json"
REQUEST = {"ORDER_ID": "TC1", "RECEIVER_NAME": "ANDI PRATAMA", "RECEIVER_ADDR1": "JL. WOLTER MONGINSIDI NO. 88",
           "RECEIVER_ADDR2": "KEL. PETOGOGAN", "RECEIVER_CITY": "JAKARTA SELATAN", "RECEIVER_ZIP": "12170",
           "RECEIVER_PHONE": "+6281377889900", "SPECIAL_INS": "-", "COD_AMOUNT": "0"}


def fill(engine: sa.Engine, orders: int, fresh: int) -> None:
    """N old booked orders and M fresh ones, each with one delivery and one booked attempt."""
    base = json.loads(FIXTURE.read_text(encoding="utf-8"))["order"]
    now = datetime.now(UTC)
    old = now - timedelta(days=100)
    s, d, a = ledger.shipments, ledger.deliveries, ledger.attempts_log
    with engine.begin() as conn:
        for i in range(orders + fresh):
            when = old if i < orders else now
            order = dict(base, id=7_000_000 + i, name=f"#{10000 + i}")
            delivery_id = conn.execute(d.insert().values(
                store_id="toko-contoh", platform="shopify", topic="orders/paid", event_id=f"ev-{i}",
                order_ref=str(order["id"]), order_number=order["name"], received_at=when,
                headers={"Content-Type": "application/json"}, body=json.dumps(order).encode())).inserted_primary_key[0]
            shipment_id = conn.execute(s.insert().values(
                store_id="toko-contoh", order_ref=str(order["id"]), status="booked", delivery_id=delivery_id,
                topic="orders/paid", snapshot_version=1, order_number=order["name"], jne_order_id=f"TC{10000 + i}",
                cnote=f"{8000000000000000 + i}", attempts=1, budget_used=1, errors={}, problems=[],
                created_at=when, updated_at=when, booked_at=when, customer_ref=str(i))).inserted_primary_key[0]
            conn.execute(a.insert().values(shipment_id=shipment_id, started_at=when, jne_order_id=f"TC{10000 + i}",
                                           request=dict(REQUEST, ORDER_ID=f"TC{10000 + i}"), outcome="booked",
                                           http_status=200, reply='{"detail":[{"status":"sukses"}]}'))


def bench(url: str, orders: int, fresh: int) -> list[str]:
    """One backend: fill, prune (timed), prune again (timed)."""
    engine = ledger.make_engine(url)
    ledger.upgrade(engine)
    fill(engine, orders, fresh)
    now = datetime.now(UTC)
    started = time.perf_counter()
    report = retention.prune(engine, now, 90)
    erase_s = time.perf_counter() - started
    started = time.perf_counter()
    compacted = retention.compact(engine)
    compact_s = time.perf_counter() - started
    assert report.erased == orders, report
    started = time.perf_counter()
    again = retention.prune(engine, now, 90)
    idle_s = time.perf_counter() - started
    assert again.erased == 0
    engine.dispose()
    return [engine.dialect.name, str(orders), f"{orders / erase_s:,.0f}", f"{compact_s * 1000:,.0f}",
            f"{idle_s * 1000:.1f}", compacted.split(" (")[0]]


def main() -> None:
    """Fill, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--fresh", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(common.command_line())
    print(common.machine())
    rows = []
    with TemporaryDirectory() as tmp:
        if args.backend in ("sqlite", "both"):
            rows.append(bench(f"sqlite:///{tmp}/bench.db", args.orders, args.fresh))
        if args.backend in ("postgresql", "both"):
            import psycopg

            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = common.PG_DEFAULT.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                rows.append(bench(f"{common.PG_DEFAULT}?options=-csearch_path%3D{schema}", args.orders, args.fresh))
            finally:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print(common.table(["backend", "erased", "orders/s", "compact ms", "idle pass ms", "compaction"], rows))


if __name__ == "__main__":
    main()
