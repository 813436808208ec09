"""Flash-sale burst: thousands of deliveries into web + worker, every bookable order booked exactly once.

Run: python benchmarks/bench_burst.py [--orders N] [--db sqlite|postgresql|both] [--concurrency C]
                                      [--latency-ms L] [--connections K]

N deliveries (default 5,000) of the order fixtures, Shopify and WooCommerce mixed, each a new order
except 5% repeats of earlier deliveries (the same event), about one in ten unbookable (skipped by
the trigger or needing attention), are posted as fast as K connections allow to the web app under
gunicorn (the Procfile's command), while `jne-integration worker --concurrency C` books them at the
sandbox JNE (`jne-integration sandbox`, L ms per booking). Afterwards the ledger and the sandbox
must agree: each bookable ORDER_ID requested and booked once with the cnote the ledger holds, no
unbookable one requested. The drain time (first delivery sent to last booking recorded) is compared
with the bound: bookable orders x L / C, the time C parallel calls need at the least.
"""

from __future__ import annotations

import argparse
import http.client
import queue
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402 - after the path tweak so the script runs from anywhere

from integration import ledger, pipeline  # noqa: E402
from integration.config import load_config  # noqa: E402

AIM_RATIO = 1.3
AIM_CPU_MS = 2.0       # worker CPU per booking
REPEAT_SHARE = 0.05
UNBOOKABLE_EVERY = 10  # one order in ten comes from an unbookable fixture
SEND_ATTEMPTS = 5      # a delivery that did not get its 200 is sent again, as the platforms do


@dataclass(frozen=True)
class Delivery:
    """One webhook request to send."""

    index: int
    platform: str
    path: str
    body: bytes
    headers: dict[str, str]
    order_ref: str
    order_id: str | None   # the JNE ORDER_ID when bookable
    expect: str            # booked | skipped | needs_attention
    repeat: bool


def expectation(store: Any, topic: str, order: dict[str, Any]) -> tuple[str, str | None]:
    """What the worker will make of ``order`` (the real pipeline, as `preview` runs it): status, ORDER_ID."""
    result = pipeline.prepare(store, topic, order, datetime.now(UTC))
    if not result.book:
        return "skipped", None
    if result.errors:
        return "needs_attention", None
    return "booked", result.fields["ORDER_ID"]


def templates(config: Any) -> list[tuple[str, str, dict[str, Any], str]]:
    """(platform, name, fixture, expected status) for every fixture."""
    out = []
    for platform in ("shopify", "woocommerce"):
        store = config.stores[common.STORE_IDS[platform]]
        for name, fx in common.fixtures(platform):
            order = common.renumber(platform, fx["order"], 90_000)
            out.append((platform, name, fx, expectation(store, fx["topic"], order)[0]))
    return out


def build(config_path: Path, total: int, seed: int) -> list[Delivery]:
    """``total`` deliveries: distinct orders cycling through the fixtures, then 5% repeats mixed in."""
    rng = random.Random(seed)
    config = load_config(config_path)
    kinds = templates(config)
    bookable = [t for t in kinds if t[3] == "booked"]
    unbookable = [t for t in kinds if t[3] != "booked"]
    repeats = round(total * REPEAT_SHARE)
    originals: list[Delivery] = []
    for i in range(total - repeats):
        pool = unbookable if i % UNBOOKABLE_EVERY == UNBOOKABLE_EVERY - 1 else bookable
        platform, _, fx, _ = pool[(i // UNBOOKABLE_EVERY if pool is unbookable else i) % len(pool)]
        number = 100_000 + i
        order = common.renumber(platform, fx["order"], number)
        body = common.body_of(order)
        if platform == "shopify":
            headers = common.shopify_headers(body, fx["topic"], f"burst-{seed}-{i}", order["id"])
        else:
            headers = common.woocommerce_headers(body, fx["topic"])
        expect, order_id = expectation(config.stores[common.STORE_IDS[platform]], fx["topic"], order)
        originals.append(Delivery(i, platform, f"/webhooks/{platform}", body, headers, str(order["id"]),
                                  order_id, expect, False))
    out = list(originals)
    for j in range(repeats):  # the same event again, somewhere after the first delivery
        first = rng.randrange(len(originals))
        again = originals[first]
        at = rng.randrange(first + 1, len(out) + 1)
        out.insert(at, Delivery(len(originals) + j, again.platform, again.path, again.body, again.headers,
                                again.order_ref, again.order_id, again.expect, True))
    return out


def send_all(port: int, deliveries: list[Delivery], connections: int, deadline: float) -> tuple[Counter[int], int]:
    """Post every delivery (retrying one that did not get a 200); the final statuses and the retries."""
    todo: queue.Queue[Delivery] = queue.Queue()
    for d in deliveries:
        todo.put(d)
    statuses: Counter[int] = Counter()
    retries = [0]
    lock = threading.Lock()

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            try:
                d = todo.get_nowait()
            except queue.Empty:
                break
            status = 0
            for attempt in range(SEND_ATTEMPTS):
                try:
                    conn.request("POST", d.path, body=d.body, headers=d.headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    if response.will_close:
                        conn.close()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    status = 0
                if status == 200:
                    break
                with lock:
                    retries[0] += 1
                time.sleep(0.05 * (attempt + 1))
            with lock:
                statuses[status] += 1
        conn.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(connections)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=max(1.0, deadline - time.monotonic()) + 60)
    return statuses, retries[0]


def wait_started(worker: common.Service, timeout: float = 60) -> None:
    """Wait for the worker's "started" log line: its imports and configuration (seconds on a busy box) are done."""
    deadline = time.monotonic() + timeout
    while "started: concurrency" not in worker.tail(100_000):
        if worker.proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start:\n{worker.tail()}")
        time.sleep(0.1)


def wait_drained(url: str, expected: Counter[str], deadline: float) -> dict[str, int]:
    """Poll the ledger until no shipment is queued and every expected status is reached (or the deadline)."""
    engine = ledger.make_engine(url)
    try:
        while True:
            depth = ledger.queue_depth(engine)
            if depth["queued"] == 0 and all(depth[k] >= v for k, v in expected.items()):
                return depth
            if time.monotonic() > deadline:
                return depth
            time.sleep(0.25)
    finally:
        engine.dispose()


def run_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """The burst on one database; the figures and the agreement checks."""
    with tempfile.TemporaryDirectory(prefix="bench_burst_") as tmp, \
            common.database(kind, Path(tmp), args.pg_url) as url:
        work = Path(tmp)
        engine = ledger.make_engine(url)
        ledger.upgrade(engine)
        engine.dispose()
        services: list[common.Service | None] = []
        try:
            sandbox = common.start_sandbox(work)
            services.append(sandbox)
            common.http_json(sandbox.url + "/_sandbox/faults", "POST", {"latency_ms": args.latency_ms})
            config = common.write_config(work, url, jne_url=sandbox.url + "/pickupcashless")
            deliveries = build(config, args.orders, args.seed)
            distinct = [d for d in deliveries if not d.repeat]
            expected = Counter(d.expect for d in distinct)
            bound = expected["booked"] * args.latency_ms / 1000 / args.concurrency
            web = common.start_web("web", config, work)
            services.append(web)
            workers = [common.start_worker(config, work, args.concurrency // args.workers, name=f"worker{i}")
                       for i in range(args.workers)]
            services += workers
            for worker in workers:  # up and polling before the sale starts, as a running service is
                wait_started(worker)
            port = int(web.url.rsplit(":", 1)[1])
            worker_pids = [pid for w in workers for pid in common.process_tree(w.proc.pid)]
            worker_cpu = common.cpu_seconds(worker_pids)
            started = datetime.now(UTC)
            t0 = time.monotonic()
            statuses, retries = send_all(port, deliveries, args.connections, t0 + args.timeout)
            ingest_s = time.monotonic() - t0
            depth = wait_drained(url, expected, t0 + args.timeout)
            # Read before the stop: the CPU of the burst, not of shutting down.
            worker_cpu = common.cpu_seconds(worker_pids) - worker_cpu
            worker_code = max(abs(w.stop() or 0) for w in workers)
            stats = common.http_json(sandbox.url + "/_sandbox/stats")
            bookings = common.http_json(sandbox.url + "/_sandbox/bookings")
        finally:
            common.stop_all(services)

        engine = ledger.make_engine(url)
        try:
            ships = {(s["store"], s["order"]): s for s in ledger.list_shipments(engine)}
            inbox = common.count_rows(url, "deliveries")
        finally:
            engine.dispose()
        last_booked = max((datetime.fromisoformat(s["booked_at"]) for s in ships.values() if s["booked_at"]),
                          default=started)
        drain_s = (last_booked - started).total_seconds()
        by_order_id: dict[str, int] = stats["by_order_id"]
        jne = {b["order_id"]: b["cnote"] for b in bookings}
        wrong = []
        for d in distinct:
            ship = ships.get((common.STORE_IDS[d.platform], d.order_ref))
            if ship is None or ship["status"] != d.expect:
                wrong.append((d.order_ref, d.expect, ship and ship["status"]))
            elif d.expect == "booked" and (jne.get(d.order_id) != ship["cnote"] or by_order_id.get(d.order_id) != 1):
                wrong.append((d.order_ref, "one booking", by_order_id.get(d.order_id)))
        bookable_ids = {d.order_id for d in distinct if d.expect == "booked"}
        stray = set(by_order_id) - bookable_ids
        return {
            "db": kind, "sent": len(deliveries), "200s": statuses.get(200, 0), "resent": retries,
            "inbox": inbox, "distinct": len(distinct), "bookable": expected["booked"],
            "unbookable": len(distinct) - expected["booked"], "booked": depth["booked"],
            "jne_bookings": len(bookings), "jne_requests": stats["requests"],
            "max_per_order": max(by_order_id.values(), default=0), "stray": len(stray), "wrong": wrong,
            "ingest_s": ingest_s, "drain_s": drain_s, "worker_cpu_s": worker_cpu, "bound_s": bound, "worker_exit": worker_code,
            "depth": {k: v for k, v in depth.items() if v},
        }


def main() -> None:
    """Run the burst on each database and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000, help="deliveries to send (default 5000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=16, help="worker --concurrency (default 16)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing --concurrency (default 1; more use more cores)")
    parser.add_argument("--latency-ms", type=int, default=100, help="sandbox JNE latency per booking (default 100)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent webhook senders (default 8)")
    parser.add_argument("--timeout", type=float, default=240, help="give up after this many seconds (default 240)")
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--pg-url", default=common.PG_DEFAULT, help="PostgreSQL server (a schema is made and dropped)")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]

    print(common.command_line())
    print(common.machine())
    print(f"{args.orders} deliveries ({REPEAT_SHARE:.0%} repeats, 1 in {UNBOOKABLE_EVERY} unbookable, Shopify and "
          f"WooCommerce fixtures) from {args.connections} connections; web: {' '.join(common.procfile_command('web'))}; "
          f"worker: {args.workers} x jne-integration worker --concurrency {args.concurrency // args.workers}; sandbox JNE {args.latency_ms} ms per booking")
    results = [run_one(kind, args) for kind in kinds]
    rows = []
    aims = []
    ok = True
    for r in results:
        exact = (not r["wrong"] and not r["stray"] and r["booked"] == r["bookable"] == r["jne_bookings"]
                 and r["max_per_order"] == 1 and r["200s"] == r["sent"] and r["inbox"] == r["distinct"])
        ok &= exact
        ratio = r["drain_s"] / r["bound_s"] if r["bound_s"] else float("nan")
        cpu_ms = r["worker_cpu_s"] * 1000 / max(1, r["booked"])
        rows.append([r["db"], r["sent"], r["200s"], r["inbox"], r["bookable"], r["unbookable"], r["booked"],
                     r["jne_bookings"], r["jne_requests"], r["max_per_order"], "yes" if exact else "NO",
                     f"{r['ingest_s']:.1f}", f"{r['drain_s']:.1f}", f"{r['bound_s']:.1f}", f"{ratio:.2f}",
                     f"{cpu_ms:.2f}"])
        aims += [common.aim_line(r["db"], "every bookable order booked exactly once (ledger = sandbox)",
                          f"{r['booked']} booked of {r['bookable']}, {r['jne_bookings']} JNE bookings, "
                          f"at most {r['max_per_order']} request per ORDER_ID, {r['stray']} stray", exact),
                 common.aim_line(r["db"], f"drain <= {AIM_RATIO} x bound", f"{r['drain_s']:.1f} s / {r['bound_s']:.1f} s "
                          f"= {ratio:.2f}", ratio <= AIM_RATIO),
                 common.aim_line(r["db"], f"worker CPU <= {AIM_CPU_MS:g} ms per booking",
                          f"{cpu_ms:.2f} ms ({r['worker_cpu_s']:.1f} s for {r['booked']} bookings and "
                          f"{r['unbookable']} unbookable orders)", cpu_ms <= AIM_CPU_MS)]
        if r["wrong"] or r["stray"] or r["worker_exit"] != 0:
            print(f"{r['db']}: {len(r['wrong'])} orders not as expected (first: {r['wrong'][:5]}), "
                  f"{r['stray']} unbookable ORDER_IDs sent to JNE, worker exit {r['worker_exit']}, "
                  f"ledger {r['depth']}")
    print()
    print("bound = bookable x latency / concurrency; worker CPU: the worker processes' user + system CPU from "
          "the first delivery to the last booking, over the bookings")
    print(common.table(["db", "sent", "200s", "inbox", "bookable", "unbookable", "booked", "JNE bookings",
                        "JNE requests", "max/ORDER_ID", "exactly once", "ingest s", "drain s", "bound s",
                        "drain/bound", "worker CPU ms/booking"], rows))
    print()
    print("\n".join(aims))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
