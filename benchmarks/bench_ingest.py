"""Webhook ingest under gunicorn (as the Procfile runs it) versus a bare Flask endpoint, same run.

Run: python benchmarks/bench_ingest.py [--fresh] [--db sqlite|postgresql|both] [--seconds S] [--rounds N]
                                       [--connections C] [--tool auto|wrk|python] [--bodies 6,19]

Each request is a signed Shopify ``orders/paid`` delivery of a realistic order (the
``twenty_line_items`` fixture, about 19 kB, and the same order cut to its first lines, about 6 kB)
with its own order id and event id (``--fresh``, as in a sale: the default and only mode). The same requests
go to the receiver and to ``benchmarks/bare_app.py`` (reads the body, answers "ok"), both under the
Procfile's gunicorn command, alternating in rounds so that other work on the machine hits both
alike. Figures are the ratio of the two and latency percentiles at C connections; afterwards the
inbox is counted: every 200 must be a stored row.

Load comes from wrk when it is installed (a Lua script signs each request: HMAC-SHA256 resumed
from a precomputed state over the fixed 20 kB prefix, so the client stays cheap), otherwise from a
Python closed-loop generator (threads + http.client), which costs the server CPU on a small machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402 - after the path tweak so the script runs from anywhere

from integration import ledger  # noqa: E402

AIM_RATIO = 0.5
AIM_P99_MS = 25.0
ID_BASE = 7_000_000_000_000


BODY_SIZES_KB = (6, 19)  # a small order (a few lines) and the 20-line fixture, as a sale brings both


def order_template(size_kb: int = 19) -> tuple[bytes, str]:
    """The fixed part of every body of about ``size_kb`` kB (block-aligned for the resumed HMAC), and the topic.

    The per-request keys (id, numbers, name) are moved to the end of the object; JSON does not
    care where they are, and the receiver reads them by name. Smaller bodies keep the fixture's
    first line items.
    """
    fx = common.fixture("shopify", "twenty_line_items")
    order = {k: v for k, v in fx["order"].items() if k not in ("id", "order_number", "number", "name")}
    lines = list(order["line_items"])
    while len(lines) > 1 and len(common.body_of({**order, "line_items": lines})) > size_kb * 1024:
        lines.pop()
    order["line_items"] = lines
    head = common.body_of(order)[:-1] + b","  # drop the closing brace, the suffix closes it
    head += b" " * (-len(head) % 64)  # JSON whitespace: the prefix ends on a SHA-256 block boundary
    return head, fx["topic"]


def suffix(n: int) -> bytes:
    """The unique end of the n-th body."""
    return b'"id":%d,"order_number":%d,"number":%d,"name":"#%d"}' % (ID_BASE + n, n, n, n)


# -- wrk ------------------------------------------------------------------------------------------

LUA = r"""
-- Signed Shopify deliveries with unique ids for bench_ingest.py (wrk + LuaJIT).
local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rshift, lshift, ror, tobit = bit.rshift, bit.lshift, bit.ror, bit.tobit
local byte, char, format, sub = string.byte, string.char, string.format, string.sub

local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2}
local IV = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
local W = {}

local function compress(H, s, off)
  for i = 0, 15 do
    local p = off + i * 4
    local a, b, c, d = byte(s, p, p + 3)
    W[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
  end
  for i = 16, 63 do
    local w15, w2 = W[i - 15], W[i - 2]
    local s0 = bxor(ror(w15, 7), ror(w15, 18), rshift(w15, 3))
    local s1 = bxor(ror(w2, 17), ror(w2, 19), rshift(w2, 10))
    W[i] = tobit(W[i - 16] + s0 + W[i - 7] + s1)
  end
  local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
  for i = 0, 63 do
    local s1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
    local ch = bxor(band(e, f), band(bnot(e), g))
    local t1 = h + s1 + ch + K[i + 1] + W[i]
    local s0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
    local maj = bxor(band(a, b), band(a, c), band(b, c))
    h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + s0 + maj)
  end
  H[1], H[2], H[3], H[4] = tobit(H[1] + a), tobit(H[2] + b), tobit(H[3] + c), tobit(H[4] + d)
  H[5], H[6], H[7], H[8] = tobit(H[5] + e), tobit(H[6] + f), tobit(H[7] + g), tobit(H[8] + h)
end

local function be32(w)
  return char(band(rshift(w, 24), 255), band(rshift(w, 16), 255), band(rshift(w, 8), 255), band(w, 255))
end

-- SHA-256 of (the `done` bytes already in state H0) .. msg; done is a multiple of 64.
local function finish(H0, msg, done)
  local H = {H0[1], H0[2], H0[3], H0[4], H0[5], H0[6], H0[7], H0[8]}
  local bits = (done + #msg) * 8
  local zeros = (64 - (#msg + 9) % 64) % 64
  local s = msg .. "\128" .. string.rep("\0", zeros) .. be32(math.floor(bits / 4294967296)) .. be32(bits % 4294967296)
  for off = 1, #s, 64 do compress(H, s, off) end
  local out = {}
  for i = 1, 8 do out[i] = be32(H[i]) end
  return table.concat(out)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {math.floor(n / 262144) % 64, math.floor(n / 4096) % 64, math.floor(n / 64) % 64, n % 64}
    out[#out + 1] = sub(B64, q[1] + 1, q[1] + 1) .. sub(B64, q[2] + 1, q[2] + 1)
      .. (b and sub(B64, q[3] + 1, q[3] + 1) or "=") .. (c and sub(B64, q[4] + 1, q[4] + 1) or "=")
  end
  return table.concat(out)
end

local function pad(key, v)
  local t = {}
  for i = 1, 64 do t[i] = char(bxor(byte(key, i) or 0, v)) end
  return table.concat(t)
end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  prefix = f:read("*a")
  f:close()
  secret, shop, start, path, topic = args[2], args[3], tonumber(args[4]), args[5], args[6]
  inner0 = {unpack(IV)}
  compress(inner0, pad(secret, 0x36), 1)
  for off = 1, #prefix, 64 do compress(inner0, prefix, off) end
  outer0 = {unpack(IV)}
  compress(outer0, pad(secret, 0x5c), 1)
  counter, ok, other = 0, 0, 0
end

function request()
  counter = counter + 1
  local n = start + tid * 10000000 + counter
  local tail = format('"id":%.0f,"order_number":%.0f,"number":%.0f,"name":"#%.0f"}', ID_BASE + n, n, n, n)
  local inner = finish(inner0, tail, 64 + #prefix)
  local signature = base64(finish(outer0, inner, 64))
  local event = format("bench-%.0f", n)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json", ["X-Shopify-Topic"] = topic,
    ["X-Shopify-Hmac-Sha256"] = signature, ["X-Shopify-Shop-Domain"] = shop,
    ["X-Shopify-API-Version"] = "2025-01", ["X-Shopify-Webhook-Id"] = event .. "-w",
    ["X-Shopify-Event-Id"] = event, ["X-Shopify-Order-Id"] = format("%.0f", ID_BASE + n),
    ["X-Shopify-Triggered-At"] = "2025-11-11T03:00:00.000000000Z", ["X-Shopify-Test"] = "false",
  }, prefix .. tail)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local good, bad = 0, 0
  for _, t in ipairs(threads) do good = good + t:get("ok"); bad = bad + t:get("other") end
  local e = summary.errors
  io.write(format("RESULT requests=%d duration_us=%d ok=%d other=%d errors=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, good, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
""".replace("ID_BASE", str(ID_BASE))


def wrk_load(url: str, script: Path, prefix_file: Path, topic: str, connections: int, seconds: float,
             start: int) -> common.LoadResult:
    """One wrk run; its RESULT line parsed."""
    import subprocess
    from collections import Counter

    threads = min(2, connections)
    args = [common.have_wrk() or "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
            "-s", str(script), url + "/webhooks/shopify", "--", str(prefix_file), common.SECRETS["shopify"],
            common.SHOPIFY_SHOP, str(start), "/webhooks/shopify", topic]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    v = {k: int(x) for k, x in (kv.split("=") for kv in line.split()[1:])}
    statuses = Counter({200: v["ok"]})
    if v["other"]:
        statuses[0] = v["other"]  # wrk's Lua sees the status; the counts say "not 200"
    return common.LoadResult("wrk", v["duration_us"] / 1e6, v["requests"], statuses, v["p50_us"] / 1000,
                             v["p99_us"] / 1000, v["max_us"] / 1000, v["errors"])


def python_load(url: str, prefix: bytes, topic: str, connections: int, seconds: float,
                start: int) -> common.LoadResult:
    """One run of the Python generator with the same requests."""
    port = int(url.rsplit(":", 1)[1])

    def make(thread: int, n: int) -> common.Request:
        number = start + thread * 10_000_000 + n + 1
        body = prefix + suffix(number)
        event = f"bench-{number}"
        return ("/webhooks/shopify", body, common.shopify_headers(body, topic, event, ID_BASE + number), event)

    return common.python_load(port, make, connections, seconds)


@dataclass
class Figures:
    """One database's outcome: the per-round table rows and the summary figures."""

    kind: str
    body_bytes: int
    rows: list[list[Any]]
    ratio: float
    ingest_rate: float
    bare_rate: float
    p50_ms: float
    p99_ms: float
    oks: int
    stored: int
    non_ok: int
    cpu_ingest_ms: float
    cpu_bare_ms: float
    cpu_db_ms: float | None

    @property
    def correct(self) -> bool:
        """Every delivery answered 200 and every 200 stored (a run's last requests may be stored unseen)."""
        return self.non_ok == 0 and self.stored >= self.oks

    @property
    def meets(self) -> bool:
        return self.correct and self.ratio >= AIM_RATIO and self.p99_ms < AIM_P99_MS


def measure(kind: str, url: str, work: Path, tool: str, rounds: int, seconds: float, connections: int,
            start: int, size_kb: int) -> Figures:
    """Serve the receiver and the bare app on ``url``'s ledger, load both alternately, count the inbox."""
    prefix, topic = order_template(size_kb)
    app_name = f"bench_web_{work.name[-8:]}"
    web_url = url + ("&" if "?" in url else "?") + f"application_name={app_name}" if kind == "postgresql" else url
    config = common.write_config(work, web_url)
    prefix_file = work / "prefix.json"
    prefix_file.write_bytes(prefix)
    script = work / "ingest.lua"
    script.write_text(LUA, encoding="utf-8")
    services: list[common.Service] = []
    rows: list[list[Any]] = []
    results: dict[str, list[common.LoadResult]] = {"bare": [], "web": []}
    cpu: dict[str, float] = {"bare": 0.0, "web": 0.0, "db": 0.0}
    try:
        bare = common.start_web("bare", config, work, app_spec="bare_app:create_app()")
        services.append(bare)
        web = common.start_web("web", config, work)
        services.append(web)

        def run(service: common.Service, secs: float) -> common.LoadResult:
            nonlocal start
            start += 100_000_000
            if tool == "wrk":
                return wrk_load(service.url, script, prefix_file, topic, connections, secs, start)
            return python_load(service.url, prefix, topic, connections, secs, start)

        for service in (bare, web):  # warm up: imports, connections, the first pages of the tables
            warm = run(service, 1.0)
            if warm.ok == 0 or warm.ok != warm.requests:
                raise SystemExit(f"{service.name}: warm-up got {dict(warm.statuses)} "
                                 f"({warm.errors} errors)\n{service.tail()}")
        stored_before = common.count_rows(url, "deliveries")
        for r in range(rounds):
            for service in (bare, web):
                pids = common.process_tree(service.proc.pid)
                db_pids = common.pg_backends(url, app_name) if kind == "postgresql" and service is web else []
                cpu_before = common.cpu_seconds(pids), common.cpu_seconds(db_pids)
                res = run(service, seconds)
                cpu[service.name] += common.cpu_seconds(pids) - cpu_before[0]
                if service is web:
                    cpu["db"] += common.cpu_seconds(db_pids) - cpu_before[1]
                results[service.name].append(res)
                rows.append([kind, f"{len(prefix) // 1000} kB", r + 1, "bare Flask" if service is bare else "ingest", round(res.rate),
                             round(res.p50_ms, 1), round(res.p99_ms, 1), round(res.max_ms, 1), res.ok,
                             res.requests - res.ok + res.errors])
        stored = common.count_rows(url, "deliveries") - stored_before
    finally:
        common.stop_all(services)

    def rate(name: str) -> float:
        return sum(r.requests for r in results[name]) / sum(r.seconds for r in results[name])

    def per_request_ms(seconds_: float, name: str) -> float:
        return seconds_ * 1000 / max(1, sum(r.requests for r in results[name]))

    web_results = results["web"]
    return Figures(
        kind=kind, body_bytes=len(prefix) + len(suffix(1)), rows=rows, ratio=rate("web") / rate("bare"), ingest_rate=rate("web"), bare_rate=rate("bare"),
        p50_ms=sorted(r.p50_ms for r in web_results)[len(web_results) // 2],
        p99_ms=max(r.p99_ms for r in web_results), oks=sum(r.ok for r in web_results), stored=stored,
        non_ok=sum(r.requests - r.ok + r.errors for r in web_results),
        cpu_ingest_ms=per_request_ms(cpu["web"], "web"), cpu_bare_ms=per_request_ms(cpu["bare"], "bare"),
        cpu_db_ms=per_request_ms(cpu["db"], "web") if kind == "postgresql" else None)


ROUND_HEADERS = ["db", "body", "round", "endpoint", "req/s", "p50 ms", "p99 ms", "max ms", "200s", "other"]
SUMMARY_HEADERS = ["db", "body", "ratio", "ingest req/s", "bare req/s", "p50 ms", "worst p99", "200s", "inbox rows",
                   "CPU ms/req ingest", "bare", "aims met"]


def summary_row(f: Figures) -> list[Any]:
    """One summary line of the table."""
    extra = f.stored - f.oks
    cpu = f"{f.cpu_ingest_ms:.2f}" + (f" + db {f.cpu_db_ms:.2f}" if f.cpu_db_ms is not None else "")
    return [f.kind, f"{f.body_bytes / 1000:.1f} kB", f"{f.ratio:.2f}", round(f.ingest_rate), round(f.bare_rate), f"{f.p50_ms:.1f}",
            f"{f.p99_ms:.1f}", f.oks, f"{f.stored}" + (f" (+{extra} unseen)" if extra > 0 else ""), cpu,
            f"{f.cpu_bare_ms:.2f}", "yes" if f.meets else "NO"]


def pick_tool(wanted: str) -> str:
    """wrk when installed (or asked for), else the Python generator."""
    if wanted == "auto":
        return "wrk" if common.have_wrk() else "python"
    if wanted == "wrk" and not common.have_wrk():
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --tool python")
    return wanted


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one load run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="bare/ingest pairs per database (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--pg-url", default=common.PG_DEFAULT, help="PostgreSQL server (a schema is made and dropped)")
    parser.add_argument("--procfile", type=Path, default=None,
                        help="take the gunicorn command from this file instead of the Procfile (to compare settings)")
    parser.add_argument("--fresh", action="store_true",
                        help="a new order id and event id on every request, as in a sale (the default and only mode)")
    parser.add_argument("--bodies", default=",".join(map(str, BODY_SIZES_KB)),
                        help="body sizes in kB, comma-separated (default 6,19)")
    args = parser.parse_args()
    if args.procfile is not None:
        common.PROCFILE[0] = args.procfile.resolve()
    tool = pick_tool(args.tool)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    sizes = [int(x) for x in args.bodies.split(",") if x.strip()]

    print(common.command_line())
    print(common.machine())
    print(f"load: {tool}{' (wrk is not installed)' if tool == 'python' and args.tool == 'auto' else ''}, "
          f"{args.connections} connections, {args.rounds} x {args.seconds:g} s per endpoint; bodies "
          + ", ".join(f"{len(order_template(k)[0]) + len(suffix(1))} bytes" for k in sizes)
          + " (signed Shopify orders/paid), a new order id and event id per request")
    print(f"both served as {common.PROCFILE[0].name} says: {' '.join(common.procfile_command('web'))}")
    start = int(time.time()) % 100_000 * 1_000_000_000  # ids of this run never repeat an earlier run's
    figures: list[Figures] = []
    for kind in kinds:
        for size in sizes:
            with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp, \
                    common.database(kind, Path(tmp), args.pg_url) as url:
                engine = ledger.make_engine(url)
                ledger.upgrade(engine)  # once, before 2 x N gunicorn workers start
                engine.dispose()
                figures.append(measure(kind, url, Path(tmp), tool, args.rounds, args.seconds, args.connections,
                                       start, size))
                start += 10_000_000_000
            print()
            print(common.table(ROUND_HEADERS, figures[-1].rows))
    print()
    print(f"aims: ingest/bare throughput >= {AIM_RATIO}, p99 < {AIM_P99_MS:g} ms at {args.connections} "
          "connections, every 200 stored. CPU ms/req: the gunicorn processes' (and PostgreSQL's) CPU time "
          "per request, steadier than req/s when other work shares the machine")
    print(common.table(SUMMARY_HEADERS, [summary_row(f) for f in figures]))
    print()
    for f in figures:
        where = f"{f.kind}, {f.body_bytes / 1000:.1f} kB"
        print(common.aim_line(where, f"ingest/bare throughput >= {AIM_RATIO}",
                              f"{f.ratio:.2f} ({f.ingest_rate:,.0f} vs {f.bare_rate:,.0f} req/s)", f.ratio >= AIM_RATIO))
        print(common.aim_line(where, f"p99 < {AIM_P99_MS:g} ms at {args.connections} connections",
                              f"worst p99 of {args.rounds} rounds {f.p99_ms:.1f} ms", f.p99_ms < AIM_P99_MS))
        print(common.aim_line(where, "every 200 stored, no other answer",
                              f"{f.oks:,} 200s, {f.stored:,} inbox rows, {f.non_ok} other", f.correct))
    # A missed aim is a figure; a delivery answered 200 and not stored is a failure.
    sys.exit(0 if all(f.correct for f in figures) else 1)


if __name__ == "__main__":
    main()
