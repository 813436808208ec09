"""How many fixture orders per second are mapped, resolved and validated, on one core.

Run: python benchmarks/bench_mapping.py [--seconds S] [--profile]

Every order fixture (tests/fixtures/orders/{shopify,woocommerce}) goes through the default mapping of
its platform (with the fixtures' store facts and HS code table, but no destinations table: every
destination is resolved by the destination rule through Kemendagri's regions and the sandbox's JNE
list, as for a store that synced its list) and then JNE's schema, as `preview` and the worker do.

The figures are CPU time per order (``time.thread_time``), not wall time: the machine is shared,
and CPU time is what another process's load changes least. Printed: orders per second and µs per
order (best batch and median), for mapping + resolution + validation with the resolver's memo warm
(addresses recur, the worker's steady state) and with it emptied before every pass (each address
worked out again), and for the mapping alone. ``--profile`` prints the top of a cProfile run instead.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fixtures.expect import ORDERS, fixtures  # noqa: E402

from integration.config import DESTINATION_FILES  # noqa: E402
from integration.destinations import cache  # noqa: E402
from integration.mapping import load_mapping  # noqa: E402
from integration.mapping.files.live import LiveMapping  # noqa: E402
from integration.pipeline import add_schema_problems  # noqa: E402

NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)


def workload() -> list[tuple]:
    """(mapping, order, store facts, event) for every fixture."""
    blocks = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))
    tables = {name: str(ORDERS / path) for name, path in blocks["toko-contoh"]["lookups"].items()
              if name != "destinations"}  # resolved, not looked up
    mappings = {p: load_mapping(ROOT / "mappings" / f"{p}.yaml", tables=tables) for p in ("shopify", "woocommerce")}
    jobs = []
    for fx in fixtures():
        facts = {k: v for k, v in blocks[fx.store].items() if k != "lookups"}
        facts.update(id=fx.store, platform=fx.platform, **{"return": {}})
        facts[DESTINATION_FILES] = {"list": cache.EMBEDDED, "overrides": ""}  # the sandbox's list, no sync
        jobs.append((mappings[fx.platform], fx.order, facts, {"topic": fx.topic, "received_at": NOW.isoformat()}))
    return jobs


def followed(jobs: list[tuple]) -> list[tuple]:
    """The same jobs through LiveMapping, as the service holds its mappings (files checked once a second)."""
    live: dict[int, LiveMapping] = {}
    for mapping, *_ in jobs:
        if id(mapping) not in live:
            live[id(mapping)] = LiveMapping(lambda fp, m=mapping: m, mapping, _fingerprint(mapping))
    return [(live[id(m)], *rest) for m, *rest in jobs]


def _fingerprint(mapping):
    from integration.mapping.files.fingerprint import Fingerprint

    found = Fingerprint()
    load_mapping(mapping.path, tables={n: str(t.path) for n, t in mapping.tables.items()}, fingerprint=found)
    return found


def forget_addresses() -> None:
    """Empty every resolver's memo: the next pass works each address out again."""
    for entry in list(cache._ENTRIES.values()):
        memo = getattr(entry.resolver, "_memo", None)
        if memo is not None:
            memo.clear()


def one_pass(jobs: list[tuple], validate: bool = True, fresh: bool = False) -> None:
    if fresh:
        forget_addresses()
    for mapping, order, store, event in jobs:
        result = mapping.apply(order, store, event, NOW)
        if validate and result.fields:  # skipped orders too, as this benchmark always did
            add_schema_problems(mapping, result)  # what pipeline.prepare does after the mapping
        result.errors  # noqa: B018 - the worker renders the problems it records (in English)


def rate(jobs: list[tuple], seconds: float, validate: bool, fresh: bool = False) -> tuple[float, float]:
    """(best, median) orders per second of CPU time over batches of five passes each."""
    one_pass(jobs, validate)  # warm up: the regions index, the resolver, caches, zoneinfo, the validator
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.thread_time()
        for _ in range(5):
            one_pass(jobs, validate, fresh)
        rates.append(5 * len(jobs) / (time.thread_time() - start))
    return max(rates), statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement (default 5)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of mapping + validation")
    args = parser.parse_args()
    jobs = workload()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as promised
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(200):
            one_pass(jobs)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        return
    best, median = rate(jobs, args.seconds, validate=True)
    fresh_best, fresh_median = rate(jobs, args.seconds, validate=True, fresh=True)
    live_best, live_median = rate(followed(jobs), args.seconds, validate=True)
    map_best, map_median = rate(jobs, args.seconds, validate=False)
    print(f"command: python benchmarks/bench_mapping.py --seconds {args.seconds:g}")
    print(f"python {platform.python_version()} on {platform.machine()}, one core, load {os.getloadavg()[0]:.1f}; "
          f"{len(jobs)} fixture orders (Shopify and WooCommerce, booked, skipped and failing ones); CPU time")
    print(f"mapped + resolved + validated: {best:,.0f} orders/s best, {median:,.0f} median "
          f"({1e6 / best:,.0f} / {1e6 / median:,.0f} µs/order)")
    print(f"  the same, every address new: {fresh_best:,.0f} orders/s best, {fresh_median:,.0f} median "
          f"({1e6 / fresh_best:,.0f} / {1e6 / fresh_median:,.0f} µs/order)")
    print(f"mapped + resolved only:        {map_best:,.0f} orders/s best, {map_median:,.0f} median "
          f"({1e6 / map_best:,.0f} / {1e6 / map_median:,.0f} µs/order; validation is the rest)")
    print(f"through LiveMapping (as served, edits followed): {live_best:,.0f} orders/s best, "
          f"{live_median:,.0f} median ({live_median / median:.2f}x the plain mapping's median)")


if __name__ == "__main__":
    main()
