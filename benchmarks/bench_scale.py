"""A PostgreSQL ledger with a million shipments: claiming the next due one, and ingest, stay fast.

Run: python benchmarks/bench_scale.py [--rows N] [--due D] [--claims C] [--skip-ingest]

Bulk-loads N deliveries and N shipments (default 1,000,000; 99% booked, the rest needing
attention, skipped, failed, queued for a later retry, and D due now) with generate_series in a
throwaway schema, and the same mix at N / 100 rows in a second schema. Then, on both, times
``ledger.claim`` (the worker's statement) taking the next due row C times, shows PostgreSQL's plan
for it (EXPLAIN ANALYZE, rolled back), and on the big ledger runs the bench_ingest measurement
(receiver vs bare endpoint under the Procfile's gunicorn). Both schemas are dropped afterwards.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest  # noqa: E402 - after the path tweak so the script runs from anywhere
import common  # noqa: E402
from sqlalchemy import event  # noqa: E402

from integration import ledger  # noqa: E402

AIM_CLAIM_MS = 5.0

# One statement per table; g is the row number. Status mix by g % 1000 (see the docstring).
LOAD_DELIVERIES = """
INSERT INTO deliveries (store_id, platform, topic, event_id, order_ref, order_number, order_updated_at,
                        received_at, headers, body)
SELECT 'toko-contoh', 'shopify', 'orders/paid', 'scale-' || g, (8000000000000 + g)::text, '#' || g,
       now() - make_interval(secs => %(n)s - g), now() - make_interval(secs => %(n)s - g),
       '{"Content-Type": "application/json"}'::json,
       convert_to('{"id":' || (8000000000000 + g) || ',"name":"#' || g || '"}', 'UTF8')
FROM generate_series(1, %(n)s) AS g
"""
LOAD_SHIPMENTS = """
INSERT INTO shipments (store_id, order_ref, status, delivery_id, topic, order_updated_at, snapshot_version,
                       order_number, jne_order_id, cnote, attempts, budget_used, next_attempt_at, errors,
                       skip_reason, account_key, created_at, updated_at, booked_at)
SELECT d.store_id, d.order_ref, m.status, d.id, d.topic, d.order_updated_at, 1, d.order_number,
       'TC' || d.id, CASE WHEN m.status = 'booked' THEN lpad(d.id::text, 16, '0') END,
       CASE WHEN m.status IN ('booked', 'failed') THEN 1 ELSE 0 END, 0,
       CASE WHEN m.status = 'queued' THEN
            CASE WHEN d.id > %(n)s - %(due)s THEN now() - interval '1 minute' ELSE now() + interval '1 hour' END
       END,
       '{}'::json, CASE WHEN m.status = 'skipped' THEN 'test order' END, 'TESTAPI@http://jne',
       d.received_at, d.received_at, CASE WHEN m.status = 'booked' THEN d.received_at END
FROM deliveries AS d
CROSS JOIN LATERAL (SELECT CASE
    WHEN d.id > %(n)s - %(due)s THEN 'queued'      -- the newest D orders: due now
    WHEN d.id %% 1000 < 990 THEN 'booked'
    WHEN d.id %% 1000 < 994 THEN 'needs_attention'
    WHEN d.id %% 1000 < 997 THEN 'skipped'
    WHEN d.id %% 1000 < 998 THEN 'failed'
    ELSE 'queued' END AS status) AS m                -- queued for a retry an hour from now
"""


def load(url: str, rows: int, due: int) -> float:
    """Create the schema and bulk-load it; seconds taken."""
    import psycopg

    engine = ledger.make_engine(url)
    ledger.upgrade(engine)
    engine.dispose()
    started = time.monotonic()
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(LOAD_DELIVERIES, {"n": rows})
        conn.execute(LOAD_SHIPMENTS, {"n": rows, "due": due})
        conn.execute("VACUUM ANALYZE deliveries")
        conn.execute("VACUUM ANALYZE shipments")
        try:
            # Write the load's WAL out now, so a checkpoint of it does not land in the ingest run.
            conn.execute("CHECKPOINT")
        except psycopg.Error:
            pass  # not allowed for this role: the measurement only gets noisier
    return time.monotonic() - started


def claim_sql(engine: Any) -> tuple[str, Any]:
    """The SQL and parameters ``ledger.claim`` sends, captured from one real call."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "SKIP LOCKED" in statement.upper():
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        ledger.claim(engine, "bench-explain", ledger.utcnow(), 60, 1)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen[0]


def explain(engine: Any) -> list[str]:
    """EXPLAIN ANALYZE of the claim statement, in a transaction that is rolled back."""
    statement, params = claim_sql(engine)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params)
        lines = [r[0] for r in cur.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    return lines


def time_claims(engine: Any, count: int, limit: int) -> list[float]:
    """Milliseconds of each of ``count`` claims of ``limit`` rows (each takes rows no other claim took)."""
    out = []
    for i in range(count):
        started = time.perf_counter()
        got = ledger.claim(engine, f"bench-{limit}-{i}", ledger.utcnow(), 60, limit)
        out.append((time.perf_counter() - started) * 1000)
        if not got:
            raise SystemExit(f"ran out of due rows after {i} claims; raise --due")
    return out


def main() -> None:
    """Load, measure, print, drop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="shipments in the big ledger (default 1,000,000)")
    parser.add_argument("--due", type=int, default=2000, help="of which due now (default 2000)")
    parser.add_argument("--claims", type=int, default=300, help="single-row claims timed (default 300)")
    parser.add_argument("--skip-ingest", action="store_true", help="skip the ingest measurement on the big ledger")
    parser.add_argument("--ingest-seconds", type=float, default=4.0)
    parser.add_argument("--ingest-rounds", type=int, default=2)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--pg-url", default=common.PG_DEFAULT, help="PostgreSQL server (schemas are made and dropped)")
    args = parser.parse_args()
    batches = max(1, (args.due - args.claims) // 2 // 32)

    print(common.command_line())
    print(common.machine())
    rows: list[list[Any]] = []
    plan: list[str] = []
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        work = Path(tmp)
        for label, n in (("big", args.rows), ("small", max(args.due * 2, args.rows // 100))):
            with common.database("postgresql", work, args.pg_url) as url:
                took = load(url, n, args.due)
                engine = ledger.make_engine(url)
                try:
                    depth = ledger.queue_depth(engine)
                    lines = explain(engine)
                    single = time_claims(engine, args.claims, 1)
                    batch = time_claims(engine, batches, 32)
                finally:
                    engine.dispose()
                if label == "big":
                    plan = lines
                figures[label] = single
                rows.append([f"{n:,}", f"{depth['booked']:,}", f"{depth['queued']:,}", f"{took:.0f}",
                             f"{common.percentile(single, 50):.2f}", f"{common.percentile(single, 99):.2f}",
                             f"{max(single):.2f}", f"{common.percentile(batch, 50):.2f}"])
                if label == "big" and not args.skip_ingest:
                    tool = bench_ingest.pick_tool(args.tool)
                    ingest_dir = work / "ingest"
                    ingest_dir.mkdir()
                    figures["ingest"] = bench_ingest.measure("postgresql", url, ingest_dir, tool, args.ingest_rounds,
                                                             args.ingest_seconds, 8, int(time.time()) % 100_000 * 10**9)
                    figures["tool"] = tool
    print()
    print(f"ledger.claim on PostgreSQL (the worker's statement: next due queued row, FOR UPDATE SKIP LOCKED); "
          f"{args.claims} single-row claims and {batches} claims of 32 per ledger")
    print(common.table(["shipments", "booked", "queued", "load s", "claim 1 p50 ms", "p99 ms", "max ms",
                        "claim 32 p50 ms"], rows))
    big, small = figures["big"], figures["small"]
    ratio = common.percentile(big, 50) / common.percentile(small, 50)
    used = [ln for ln in plan if re.search(r"Index (Only )?Scan", ln)]
    seq = [ln for ln in plan if "Seq Scan on shipments" in ln]
    print(f"claim p50 on {args.rows:,} rows / on {len(small) and rows[1][0]} rows: {ratio:.2f}; "
          f"p99 {common.percentile(big, 99):.2f} ms (aim < {AIM_CLAIM_MS:g} ms): "
          f"{'yes' if common.percentile(big, 99) < AIM_CLAIM_MS else 'NO'}")
    print(f"plan uses an index: {'yes' if used and not seq else 'NO'}")
    print()
    print("EXPLAIN (ANALYZE, BUFFERS) of the claim on the big ledger:")
    for line in plan:
        print("  " + line)
    if "ingest" in figures:
        f = figures["ingest"]
        print()
        print(f"ingest on the {args.rows:,}-shipment ledger (bench_ingest, {figures['tool']}, 8 connections, "
              f"{args.ingest_rounds} x {args.ingest_seconds:g} s per endpoint):")
        print(common.table(bench_ingest.SUMMARY_HEADERS, [bench_ingest.summary_row(f)]))
    print("\nschemas dropped")


if __name__ == "__main__":
    main()
