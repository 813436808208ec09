"""Shop calls per write-back in the steady state, and what a reconcile pass over many orders costs.

Run: python benchmarks/bench_writeback.py [--orders N] [--latency-ms MS] [--concurrency C] [--unchanged M]

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
   pages and seconds.
"""

from __future__ import annotations

import argparse
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

from shop_helpers import ShopifyShop, WooShop, shopify_order, woo_order  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--unchanged", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # retries under injected faults are expected here
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


if __name__ == "__main__":
    main()
