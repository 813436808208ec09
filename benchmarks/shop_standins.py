"""Serve a shop stand-in (Shopify or WooCommerce) in its own process, for the benchmarks.

Run: python benchmarks/shop_standins.py --platform shopify|woocommerce --port P [--latency-ms L]
                                        [--bucket-max B --restore-rate R]

A separate process, like a real shop: its request handling does not compete with the benchmark's own
threads for one interpreter. Faults, seeding and counts go through its ``/_standin/...`` endpoints.
"""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from integration.shop.standin_shopify import create_shopify_standin
from integration.shop.standin_woocommerce import create_woocommerce_standin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=["shopify", "woocommerce"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--bucket-max", type=float, default=1000, help="Shopify query-cost bucket (default 1000)")
    parser.add_argument("--restore-rate", type=float, default=100, help="Shopify points restored per second")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request would cost the run
    if args.platform == "shopify":
        app = create_shopify_standin(bucket_max=args.bucket_max, restore_rate=args.restore_rate,
                                     latency_ms=args.latency_ms)
    else:
        app = create_woocommerce_standin(latency_ms=args.latency_ms)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
