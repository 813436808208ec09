"""Shared pieces of the benchmark scripts: configs, orders, databases, processes, load, tables.

Everything runs on loopback: the web app under gunicorn exactly as the Procfile starts it, the
worker and the sandbox JNE as `jne-integration` subprocesses, PostgreSQL in a throwaway schema.
Every loop here is bounded in count and in time.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
ORDERS = ROOT / "tests" / "fixtures" / "orders"
BIN = Path(sys.executable).parent  # the venv's console scripts: gunicorn, jne-integration
PG_DEFAULT = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

SHOPIFY_SHOP = "toko-contoh.myshopify.com"
WOO_SOURCE = "https://toko-contoh.example/"
SECRETS = {"shopify": "bench-shopify-secret-0123456789", "woocommerce": "bench-woo-secret-0123456789"}
STORE_IDS = {"shopify": "toko-contoh", "woocommerce": "toko-woo"}
PREFIXES = {"shopify": "TC", "woocommerce": "TW"}
JNE_USERNAME = "TESTAPI"
JNE_API_KEY = "25c898a9faea1a100859ecd9ef674548"  # the sandbox's test key, from JNE's document


# -- printing ---------------------------------------------------------------------------------

def command_line() -> str:
    """The command that produced this output, to print above the table."""
    script = os.path.relpath(sys.argv[0], ROOT) if Path(sys.argv[0]).is_absolute() else sys.argv[0]
    return "$ python " + " ".join(shlex.quote(a) for a in [script, *sys.argv[1:]])


def machine() -> str:
    """One line on the machine: cores, load (other work skews absolute times), its speed now, Python, date."""
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores, load {load}, speed now: {reference_ms():.3f} ms of CPU per json.loads of "
            f"the 19 kB order (0.12 for the figures of 2026-11-27), Python {platform.python_version()}, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


def reference_ms(rounds: int = 300) -> float:
    """CPU ms of one ``json.loads`` of the 20-line fixture: how fast this box is right now.

    CPU milliseconds per request or booking depend on it (a busy shared box is slower per
    instruction), so each figure is printed with this one beside it.
    """
    body = body_of(fixture("shopify", "twenty_line_items")["order"])
    started = time.process_time()
    for _ in range(rounds):
        json.loads(body)
    return (time.process_time() - started) * 1000 / rounds


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, numbers right-aligned."""
    text = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str], raw: Sequence[Any] | None = None) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            numeric = raw is not None and isinstance(raw[i], int | float)
            out.append(cell.rjust(width) if numeric else cell.ljust(width))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]),
                      *(line(t, r) for t, r in zip(text, rows, strict=True))])


def aim_line(db: str, aim: str, measured: str, met: bool) -> str:
    """One "<db>: aim: ..., measured: ..., met: yes/no" line, as the benchmarks print their aims."""
    return f"{db}: aim: {aim}, measured: {measured}, met: {'yes' if met else 'no'}"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p / 100 * len(ordered) // 1))))
    return ordered[rank - 1]


# -- orders -----------------------------------------------------------------------------------

def fixture(platform_: str, name: str) -> dict[str, Any]:
    """One order fixture ``{description, topic, order, expect}`` from tests/fixtures/orders."""
    return json.loads((ORDERS / platform_ / f"{name}.json").read_text(encoding="utf-8"))


def fixtures(platform_: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, fixture) for every fixture of ``platform_`` written for the default store."""
    out = []
    for path in sorted((ORDERS / platform_).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "store" not in doc:  # other store facts (origin Batam): not in the bench config
            out.append((path.stem, doc))
    return out


def renumber(platform_: str, order: dict[str, Any], n: int) -> dict[str, Any]:
    """A copy of ``order`` as order number ``n``: a new platform id and a new JNE ORDER_ID."""
    order = copy.deepcopy(order)
    if platform_ == "shopify":
        order.update(id=7_000_000_000_000 + n, order_number=n, number=n - 1000, name=f"#{n}")
    else:
        order.update(id=n, number=str(n))
    return order


def body_of(order: dict[str, Any]) -> bytes:
    """The order as the platforms send it: compact UTF-8 JSON."""
    return json.dumps(order, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(secret, raw body)): both platforms' signature."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(body: bytes, topic: str, event_id: str, order_id: Any) -> dict[str, str]:
    """Shopify's header set for one delivery (as tests/fixtures/sign.py builds it)."""
    return {
        "Content-Type": "application/json", "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body, SECRETS["shopify"]), "X-Shopify-Shop-Domain": SHOPIFY_SHOP,
        "X-Shopify-API-Version": "2025-01", "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id, "X-Shopify-Order-Id": str(order_id), "X-Shopify-Test": "false",
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def woocommerce_headers(body: bytes, topic: str) -> dict[str, str]:
    """WooCommerce's header set for one delivery (its delivery id is not a dedupe key)."""
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json", "User-Agent": "WooCommerce/9.8.1 Hookshot (WordPress/6.7.2)",
        "X-WC-Webhook-Source": WOO_SOURCE, "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event, "X-WC-Webhook-Signature": sign(body, SECRETS["woocommerce"]),
        "X-WC-Webhook-ID": "7", "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
    }


# -- configuration and databases --------------------------------------------------------------

def store_block(platform_: str) -> dict[str, Any]:
    """A store with the facts the order fixtures were written for (tests/fixtures/orders/stores.yaml)."""
    facts = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))["toko-contoh"]
    block = {k: v for k, v in facts.items() if k not in ("shop", "source", "lookups")}
    block.update(
        platform=platform_, shop=SHOPIFY_SHOP if platform_ == "shopify" else WOO_SOURCE,
        webhook_secret=SECRETS[platform_], mapping=str(ROOT / "mappings" / f"{platform_}.yaml"),
        lookups={k: str(ORDERS / v) for k, v in facts["lookups"].items()},
        order_prefix=PREFIXES[platform_])
    return block


def write_config(directory: Path, database_url: str, jne_url: str = "http://127.0.0.1:9/pickupcashless",
                 **worker: Any) -> Path:
    """``directory/integration.yaml`` with a Shopify and a WooCommerce store; ``worker`` sets worker knobs."""
    doc: dict[str, Any] = {
        "database_url": database_url,
        "jne": {"url": jne_url, "username": JNE_USERNAME, "api_key": JNE_API_KEY, "timeout_s": 15},
        "stores": {STORE_IDS[p]: store_block(p) for p in ("shopify", "woocommerce")},
    }
    if worker:
        doc["worker"] = worker
    path = directory / "integration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def database(kind: str, directory: Path, pg_base: str = PG_DEFAULT) -> Iterator[str]:
    """A SQLAlchemy URL to an empty ledger database: a SQLite file, or a throwaway PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'ledger.db'}"
        return
    import psycopg

    admin = pg_base.replace("postgresql+psycopg://", "postgresql://", 1)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def count_rows(database_url: str, table: str) -> int:
    """Rows in a ledger table."""
    import sqlalchemy as sa

    from integration import ledger

    engine = ledger.make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


# -- processes --------------------------------------------------------------------------------

def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PROCFILE = [ROOT / "Procfile"]  # a script's --procfile replaces it, to compare other settings


def procfile_command(process: str) -> list[str]:
    """The Procfile's command for ``process`` (``web`` or ``worker``), split into arguments."""
    for line in PROCFILE[0].read_text(encoding="utf-8").splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return shlex.split(command.strip())
    raise SystemExit(f"Procfile has no {process!r} process")


def web_command(port: int, app_spec: str | None = None) -> list[str]:
    """The Procfile's web command bound to 127.0.0.1:``port``, optionally serving another app."""
    args = procfile_command("web")
    out: list[str] = []
    for arg in args:
        if "${PORT" in arg or arg.startswith("0.0.0.0:"):
            arg = f"127.0.0.1:{port}"  # loopback only, whatever the Procfile binds
        elif arg.startswith("--bind="):
            arg = f"--bind=127.0.0.1:{port}"
        out.append(arg)
    if out[0] == "gunicorn":
        out[0] = str(BIN / "gunicorn")
    if app_spec is not None:
        out = [app_spec if a == "integration.app:create_app()" else a for a in out]
        out[1:1] = ["--pythonpath", str(BENCH_DIR)]
    return out


@dataclass
class Service:
    """A subprocess serving HTTP on a loopback port, its output going to a log file."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        """Signal it and wait (then kill); its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def tail(self, chars: int = 3000) -> str:
        """The end of its log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def start_service(name: str, args: list[str], port: int, directory: Path, env: dict[str, str] | None = None,
                  ready_path: str = "/healthz", timeout: float = 60, method: str = "GET") -> Service:
    """Start ``args`` and wait until ``ready_path`` answers below 500 on the port."""
    log = directory / f"{name}.log"
    handle = log.open("wb")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    handle.close()
    service = Service(name, proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request(method, ready_path)
            if conn.getresponse().status < 500:
                conn.close()
                return service
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            service.stop(signal.SIGKILL)
            raise SystemExit(f"{name} did not start:\n{service.tail()}")
        time.sleep(0.1)


def start_web(name: str, config: Path, directory: Path, app_spec: str | None = None,
              env: dict[str, str] | None = None) -> Service:
    """The web app (or ``app_spec``) under gunicorn with the Procfile's settings."""
    port = free_port()
    return start_service(name, web_command(port, app_spec), port, directory,
                         env={"JNE_INTEGRATION_CONFIG": str(config), **(env or {})},
                         ready_path="/healthz" if app_spec is None else "/")


def start_sandbox(directory: Path) -> Service:
    """`jne-integration sandbox` in its own process (it outlives whatever it serves)."""
    port = free_port()
    return start_service("sandbox", [str(BIN / "jne-integration"), "sandbox", "--port", str(port)], port,
                         directory, ready_path="/_sandbox/stats")


def start_worker(config: Path, directory: Path, concurrency: int, name: str = "worker") -> Service:
    """`jne-integration worker` (the Procfile's worker) with ``--concurrency``."""
    args = [str(BIN / "jne-integration"), "worker", "--config", str(config), "--concurrency", str(concurrency)]
    log = directory / f"{name}.log"
    handle = log.open("wb")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    handle.close()
    return Service(name, proc, "", log)


def http_json(url: str, method: str = "GET", payload: Any = None, timeout: float = 30) -> Any:
    """A small JSON request over loopback (sandbox control endpoints)."""
    parts = url.split("/", 3)
    host, port = parts[2].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    body = json.dumps(payload).encode() if payload is not None else None
    conn.request(method, "/" + parts[3], body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status >= 400:
        raise RuntimeError(f"{method} {url}: {response.status} {data[:200]!r}")
    return json.loads(data)


# -- load generation --------------------------------------------------------------------------

@dataclass
class LoadResult:
    """What one load run measured."""

    tool: str
    seconds: float
    requests: int
    statuses: Counter[int]
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int = 0                     # connection errors and timeouts
    ok_ids: list[str] = field(default_factory=list)  # request ids answered 200 (Python generator only)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)


Request = tuple[str, bytes, dict[str, str], str]  # path, body, headers, id


def python_load(port: int, make_request: Callable[[int, int], Request], connections: int,
                seconds: float, max_requests: int | None = None) -> LoadResult:
    """Closed-loop load from ``connections`` threads, each with one http.client connection.

    ``make_request(thread, n)`` builds the n-th request of a thread. Connections are reused when the
    server keeps them open and reopened when it closes them (gunicorn's sync workers do).
    """
    latencies: list[list[float]] = [[] for _ in range(connections)]
    statuses: list[Counter[int]] = [Counter() for _ in range(connections)]
    ok_ids: list[list[str]] = [[] for _ in range(connections)]
    errors = [0] * connections
    issued = iter(range(max_requests)) if max_requests is not None else None
    issued_lock = threading.Lock()
    start = threading.Barrier(connections + 1)
    deadline = [0.0]

    def take() -> bool:
        if issued is None:
            return True
        with issued_lock:
            return next(issued, None) is not None

    def run(t: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        n = 0
        while time.monotonic() < deadline[0] and take():
            path, body, headers, rid = make_request(t, n)
            n += 1
            began = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors[t] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies[t].append(time.perf_counter() - began)
            statuses[t][response.status] += 1
            if response.status == 200:
                ok_ids[t].append(rid)
            if response.will_close:
                conn.close()
        conn.close()

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(connections)]
    for th in threads:
        th.start()
    deadline[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for th in threads:
        th.join(timeout=seconds + 60)
    elapsed = time.monotonic() - began
    flat = [x for lat in latencies for x in lat]
    total: Counter[int] = Counter()
    for c in statuses:
        total.update(c)
    return LoadResult("python", elapsed, len(flat), total, percentile(flat, 50) * 1000,
                      percentile(flat, 99) * 1000, max(flat, default=0) * 1000, sum(errors),
                      [i for ids in ok_ids for i in ids])


def have_wrk() -> str | None:
    """The wrk binary, when installed."""
    return shutil.which("wrk")


def stop_all(services: Sequence[Service | None]) -> None:
    """Stop services in reverse order of start, ignoring those already gone."""
    for service in reversed([s for s in services if s is not None]):
        with contextlib.suppress(Exception):
            service.stop()


# -- CPU accounting: CPU seconds per request hold up on a shared machine better than req/s ------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc; just ``pid`` elsewhere)."""
    out = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in children:
        out += process_tree(int(child))
    return out


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by ``pids`` (0 for those gone or unreadable)."""
    total = 0
    for pid in pids:
        try:
            fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields_[11]) + int(fields_[12])
    return total / _CLOCK_TICKS


def pg_backends(database_url: str, application_name: str) -> list[int]:
    """Server process ids of the connections that gave ``application_name`` (local server only)."""
    import psycopg

    admin = database_url.split("?")[0].replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                            (application_name,)).fetchall()
    return [int(r[0]) for r in rows]
