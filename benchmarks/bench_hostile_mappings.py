"""CPU time and peak memory of hostile mappings and orders (issue 14), each in its own process.

Run: python benchmarks/bench_hostile_mappings.py [--levels 16,20,22] [--vars 2000,5000,20000]
                                                [--order-mb 0.5,1,2] [--cpu-limit 120]

- doubling: `preview` of the Shopify example through a mapping whose var doubles N times;
- many vars: loading (checking) a mapping of N chained vars;
- big order: mapping the Shopify example with an accented address of N MB.
Each case runs in a fresh interpreter under an address-space limit (4 GiB) and a CPU-time limit,
and prints its CPU seconds, peak RSS and what came out (or how it ended).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hostile_mappings  # noqa: E402

CHILD = r"""
import json, resource, sys, time
from datetime import datetime, UTC
sys.path.insert(0, {tests!r})
import hostile_mappings
from integration.mapping import load_mapping
from integration.config import load_config
from integration import pipeline
case, arg, path = sys.argv[1], sys.argv[2], sys.argv[3]
store = load_config(None, env={{"DATABASE_URL": "sqlite:///:memory:"}}).stores["demo"]
t0 = time.process_time()
outcome = ""
if case == "vars":
    mapping = load_mapping(path)
    outcome = "loaded"
else:
    if case == "doubling":
        mapping = load_mapping(path)
        order = json.loads(hostile_mappings.EXAMPLE.read_bytes())
    else:
        mapping = store.mapping
        order = hostile_mappings.big_accented_order(int(float(arg) * 1024 * 1024))
    t0 = time.process_time()
    result = mapping.apply(order, store.facts, {{"topic": "orders/create", "received_at": "2025-03-14T01:00:00+00:00"}},
                           datetime(2025, 3, 14, 1, 0, tzinfo=UTC))
    outcome = "errors: " + "; ".join(f"{{k}}: {{v[0][:80]}}" for k, v in result.errors.items()) if result.errors else "mapped"
print(json.dumps({{"cpu_s": time.process_time() - t0, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome[:160]}}))
"""


def run(case: str, arg: str, path: str, cpu_limit: int) -> dict:
    """One case in a child interpreter under the limits."""
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_limit))

    proc = subprocess.run([sys.executable, "-c", CHILD.format(tests=str(ROOT / "tests")), case, arg, path],
                          capture_output=True, text=True, preexec_fn=limits, timeout=cpu_limit * 3 + 60)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"cpu_s": None, "rss_mb": None, "outcome": f"died ({proc.returncode}): {tail[:120]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure and print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="16,20,22")
    parser.add_argument("--vars", default="2000,5000,20000")
    parser.add_argument("--order-mb", default="0.25,0.5,1,2")
    parser.add_argument("--cpu-limit", type=int, default=120)
    args = parser.parse_args()
    print("$ python benchmarks/bench_hostile_mappings.py " + " ".join(sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="hostile_") as tmp:
        cases = []
        for levels in filter(None, args.levels.split(",")):
            path = hostile_mappings.write_beside_mappings(Path(tmp), f"doubling{levels}.yaml",
                                                          hostile_mappings.doubling_mapping(int(levels)))
            cases.append(("doubling", levels, str(path)))
        for count in filter(None, args.vars.split(",")):
            path = hostile_mappings.write_beside_mappings(Path(tmp), f"vars{count}.yaml",
                                                          hostile_mappings.many_vars_mapping(int(count)))
            cases.append(("vars", count, str(path)))
        cases += [("order", mb, "-") for mb in filter(None, args.order_mb.split(","))]
        print(f"{'case':10} {'size':>7} {'CPU s':>8} {'peak MB':>8}  outcome")
        for case, arg, path in cases:
            got = run(case, arg, path, args.cpu_limit)
            cpu = "-" if got["cpu_s"] is None else f"{got['cpu_s']:.2f}"
            rss = "-" if got["rss_mb"] is None else f"{got['rss_mb']:.0f}"
            print(f"{case:10} {arg:>7} {cpu:>8} {rss:>8}  {got['outcome']}", flush=True)


if __name__ == "__main__":
    main()
