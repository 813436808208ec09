"""Reliability under faults, end to end: JNE away, workers killed, graceful stops, hostile stored orders.

Complements tests/test_worker.py (one lost reply, one SIGKILL mid-call, SIGTERM with one call in
flight, a database outage), tests/test_webhooks.py (database away during ingest: 503, then
recovery) and tests/test_hostile_input.py (hostile HTTP at both endpoints): here the parts run as
they are deployed. Deliveries arrive over HTTP, workers are the real `jne-integration worker`
command in their own processes, the sandbox JNE is served by this test process so that it outlives
every worker, and the ledger is checked against the sandbox's own record of what it booked.
Everything is on loopback; every wait is bounded; nothing asserts on how long something took.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import app_helpers
import jne_helpers
import pytest
import requests
import sqlalchemy as sa
import yaml
from app_helpers import TcpProxy, store_block, write_config
from fixtures.sign import shopify_headers, woocommerce_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jne_helpers import TEST_API_KEY, Sandbox

from integration import ledger
from integration.booking.worker import Worker
from integration.config import load_config

served_app = app_helpers.served_app  # the fixtures, bound by name
sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox

ORDERS = Path(__file__).resolve().parent / "fixtures" / "orders"
SHOP = "toko-contoh.myshopify.com"
SOURCE = "https://toko-contoh.example/"
SECRETS = {"shopify": "reliability-shopify-secret", "woocommerce": "reliability-woo-secret"}
STORES = {"shopify": "toko-contoh", "woocommerce": "toko-woo"}
FIXTURE = {"shopify": "prepaid_jakarta", "woocommerce": "prepaid_jakarta"}
CLI = [sys.executable, "-m", "integration.cli"]


# -- configuration, orders, deliveries ----------------------------------------------------------

def config_file(directory: Path, database_url: str, jne_url: str, timeout_s: float = 5, **worker: Any) -> Path:
    """integration.yaml: a Shopify and a WooCommerce store with the fixtures' facts and tables."""
    facts = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))["toko-contoh"]
    lookups = {name: str(ORDERS / table) for name, table in facts["lookups"].items()}
    common = {k: v for k, v in facts.items() if k not in ("shop", "source", "lookups", "order_prefix")}
    stores = {
        STORES["shopify"]: store_block("shopify", SHOP, SECRETS["shopify"], lookups=lookups,
                                       order_prefix="TC", **common),
        STORES["woocommerce"]: store_block("woocommerce", SOURCE, SECRETS["woocommerce"], lookups=lookups,
                                           order_prefix="TW", **common),
    }
    settings_ = {"concurrency": 4, "max_attempts": 8, "backoff_base_s": 0.1, "backoff_max_s": 1.0,
                 "lease_s": 5, "poll_s": 0.05, **worker}
    return write_config(directory, database_url, stores, worker=settings_,
                        jne={"url": jne_url, "username": "TESTAPI", "api_key": TEST_API_KEY, "timeout_s": timeout_s})


def order(platform: str, n: int) -> tuple[dict[str, Any], str]:
    """A bookable order (the prepaid Jakarta fixture) renumbered as ``n``, and its topic."""
    fx = json.loads((ORDERS / platform / f"{FIXTURE[platform]}.json").read_text(encoding="utf-8"))
    doc = copy.deepcopy(fx["order"])
    if platform == "shopify":
        doc.update(id=6_100_000_000_000 + n, order_number=n, number=n - 1000, name=f"#{n}")
    else:
        doc.update(id=n, number=str(n))
    return doc, fx["topic"]


def deliver(url: str, platform: str, doc: dict[str, Any], topic: str) -> requests.Response:
    """POST one signed delivery of ``doc`` to the served app, as the platform would."""
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    if platform == "shopify":
        headers = shopify_headers(body, SECRETS["shopify"], SHOP, topic)
    else:
        headers = woocommerce_headers(body, SECRETS["woocommerce"], SOURCE, topic)
    return requests.post(f"{url}/webhooks/{platform}", data=body, headers=headers, timeout=10)


def deliver_many(url: str, numbers: range) -> list[tuple[str, str]]:
    """Deliver bookable orders, alternating platforms; their (store, order ref)."""
    refs = []
    for n in numbers:
        platform = "shopify" if n % 2 else "woocommerce"
        doc, topic = order(platform, n)
        response = deliver(url, platform, doc, topic)
        assert response.status_code == 200, response.text
        refs.append((STORES[platform], str(doc["id"])))
    return refs


# -- processes and waiting ----------------------------------------------------------------------

def start_cli_worker(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`jne-integration worker --config PATH` in its own process, as the Procfile runs it."""
    return subprocess.Popen([*CLI, "worker", "--config", str(config), *extra], cwd=app_helpers.ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Poll ``check()`` until it is truthy (bounded); its value."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextlib.contextmanager
def worker_thread(config: Path, engine: sa.Engine) -> Iterator[Worker]:
    """The booking worker running in this process until the block ends."""
    worker = Worker(load_config(config), engine)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the worker did not stop"


def statuses(engine: sa.Engine) -> Counter[str]:
    """Shipments per status (non-zero only)."""
    return Counter({k: v for k, v in ledger.queue_depth(engine).items() if v})


def attempt_log(engine: sa.Engine) -> dict[str, list[str]]:
    """ORDER_ID -> outcomes of its attempts, oldest first."""
    a = ledger.attempts_log
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for order_id, outcome in conn.execute(sa.select(a.c.jne_order_id, a.c.outcome).order_by(a.c.id)):
            out.setdefault(order_id, []).append(outcome)
    return out


def in_flight(engine: sa.Engine) -> int:
    """Attempts committed as sending whose JNE call has not been recorded yet."""
    a = ledger.attempts_log
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(a.c.outcome == "sending")).scalar_one()


def assert_ledger_agrees_with_jne(engine: sa.Engine, sandbox: Sandbox, count: int) -> None:
    """Every order booked, each ORDER_ID booked at JNE once, with the cnote the ledger holds."""
    assert statuses(engine) == {"booked": count}
    jne = {b["order_id"]: b["cnote"] for b in sandbox.bookings()}
    ours = {s["order_id"]: s["cnote"] for s in ledger.list_shipments(engine)}
    assert ours == jne and len(jne) == count


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    eng = ledger.make_engine(database_url)
    ledger.upgrade(eng)
    yield eng
    eng.dispose()


# -- JNE away -----------------------------------------------------------------------------------

def test_jne_refusing_connections_for_a_while_then_back_books_every_order_once(
        tmp_path, database_url, engine, sandbox, served_app):
    # JNE sits behind a proxy that is not listening yet: every call is "connection refused".
    proxy = TcpProxy("127.0.0.1", sandbox.server.port)
    budget = 12  # with 0.2 s doubling to 1 s, the 12th call comes >= 4.7 s after the first
    config = config_file(tmp_path, database_url, f"http://127.0.0.1:{proxy.port}/pickupcashless",
                         max_attempts=budget, backoff_base_s=0.2, backoff_max_s=1.0)
    url = served_app(config)
    refs = deliver_many(url, range(7000, 7020))
    try:
        with worker_thread(config, engine):
            def retried_a_few_times() -> bool:
                log = attempt_log(engine)
                assert statuses(engine).keys() <= {"queued"}  # nothing failed or got booked meanwhile
                return len(log) == len(refs) and all(o.count("transient") >= 4 for o in log.values())

            wait_for(retried_a_few_times, timeout=60, what="four refused calls per order")
            proxy.start()  # JNE is back
            wait_for(lambda: statuses(engine) == {"booked": len(refs)}, timeout=60, what="all booked")
    finally:
        proxy.stop()
    assert_ledger_agrees_with_jne(engine, sandbox, len(refs))
    # Refused connections never reached JNE: one request per ORDER_ID, the one that booked.
    assert set(sandbox.stats()["by_order_id"].values()) == {1}
    for order_id, outcomes in attempt_log(engine).items():
        assert outcomes[-1] == "booked" and set(outcomes[:-1]) == {"transient"}, (order_id, outcomes)
        assert len(outcomes) < budget, (order_id, outcomes)


# -- workers killed -----------------------------------------------------------------------------

def test_worker_processes_killed_at_random_points_while_orders_arrive(
        tmp_path, database_url, engine, sandbox, served_app):
    config = config_file(tmp_path, database_url, sandbox.url, concurrency=4, lease_s=5)
    url = served_app(config)
    sandbox.faults(latency_ms=60)  # calls take a while, so kills land in the middle of batches
    rng = random.Random(20251111)
    numbers = iter(range(8000, 8060))
    refs = deliver_many(url, [next(numbers) for _ in range(20)])
    for round_ in range(5):
        proc = start_cli_worker(config)
        try:
            before = len(sandbox.bookings()) + in_flight(engine)
            # Round 0 is killed wherever it is after a random moment (maybe still starting up);
            # the others once they have begun calling JNE, a random moment later.
            if round_:
                wait_for(lambda b=before: len(sandbox.bookings()) + in_flight(engine) > b, timeout=30,
                         what="the worker to start booking")
            time.sleep(rng.uniform(0.05, 0.6))
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            proc.kill()
            proc.communicate(timeout=10)
        refs += deliver_many(url, [next(numbers) for _ in range(8)])  # the shop keeps selling
    sandbox.faults(latency_ms=0)

    # The heir waits out the dead workers' leases, books the rest, and stops cleanly.
    heir = start_cli_worker(config)
    try:
        wait_for(lambda: statuses(engine) == {"booked": len(refs)}, timeout=90, what="all booked")
        heir.send_signal(signal.SIGTERM)
        _, err = heir.communicate(timeout=30)
    finally:
        heir.kill()
    assert heir.returncode == 0, err.decode()[-3000:]
    assert_ledger_agrees_with_jne(engine, sandbox, len(refs))
    # JNE saw an ORDER_ID again only after a call whose outcome died with its worker, and the
    # retry was recognised as this order's own booking (duplicate), never as a collision.
    requests_by_id = sandbox.stats()["by_order_id"]
    for order_id, outcomes in attempt_log(engine).items():
        assert outcomes[-1] in ("booked", "duplicate"), (order_id, outcomes)
        assert all(o == "sending" for o in outcomes[:-1]), (order_id, outcomes)
        assert requests_by_id[order_id] <= len(outcomes), (order_id, outcomes)


# -- graceful stop ------------------------------------------------------------------------------

def test_sigterm_lets_every_call_in_flight_finish_then_a_new_worker_takes_the_rest_at_once(
        tmp_path, database_url, engine, sandbox, served_app):
    # Leases far longer than the test: rows handed back must be claimable at once, not on expiry.
    config = config_file(tmp_path, database_url, sandbox.url, concurrency=4, lease_s=600)
    url = served_app(config)
    refs = deliver_many(url, range(9000, 9012))
    sandbox.faults(latency_ms=1500)
    proc = start_cli_worker(config)
    try:
        # The account's first call goes alone (credentials unproven); then four at once.
        wait_for(lambda: in_flight(engine) == 4, what="four calls in flight")
        proc.send_signal(signal.SIGTERM)
        a = ledger.attempts_log
        with engine.connect() as conn:
            sending = set(conn.execute(sa.select(a.c.jne_order_id).where(a.c.outcome == "sending")).scalars())
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()[-3000:]
    # The calls JNE was answering were waited for and recorded; nothing was sent after the signal.
    done = {s["order_id"]: s for s in ledger.list_shipments(engine, status="booked")}
    assert len(sending) >= 4 and sending <= done.keys()
    assert in_flight(engine) == 0 and sandbox.stats()["requests"] == len(done)
    left = statuses(engine)["queued"]
    assert left > 0 and left + len(done) == len(refs)
    with engine.connect() as conn:
        s = ledger.shipments
        held = conn.execute(sa.select(sa.func.count()).where(s.c.status == "queued",
                                                             s.c.lease_owner.is_not(None))).scalar_one()
    assert held == 0  # claimed-ahead rows were handed back, not left to a 10-minute lease

    sandbox.faults(latency_ms=0)
    once = start_cli_worker(config, "--once")
    out, err = once.communicate(timeout=60)
    assert once.returncode == 0, err.decode()[-3000:]
    assert_ledger_agrees_with_jne(engine, sandbox, len(refs))
    assert set(sandbox.stats()["by_order_id"].values()) == {1}


# -- JNE misbehaving during a sale ------------------------------------------------------------

def test_502s_and_lost_replies_during_a_sale_still_book_each_order_once(
        tmp_path, database_url, engine, sandbox, served_app):
    # Replies lost after JNE booked (the client times out at 1 s, JNE answers after 1.5 s) and
    # gateway errors, while orders keep arriving and some are delivered twice.
    config = config_file(tmp_path, database_url, sandbox.url, timeout_s=1, concurrency=8, backoff_base_s=0.1,
                         backoff_max_s=0.5)
    url = served_app(config)
    sandbox.faults(fail_502=6, lose_reply=4, stall_s=1.5)
    refs: list[tuple[str, str]] = []
    with worker_thread(config, engine):
        for start in range(10000, 10040, 10):
            refs += deliver_many(url, range(start, start + 10))
            deliver_many(url, range(start, start + 3))  # repeats: the platform retried
        wait_for(lambda: statuses(engine) == {"booked": len(refs)}, timeout=90, what="all booked")
    assert_ledger_agrees_with_jne(engine, sandbox, len(refs))
    log = attempt_log(engine)
    for order_id, outcomes in log.items():
        # Transient failures, then one answer: booked, or "already exist" after a call that may
        # have booked (the lost-reply rule), never a second booking.
        assert outcomes[-1] in ("booked", "duplicate") and set(outcomes[:-1]) <= {"transient"}, outcomes
        assert outcomes[-1] == "booked" or len(outcomes) > 1, (order_id, outcomes)
    # Every injected fault was met (a slow machine may add timeouts of its own, never fewer).
    assert sum(o[-1] == "duplicate" for o in log.values()) >= 4
    assert sum(o.count("transient") for o in log.values()) >= 6 + 4


# -- whatever the receiver stored, the worker ends it -------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10)
# Where a mapping reads an order: hostile values here reach transforms, lookups and rules.
PATHS = {
    "shopify": ["shipping_address", "shipping_address.zip", "shipping_address.phone", "shipping_address.name",
                "shipping_address.address1", "shipping_address.city", "shipping_address.province",
                "line_items", "line_items.0", "line_items.0.sku", "line_items.0.quantity", "line_items.0.grams",
                "line_items.0.price", "line_items.0.properties", "total_weight", "total_price",
                "payment_gateway_names", "shipping_lines", "shipping_lines.0.title", "customer", "phone",
                "order_number", "name", "cancelled_at", "test", "financial_status", "currency"],
    "woocommerce": ["shipping", "shipping.postcode", "shipping.phone", "shipping.first_name",
                    "shipping.address_1", "shipping.city", "shipping.state", "billing", "billing.phone",
                    "line_items", "line_items.0", "line_items.0.sku", "line_items.0.quantity",
                    "line_items.0.total", "line_items.0.meta_data", "shipping_lines",
                    "shipping_lines.0.method_title", "payment_method", "status", "total", "number",
                    "date_paid_gmt", "meta_data", "currency"],
}


@st.composite
def hostile_order(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    """A real order with hostile JSON at a few places a mapping reads (or those keys removed)."""
    platform = draw(st.sampled_from(["shopify", "woocommerce"]))
    doc, topic = order(platform, draw(st.integers(min_value=1, max_value=10**9)))
    for path in draw(st.lists(st.sampled_from(PATHS[platform]), min_size=1, max_size=4, unique=True)):
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) and key.isdigit() and int(key) < len(node) else (
                node.get(key) if isinstance(node, dict) else None)
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = draw(JSON_VALUES)
        elif isinstance(node, dict):
            if draw(st.booleans()):
                node[last] = draw(JSON_VALUES)
            else:
                node.pop(last, None)
    return platform, doc, topic


@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(orders=st.lists(hostile_order(), min_size=12, max_size=12))
def test_the_worker_settles_every_order_the_receiver_stored(tmp_path_factory, sandbox, served_app, orders):
    directory = tmp_path_factory.mktemp("hostile")
    database_url = f"sqlite:///{directory / 'ledger.db'}"
    config = config_file(directory, database_url, sandbox.url)
    url = served_app(config)
    stored = 0
    for platform, doc, topic in orders:
        response = deliver(url, platform, doc, topic)
        assert response.status_code in (200, 400), response.text  # 400: e.g. an id made unusable
        stored += response.status_code == 200
    engine = ledger.make_engine(database_url)
    try:
        Worker(load_config(config), engine).run_once()
        shipments = ledger.list_shipments(engine)
        # Every stored order reached an outcome a person can act on; none is stuck on a worker error.
        for ship in shipments:
            assert ship["status"] in ("booked", "needs_attention", "skipped"), ship
            assert "worker" not in ship["errors"], ship
            if ship["status"] == "needs_attention":
                assert ship["errors"] and all(m for msgs in ship["errors"].values() for m in msgs), ship
            if ship["status"] == "skipped":
                assert ship["skip_reason"], ship
        booked = {s["order_id"]: s["cnote"] for s in shipments if s["status"] == "booked"}
        assert booked.items() <= {b["order_id"]: b["cnote"] for b in sandbox.bookings()}.items()
    finally:
        engine.dispose()
