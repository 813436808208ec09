"""Shop calls per write-back in the steady state, what a reconcile pass over many orders costs, and a burst.

Run: python benchmarks/bench_writeback.py [--orders N] [--latency-ms MS] [--concurrency C] [--unchanged M]
                                         [--burst B] [--burst-db sqlite|postgresql|both] [--only-burst]

Against the Shopify and WooCommerce stand-ins on loopback (each answer delayed by --latency-ms, as a
real shop's round trip would be), with the real clients and ``writeback.write_back``:

1. first write-back of every order (Shopify: open fulfillment orders fulfilled; WooCommerce: note +
   meta, ``may_have_written=False`` as on a ledger row's first attempt): calls per write-back
   (aim: at most 2), time per write-back, write-backs per second with --concurrency threads;
2. the same again (the shop already shows the cnote): calls per look;
3. WooCommerce with ``complete_order`` (one look first, so a cancelled order is never completed);
4. faults (429 bursts, THROTTLED, a lost reply on some writes): calls per order until done, and the
   check that the shop holds exactly one fulfillment / note per order;
5. a reconcile pass over --unchanged orders the ledger already has (``wants`` says no): calls,
   pages and seconds;
6. the product under a burst (``--burst``, default 1,000 deliveries as ``bench_burst`` builds them): the
   web app under gunicorn and ``jne-integration worker --concurrency 16`` book at the sandbox JNE and,
   in a second run, also write every cnote back to a Shopify and a WooCommerce stand-in (each its own
   process under gunicorn with keep-alive, every answer delayed by the same --latency-ms as JNE's). Printed: both drain times (first
   delivery sent to last booking, resp. last write-back recorded), their ratio (aim: at most 1.3), shop
   calls per booking, and the exactly-once checks (one fulfillment / one note per order).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_burst  # noqa: E402
import common  # noqa: E402
import yaml  # noqa: E402
from shop_helpers import ShopifyShop, WooShop, shopify_order, woo_order  # noqa: E402

from integration import ledger  # noqa: E402
from integration.serving import serve_in_thread  # noqa: E402
from integration.shop.reconcile import run_pass  # noqa: E402
from integration.shop.settings import WritebackSettings  # noqa: E402
from integration.shop.standin_shopify import create_shopify_standin  # noqa: E402
from integration.shop.standin_woocommerce import create_woocommerce_standin  # noqa: E402
from integration.shop.writeback import write_back  # noqa: E402

ON = WritebackSettings(enabled=True)


def _run(label: str, client, ids: list[int], settings: WritebackSettings, concurrency: int,
         may_have_written: bool) -> list:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda i: write_back(client, i, f"{i:016d}", settings,
                                                     may_have_written=may_have_written), ids))
    elapsed = time.perf_counter() - started
    calls = [r.calls for r in results]
    outcomes = {o: sum(r.outcome == o for r in results) for o in ("done", "retry", "refused")}
    print(f"  {label:<44} calls/write-back mean {statistics.mean(calls):.2f} max {max(calls)}  "
          f"{len(ids) / elapsed:7.1f}/s  {1000 * elapsed / len(ids) * concurrency:6.1f} ms each  {outcomes}")
    return results


def _until_done(client, ids: list[int], settings: WritebackSettings, **kw) -> list[int]:
    """Calls per order until done, retrying at once (the worker would wait its backoff)."""
    per_order = []
    for i in ids:
        total, may = 0, kw.get("may_have_written", True)
        for _ in range(10):
            result = write_back(client, i, f"{i:016d}", settings, may_have_written=may)
            total += result.calls
            may = True
            if result.done:
                break
        per_order.append(total)
    return per_order


BURST_AIM = 1.3
BURST_CONCURRENCY = 16
# Shopify's GraphQL cost bucket on Shopify Plus (10,000 points, 1,000 restored a second): a shop that sees
# a thousand orders in a few seconds is on a plan like that; a Standard plan (1,000 / 100 a second) would
# make the client wait for the bucket, which the steady-state section above shows.
PLUS_BUCKET, PLUS_RESTORE = 10_000, 1_000


def _standin(platform: str, work: Path, latency_ms: int) -> common.Service:
    """A shop stand-in in its own process under gunicorn (gthread, keep-alive), as a real shop's API answers:
    werkzeug's server closes every connection, and reconnecting would cost the worker CPU a shop never asks."""
    port = common.free_port()
    if platform == "shopify":
        app = (f"integration.shop.standin_shopify:create_shopify_standin(bucket_max={PLUS_BUCKET}, "
               f"restore_rate={PLUS_RESTORE}, latency_ms={latency_ms})")
    else:
        app = f"integration.shop.standin_woocommerce:create_woocommerce_standin(latency_ms={latency_ms})"
    args = [str(common.BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class",
            "gthread", "--threads", "64", "--keep-alive", "30", "--log-level", "warning", app]
    return common.start_service(f"standin-{platform}", args, port, work, ready_path="/_standin/stats")


def _with_api(config_path: Path, shops: dict[str, common.Service]) -> None:
    """Give both stores of the benchmark configuration an api: block pointing at the stand-ins."""
    doc = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    from integration.shop.standin_shopify import DEFAULT_TOKEN
    from integration.shop.standin_woocommerce import DEFAULT_KEYS

    key, secret = next(iter(DEFAULT_KEYS.items()))
    doc["stores"][common.STORE_IDS["shopify"]]["api"] = {"url": shops["shopify"].url, "access_token": DEFAULT_TOKEN}
    doc["stores"][common.STORE_IDS["woocommerce"]]["api"] = {"url": shops["woocommerce"].url, "consumer_key": key,
                                                              "consumer_secret": secret}
    for name in ("shopify", "woocommerce"):
        doc["stores"][common.STORE_IDS[name]]["reconcile"] = {"every_s": 0}
    config_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _burst_once(kind: str, writeback: bool, args: argparse.Namespace) -> dict:
    """One burst into web + worker; with ``writeback`` the stores write their cnotes back to the stand-ins."""
    import tempfile
    from collections import Counter

    with tempfile.TemporaryDirectory(prefix="bench_wb_burst_") as tmp, \
            common.database(kind, Path(tmp), common.PG_DEFAULT) as url:
        work = Path(tmp)
        engine = ledger.make_engine(url)
        ledger.upgrade(engine)
        engine.dispose()
        services: list = []
        try:
            sandbox = common.start_sandbox(work)
            services.append(sandbox)
            common.http_json(sandbox.url + "/_sandbox/faults", "POST", {"latency_ms": args.latency_ms})
            shops = {p: _standin(p, work, args.latency_ms) for p in ("shopify", "woocommerce")}
            services += shops.values()
            config = common.write_config(work, url, jne_url=sandbox.url + "/pickupcashless")
            deliveries = bench_burst.build(config, args.burst, args.seed)
            distinct = [d for d in deliveries if not d.repeat]
            bookable = [d for d in distinct if d.expect == "booked"]
            for name, shop in shops.items():  # the shops know their own orders
                orders = [json.loads(d.body) for d in bookable if d.platform == name]
                for start in range(0, len(orders), 200):
                    chunk = orders[start:start + 200]
                    payload = [{"order": o} for o in chunk] if name == "shopify" else chunk
                    common.http_json(shop.url + "/_standin/orders", "POST", payload)
            if writeback:
                _with_api(config, shops)
            expected = Counter(d.expect for d in distinct)
            web = common.start_web("web", config, work)
            services.append(web)
            worker = common.start_worker(config, work, BURST_CONCURRENCY)
            services.append(worker)
            time.sleep(1.0)
            port = int(web.url.rsplit(":", 1)[1])
            started = datetime.now(UTC)
            t0 = time.monotonic()
            statuses, _ = bench_burst.send_all(port, deliveries, 8, t0 + args.timeout)
            bench_burst.wait_drained(url, expected, t0 + args.timeout)
            if writeback:
                _wait_written(url, len(bookable), t0 + args.timeout)
            cpu = {"worker": common.cpu_seconds(common.process_tree(worker.proc.pid)),
                   "web": common.cpu_seconds(common.process_tree(web.proc.pid)),
                   "shops": sum(common.cpu_seconds(common.process_tree(s.proc.pid)) for s in shops.values())}
            worker_exit = worker.stop()
            jne = common.http_json(sandbox.url + "/_sandbox/stats")
            shop_stats = {p: common.http_json(s.url + "/_standin/stats") for p, s in shops.items()}
            fulfillments = common.http_json(shops["shopify"].url + "/_standin/fulfillments")
            woo_state = common.http_json(shops["woocommerce"].url + "/_standin/state")
        finally:
            common.stop_all(services)
        engine = ledger.make_engine(url)
        try:
            ships = ledger.list_shipments(engine)
            with engine.connect() as conn:
                import sqlalchemy as sa

                w = ledger.writeback.writebacks
                done_at = conn.execute(sa.select(sa.func.max(w.c.done_at))).scalar()
                states = Counter(s for (s,) in conn.execute(sa.select(w.c.status)))
        finally:
            engine.dispose()
    booked = [s for s in ships if s["status"] == "booked"]
    last_booked = max(datetime.fromisoformat(s["booked_at"]) for s in booked)
    end = done_at if writeback and done_at else last_booked
    cnotes = {s["order"]: s["cnote"] for s in booked}
    ship_orders = {str(d.order_ref) for d in bookable if d.platform == "shopify"}
    woo_orders = {str(d.order_ref) for d in bookable if d.platform == "woocommerce"}
    per_fulfillment = Counter(len(fulfillments.get(o, [])) for o in ship_orders)
    per_note = Counter(len([n for n in woo_state["notes"].get(o, []) if cnotes.get(o, "?") in n["note"]])
                       for o in woo_orders)
    shop_calls = sum(st.get("requests", 0) for st in shop_stats.values())
    return {"db": kind, "writeback": writeback, "sent": len(deliveries), "200s": statuses.get(200, 0),
            "booked": len(booked), "bookable": len(bookable), "jne_requests": jne["requests"],
            "drain_s": (end - started).total_seconds(), "book_drain_s": (last_booked - started).total_seconds(),
            "shop_calls": shop_calls, "states": dict(states), "worker_exit": worker_exit,
            "fulfillments_per_order": dict(per_fulfillment), "notes_per_order": dict(per_note),
            "throttled": shop_stats["shopify"].get("THROTTLED", 0), "cpu": cpu}


def _wait_written(url: str, wanted: int, deadline: float) -> None:
    import sqlalchemy as sa

    engine = ledger.make_engine(url)
    w = ledger.writeback.writebacks
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                settled = conn.execute(sa.select(sa.func.count()).select_from(w).where(
                    w.c.status != "pending")).scalar_one()
            if settled >= wanted:
                return
            time.sleep(0.25)
    finally:
        engine.dispose()


def run_burst(args: argparse.Namespace) -> bool:
    """The burst with write-back off, then on, per database; prints the table; True when the aims hold."""
    kinds = ["sqlite", "postgresql"] if args.burst_db == "both" else [args.burst_db]
    print(f"burst: {args.burst} deliveries (bench_burst's mix) into web + jne-integration worker --concurrency "
          f"{BURST_CONCURRENCY}; sandbox JNE and both shop stand-ins {args.latency_ms} ms per answer; "
          f"Shopify bucket {PLUS_BUCKET} points, {PLUS_RESTORE}/s")
    rows, ok = [], True
    for kind, _ in [(k, r) for k in kinds for r in range(args.burst_rounds)]:
        off = _burst_once(kind, False, args)  # off then on, round after round: both meet the same load
        on = _burst_once(kind, True, args)
        ratio = on["drain_s"] / off["drain_s"]
        once = (set(on["fulfillments_per_order"]) == {1} and set(on["notes_per_order"]) == {1}
                and on["states"] == {"done": on["bookable"]} and on["booked"] == on["bookable"] == off["booked"])
        ok &= once and ratio <= BURST_AIM
        rows.append([kind, on["bookable"], f"{off['drain_s']:.1f}", f"{on['book_drain_s']:.1f}", f"{on['drain_s']:.1f}",
                     f"{ratio:.2f}", "yes" if ratio <= BURST_AIM else "NO",
                     f"{on['shop_calls'] / max(1, on['booked']):.2f}", on["throttled"],
                     f"{off['cpu']['worker']:.1f} / {on['cpu']['worker']:.1f}", f"{on['cpu']['shops']:.1f}",
                     "yes" if once else f"NO {on['states']} {on['fulfillments_per_order']} {on['notes_per_order']}"])
    print(common.table(["db", "bookable", "drain s, write-back off", "last booking s, on",
                        "drain s, on (last write-back)", "on/off", f"aim <= {BURST_AIM}", "shop calls/booking",
                        "THROTTLED", "worker CPU s off / on", "shops CPU s", "one write per order"], rows))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--unchanged", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=1000, help="deliveries in the burst section (0: skip it)")
    parser.add_argument("--burst-db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--burst-latency-ms", type=int, default=100, help="JNE and shop latency in the burst")
    parser.add_argument("--burst-rounds", type=int, default=1, help="off/on pairs per database (default 1)")
    parser.add_argument("--only-burst", action="store_true", help="skip sections 1-5")
    parser.add_argument("--seed", type=int, default=2222)
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # retries under injected faults are expected here
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the stand-ins' request lines
    if args.only_burst:
        print(common.command_line())
        print(common.machine())
        args.latency_ms = args.burst_latency_ms
        sys.exit(0 if run_burst(args) else 1)
    print(f"bench_writeback {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
          f"{args.orders} orders, shop latency {args.latency_ms} ms, concurrency {args.concurrency}")
    shopify = ShopifyShop(serve_in_thread(create_shopify_standin()))
    woo = WooShop(serve_in_thread(create_woocommerce_standin()))
    try:
        ids = list(range(1, args.orders + 1))
        shopify.add(*[shopify_order(i, 1000 + i) for i in ids])
        woo.add(*[woo_order(i) for i in ids])
        for shop in (shopify, woo):
            shop.faults(latency_ms=args.latency_ms)
        sc, wc = shopify.client(), woo.client()

        print("steady state")
        _run("Shopify: first write-back", sc, ids, ON, args.concurrency, True)
        _run("Shopify: again (already shows the cnote)", sc, ids, ON, args.concurrency, True)
        _run("WooCommerce: first write-back", wc, ids, ON, args.concurrency, False)
        _run("WooCommerce: again, looking first", wc, ids, ON, args.concurrency, True)
        more = list(range(args.orders + 1, 2 * args.orders + 1))
        woo.add(*[woo_order(i) for i in more])
        _run("WooCommerce: first, complete_order: true", wc, more,
             WritebackSettings(enabled=True, complete_order=True), args.concurrency, False)
        fulfilled = sum(len(shopify.fulfillments(i)) for i in ids)
        notes = sum(len(woo.notes(i)) for i in ids + more)
        print(f"  shop holds {fulfilled} fulfillments for {len(ids)} Shopify orders, "
              f"{notes} notes for {len(ids) + len(more)} WooCommerce orders")

        print("faults (each order retried at once until done)")
        burst = list(range(5001, 5001 + min(args.orders, 50)))
        shopify.add(*[shopify_order(i, 9000 + i) for i in burst])
        woo.add(*[woo_order(i) for i in burst])
        shopify.faults(latency_ms=0, rate_limit=10, retry_after_s=0.05, throttled=10, lose_reply=5, stall_s=0)
        per = _until_done(shopify.client(timeout_s=5), burst, ON)
        print(f"  Shopify: calls/order mean {statistics.mean(per):.2f} max {max(per)}; fulfillments per order "
              f"{sorted({len(shopify.fulfillments(i)) for i in burst})}")
        woo.faults(latency_ms=0, rate_limit=10, retry_after_s=0.05, lose_reply=5, stall_s=0)
        per = _until_done(woo.client(timeout_s=5), burst, ON, may_have_written=False)
        print(f"  WooCommerce: calls/order mean {statistics.mean(per):.2f} max {max(per)}; notes per order "
              f"{sorted({len(woo.notes(i)) for i in burst})}")

        print(f"reconcile over {args.unchanged} unchanged orders the ledger already has")
        shopify.reset()
        woo.reset()
        old = datetime.now(UTC) - timedelta(hours=1)
        for start in range(0, args.unchanged, 1000):
            chunk = range(100_000 + start, 100_000 + min(start + 1000, args.unchanged))
            shopify.add(*[shopify_order(i, i, updated_at=old) for i in chunk])
            woo.add(*[woo_order(i, modified=old) for i in chunk])
        for name, client in (("Shopify", shopify.client()), ("WooCommerce", woo.client())):
            started = time.perf_counter()
            result = run_pass(client, old - timedelta(minutes=1), lambda o, t: None, wants=lambda ref, u: False)
            print(f"  {name:<12} {result.seen} orders seen, {result.pages} pages, {result.calls} calls, "
                  f"{result.ingested} taken in, {time.perf_counter() - started:.2f} s")
    finally:
        shopify.server.stop()
        woo.server.stop()
    if args.burst:
        args.latency_ms = args.burst_latency_ms
        sys.exit(0 if run_burst(args) else 1)


if __name__ == "__main__":
    main()
