"""The booking worker against the sandbox JNE over real HTTP, on SQLite and on PostgreSQL.

Configurations are real integration.yaml files loaded with ``load_config``, using the real default
mappings and the fixture lookup tables; orders are the mapping fixtures, renumbered where a test
needs many. Worker processes that are killed or stopped run as real subprocesses.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jne_helpers
import pytest
import sqlalchemy as sa
import yaml
from jne_helpers import TEST_API_KEY, Sandbox
from ledger_helpers import dump_text

from integration import ledger
from integration.booking.worker import Worker
from integration.config import EMBEDDED_SANDBOX, Config, load_config
from integration.embedded import start_embedded_sandbox
from integration.jne.client import JNEClient

# The shared fixtures: the sandbox JNE and a stand-in JNE on loopback ports (see jne_helpers).
sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
fake_jne_server, fake_jne = jne_helpers.fake_jne_server, jne_helpers.fake_jne

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "orders"
ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
WRONG_KEY = "0000000000000000wrongwrongwrong00"
STORES = {"shopify": "toko-contoh", "woocommerce": "toko-woo"}
PREFIX = {"shopify": "TC", "woocommerce": "TW"}
FAST = {"concurrency": 8, "max_attempts": 8, "backoff_base_s": 0.05, "backoff_max_s": 1.0,
        "lease_s": 5, "poll_s": 0.05}


# -- configuration and orders -------------------------------------------------------------------

def store_block(platform: str, shop: str, prefix: str) -> dict[str, Any]:
    """A store with the facts the mapping fixtures were written for (TOKO CONTOH, Jakarta)."""
    return {
        "platform": platform,
        "shop": shop,
        "webhook_secret": f"secret-{platform}-0123456789",
        "mapping": str(MAPPINGS / f"{platform}.yaml"),
        "lookups": {"destinations": str(FIXTURES / "jne_destinations_test.csv"),
                    "hs_codes": str(FIXTURES / "hs_codes_test.csv")},
        "order_prefix": prefix,
        "account": {"cust_id": "10950700", "branch": "CGK000", "merchant_id": "TOKOCONTOH",
                    "origin_code": "CGK10000"},
        "pickup": {"name": "TOKO CONTOH", "pic": "RINA", "phone": "+6281234567890",
                   "address": "JL. KEMANG RAYA NO 5", "district": "MAMPANG PRAPATAN",
                   "city": "JAKARTA SELATAN"},
        "shipper": {"name": "TOKO CONTOH", "addr1": "JL. KEMANG RAYA NO 5", "addr2": "MAMPANG PRAPATAN",
                    "city": "JAKARTA SELATAN", "zip": "12730", "region": "DKI JAKARTA",
                    "contact": "RINA", "phone": "+6281234567890"},
    }


def make_config(directory: Path, database_url: str, jne_url: str, api_key: str = TEST_API_KEY,
                timeout_s: float = 15, **worker: Any) -> Config:
    """Write ``directory/integration.yaml`` for both stores against ``jne_url`` and load it."""
    doc = {
        "database_url": database_url,
        "jne": {"url": jne_url, "username": "TESTAPI", "api_key": api_key, "timeout_s": timeout_s},
        "stores": {STORES["shopify"]: store_block("shopify", "toko-contoh.myshopify.com", "TC"),
                   STORES["woocommerce"]: store_block("woocommerce", "https://toko-contoh.example", "TW")},
        "worker": {**FAST, **worker},
    }
    path = directory / "integration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return load_config(path)


def fixture(platform: str, name: str) -> dict[str, Any]:
    """One mapping fixture: {description, topic, order, expect}."""
    return json.loads((FIXTURES / platform / f"{name}.json").read_text(encoding="utf-8"))


def all_fixtures() -> list[tuple[str, str, dict[str, Any]]]:
    """(platform, name, fixture) for every fixture written for the default store."""
    out = []
    for platform in ("shopify", "woocommerce"):
        for path in sorted((FIXTURES / platform).glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if "store" not in data:  # written for another store's facts (e.g. origin Batam)
                out.append((platform, path.stem, data))
    return out


def renumber(platform: str, order: dict[str, Any], n: int) -> dict[str, Any]:
    """A copy of ``order`` as order number ``n`` (a new platform id too)."""
    order = copy.deepcopy(order)
    if platform == "shopify":
        order.update(id=6_000_000_000_000 + n, order_number=n, number=n - 1000, name=f"#{n}")
    else:
        order.update(id=n, number=str(n))
    return order


def updated_at(platform: str, order: dict[str, Any]) -> datetime | None:
    """The order's last-modified time as the webhook receiver reads it."""
    raw = order.get("updated_at") if platform == "shopify" else order.get("date_modified_gmt")
    if not raw:
        return None
    value = datetime.fromisoformat(raw)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ingest(engine: sa.Engine, platform: str, order: dict[str, Any], topic: str,
           event_id: str | None = None, when: datetime | None = None) -> str:
    """Store ``order`` as the webhook receiver would."""
    number = order.get("name") if platform == "shopify" else order.get("number")
    return ledger.ingest(engine, ledger.Delivery(
        store_id=STORES[platform], platform=platform, topic=topic,
        event_id=event_id or f"ev-{order['id']}", order_ref=str(order["id"]),
        order_number=str(number) if number is not None else None,
        order_updated_at=when or updated_at(platform, order),
        headers={"Content-Type": "application/json"}, body=json.dumps(order).encode(),
        received_at=datetime.now(UTC)))


def ingest_many(engine: sa.Engine, count: int, start: int = 20000, platform: str = "shopify",
                name: str = "prepaid_jakarta") -> list[str]:
    """``count`` bookable orders made from one fixture; their order refs."""
    base = fixture(platform, name)
    refs = []
    for i in range(count):
        order = renumber(platform, base["order"], start + i)
        ingest(engine, platform, order, base["topic"])
        refs.append(str(order["id"]))
    return refs


def drain(worker: Worker, done: Callable[[], bool], timeout: float = 30) -> None:
    """Run the worker until ``done()`` (retries wait for their backoff)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "worker did not get there in time"
        if worker.run_once() == 0:
            time.sleep(0.02)


def statuses(engine: sa.Engine) -> Counter[str]:
    """How many shipments are in each status (non-zero only)."""
    return Counter({k: v for k, v in ledger.queue_depth(engine).items() if v})


def attempt_outcomes(engine: sa.Engine, store: str, order: str) -> list[str]:
    """The outcomes in one shipment's attempts log, oldest first."""
    return [a["outcome"] for a in ledger.attempts(engine, store, order)]


@pytest.fixture
def engine(database_url):
    eng = ledger.make_engine(database_url)
    ledger.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def config(tmp_path, database_url, sandbox: Sandbox) -> Config:
    return make_config(tmp_path, database_url, sandbox.url)


# -- end to end with the fixtures ---------------------------------------------------------------

def test_every_fixture_ends_as_its_expectation_says(engine, config, sandbox, caplog):
    caplog.set_level(logging.INFO, logger="integration")
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for i, (platform, name, data) in enumerate(all_fixtures()):
        order = renumber(platform, data["order"], 3000 + i)
        assert ingest(engine, platform, order, data["topic"]) == "stored"
        expected[(STORES[platform], str(order["id"]))] = {"name": f"{platform}/{name}", **data["expect"]}

    worker = Worker(config, engine)
    assert worker.run_once() == len(expected)

    booked_at_jne = {b["order_id"]: b for b in sandbox.bookings()}
    booked_here = {}
    for (store, ref), expect in expected.items():
        ship = ledger.find_shipment(engine, store, ref)
        name = expect["name"]
        if not expect["book"]:
            assert ship["status"] == "skipped", (name, ship)
            assert expect.get("skip_reason_contains", "").lower() in ship["skip_reason"].lower(), name
            assert ship["attempts"] == 0
        elif expect["errors"]:
            assert ship["status"] == "needs_attention", (name, ship)
            for field_name in expect["errors"]:
                assert field_name in ship["errors"] and all(ship["errors"][field_name]), (name, ship)
            assert ship["attempts"] == 0
        else:
            assert ship["status"] == "booked", (name, ship)
            assert ship["attempts"] == 1 and ship["errors"] == {}
            booked_here[ship["order_id"]] = ship["cnote"]
    # The ledger and JNE agree: the same orders, the same cnotes, one request each.
    assert {k: v["cnote"] for k, v in booked_at_jne.items()} == booked_here
    assert set(sandbox.stats()["by_order_id"].values()) == {1}
    # One log line per outcome, no credentials in it.
    lines = [r.getMessage() for r in caplog.records if r.name == "integration.worker"]
    assert sum("outcome=booked" in line for line in lines) == len(booked_here)
    assert sum("outcome=" in line for line in lines) == len(expected)
    assert TEST_API_KEY not in caplog.text
    assert TEST_API_KEY not in json.dumps(ledger.list_shipments(engine))


def test_same_order_under_three_event_ids_is_booked_once(engine, config, sandbox):
    data = fixture("shopify", "prepaid_jakarta")
    order = data["order"]
    assert [ingest(engine, "shopify", order, data["topic"], event_id=e) for e in ("a", "b", "b")] == \
        ["stored", "stored", "duplicate"]
    worker = Worker(config, engine)
    assert worker.run_once() == 1
    assert ingest(engine, "shopify", order, data["topic"], event_id="c",
                  when=updated_at("shopify", order) + timedelta(minutes=5)) == "ignored"
    assert worker.run_once() == 0
    assert len(sandbox.bookings()) == 1 and sandbox.stats()["requests"] == 1
    assert ledger.find_shipment(engine, "toko-contoh", "#1043")["status"] == "booked"


def test_a_newer_snapshot_of_a_broken_order_gets_booked(engine, config, sandbox):
    broken = fixture("shopify", "missing_postal_code")
    good = fixture("shopify", "prepaid_jakarta")["order"]["shipping_address"]
    order = broken["order"]
    ingest(engine, "shopify", order, broken["topic"])
    worker = Worker(config, engine)
    worker.run_once()
    ship = ledger.find_shipment(engine, "toko-contoh", str(order["id"]))
    assert ship["status"] == "needs_attention" and "RECEIVER_ZIP" in ship["errors"]

    fixed = dict(order, shipping_address=dict(order["shipping_address"], zip=good["zip"],
                                              city=good["city"], province=good["province"]))
    ingest(engine, "shopify", fixed, broken["topic"], event_id="fixed",
           when=updated_at("shopify", order) + timedelta(minutes=1))
    assert ledger.find_shipment(engine, "toko-contoh", str(order["id"]))["status"] == "queued"
    worker.run_once()
    ship = ledger.find_shipment(engine, "toko-contoh", str(order["id"]))
    assert ship["status"] == "booked", ship
    assert [b["cnote"] for b in sandbox.bookings()] == [ship["cnote"]]


def test_unknown_store_and_unreadable_body_need_attention(engine, config, sandbox):
    for store, body, ref in (("gone", b'{"id": 1}', "1"), ("toko-contoh", b"{not json", "2"),
                             ("toko-contoh", b"[1, 2]", "3")):
        ledger.ingest(engine, ledger.Delivery(store, "shopify", "orders/paid", f"e{ref}", ref, None, None,
                                              {}, body, datetime.now(UTC)))
    Worker(config, engine).run_once()
    gone = ledger.find_shipment(engine, "gone", "1")
    assert gone["status"] == "needs_attention" and "not in the configuration" in gone["errors"]["store"][0]
    assert "not JSON" in ledger.find_shipment(engine, "toko-contoh", "2")["errors"]["order"][0]
    assert ledger.find_shipment(engine, "toko-contoh", "3")["errors"] == {
        "order": ["the stored delivery is a JSON array, not an order object"]}
    assert sandbox.stats()["requests"] == 0


# -- JNE's answers ------------------------------------------------------------------------------

def test_lost_reply_is_booked_with_jnes_cnote(tmp_path, database_url, engine, sandbox):
    # The sandbox books, then stalls past the client's timeout and drops the connection.
    config = make_config(tmp_path, database_url, sandbox.url, timeout_s=1)
    sandbox.faults(lose_reply=1, stall_s=2.5)
    (ref,) = ingest_many(engine, 1)
    drain(Worker(config, engine), lambda: ledger.find_shipment(engine, "toko-contoh", ref)["status"] == "booked")
    ship = ledger.find_shipment(engine, "toko-contoh", ref)
    (booking,) = sandbox.bookings()
    assert ship["cnote"] == booking["cnote"] and ship["order_id"] == booking["order_id"]
    assert attempt_outcomes(engine, "toko-contoh", ref) == ["transient", "duplicate"]
    assert sandbox.stats()["by_order_id"] == {booking["order_id"]: 2}


def test_duplicate_for_an_order_id_this_row_never_sent_needs_attention(engine, config, sandbox):
    (ref,) = ingest_many(engine, 1, start=4100)
    # Someone else already booked ORDER_ID TC4100 at this account (e.g. an old system).
    other = JNEClient(sandbox.url, "TESTAPI", TEST_API_KEY).book(
        {**fixture_fields(config, "shopify", 4100), "RECEIVER_NAME": "SOMEONE ELSE"})
    assert other.outcome == "booked"
    Worker(config, engine).run_once()
    ship = ledger.find_shipment(engine, "toko-contoh", ref)
    assert ship["status"] == "needs_attention"
    assert ship["errors"]["ORDER_ID"] == [
        f"ORDER_ID TC4100 is already used at JNE by another booking (cnote {other.cnote}); "
        "change order_prefix or the ORDER_ID rule and replay"]
    assert len(sandbox.bookings()) == 1


def fixture_fields(config: Config, platform: str, number: int) -> dict[str, str]:
    """The JNE fields the mapping makes of the prepaid fixture as order ``number``."""
    from integration import pipeline

    data = fixture(platform, "prepaid_jakarta")
    result = pipeline.prepare(config.stores[STORES[platform]], data["topic"],
                              renumber(platform, data["order"], number), datetime.now(UTC))
    assert result.book and not result.errors, result.errors
    return result.fields


def test_rejected_booking_keeps_jnes_reason_and_the_value_sent(tmp_path, database_url, engine, fake_jne):
    # A JNE refusal our schema cannot foresee (a stand-in JNE that refuses everything).
    fake_jne.reply(json.dumps({"detail": [{"status": "Error",
                                           "reason": "RECEIVER_ZIP is outside the service area"}]}))
    config = make_config(tmp_path, database_url, fake_jne.url)
    (ref,) = ingest_many(engine, 1)
    Worker(config, engine).run_once()
    ship = ledger.find_shipment(engine, "toko-contoh", ref)
    assert ship["status"] == "needs_attention" and ship["attempts"] == 1
    assert ship["errors"]["jne"] == [
        f"JNE refused ORDER_ID {ship['order_id']}: JNE refused the booking: RECEIVER_ZIP is outside the service area"]
    assert ship["errors"]["RECEIVER_ZIP"] == ["JNE refused the value sent: '12170'"]
    assert attempt_outcomes(engine, "toko-contoh", ref) == ["rejected"]
    assert len(fake_jne.seen) == 1


def test_refusal_that_names_no_field_shows_what_was_sent(tmp_path, sqlite_url, fake_jne):
    # JNE's firewall page: it says nothing about which value it disliked.
    fake_jne.reply("<html><body>Content not confirm our security Policy</body></html>",
                   content_type="text/html")
    engine = ledger.make_engine(sqlite_url)
    ledger.upgrade(engine)
    (ref,) = ingest_many(engine, 1, start=4300)
    Worker(make_config(tmp_path, sqlite_url, fake_jne.url), engine).run_once()
    ship = ledger.find_shipment(engine, "toko-contoh", ref)
    assert ship["status"] == "needs_attention"
    reason, sent = ship["errors"]["jne"]
    assert "firewall" in reason
    assert sent.startswith("sent: ") and "ORDER_ID=TC4300" in sent and "RECEIVER_NAME=" in sent
    assert TEST_API_KEY not in sent and "api_key" not in sent


def test_rejected_credentials_block_the_account_after_one_call(tmp_path, database_url, engine, sandbox):
    refs = ingest_many(engine, 20)
    bad = make_config(tmp_path, database_url, sandbox.url, api_key=WRONG_KEY)
    Worker(bad, engine).run_once()
    assert statuses(engine) == {"blocked": 20}
    assert sandbox.stats()["requests"] == 1 and sandbox.stats()["by_username"] == {"TESTAPI": 1}
    assert all("credentials" in ledger.find_shipment(engine, "toko-contoh", r)["errors"]["jne"][0]
               or "blocked" in ledger.find_shipment(engine, "toko-contoh", r)["errors"]["jne"][0]
               for r in refs)
    assert list(ledger.blocked_accounts(engine)) == [bad.jne.key]
    # Another worker (another process, say) does not try either while the block stands.
    ingest_many(engine, 1, start=29000)
    Worker(bad, engine).run_once()
    assert sandbox.stats()["requests"] == 1 and statuses(engine) == {"blocked": 21}
    assert WRONG_KEY not in dump_text(engine)

    fixed = make_config(tmp_path, database_url, sandbox.url)
    assert ledger.replay(engine, "toko-contoh", refs[0])["requeued"] == 21
    Worker(fixed, engine).run_once()
    assert statuses(engine) == {"booked": 21}
    assert len(sandbox.bookings()) == 21


def test_transient_errors_are_retried_with_growing_backoff(tmp_path, database_url, engine, sandbox):
    config = make_config(tmp_path, database_url, sandbox.url, backoff_base_s=0.2, backoff_max_s=5)
    sandbox.faults(fail_502=3)
    (ref,) = ingest_many(engine, 1)
    drain(Worker(config, engine), lambda: ledger.find_shipment(engine, "toko-contoh", ref)["status"] == "booked")
    log = ledger.attempts(engine, "toko-contoh", ref)
    assert [a["outcome"] for a in log] == ["transient"] * 3 + ["booked"]
    assert [a["http_status"] for a in log] == [502, 502, 502, 200]
    starts = [datetime.fromisoformat(a["started_at"]) for a in log]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    # Equal jitter: the n-th wait is between half and all of base * 2**(n-1).
    for n, gap in enumerate(gaps, start=1):
        assert gap >= 0.2 * 2 ** (n - 1) / 2, gaps
    assert len(sandbox.bookings()) == 1


def test_transient_errors_past_the_budget_fail(tmp_path, database_url, engine, sandbox):
    config = make_config(tmp_path, database_url, sandbox.url, max_attempts=3, backoff_base_s=0.01)
    sandbox.faults(fail_502=100)
    (ref,) = ingest_many(engine, 1)
    drain(Worker(config, engine), lambda: ledger.find_shipment(engine, "toko-contoh", ref)["status"] == "failed")
    ship = ledger.find_shipment(engine, "toko-contoh", ref)
    assert ship["attempts"] == 3 and sandbox.stats()["requests"] == 3
    assert "after 3 attempts" in ship["errors"]["jne"][0] and "502" in ship["errors"]["jne"][0]
    # JNE is back; one replay with a fresh budget books it.
    sandbox.faults(fail_502=0)
    ledger.replay(engine, "toko-contoh", ref)
    Worker(config, engine).run_once()
    assert ledger.find_shipment(engine, "toko-contoh", ref)["status"] == "booked"


def test_embedded_sandbox(tmp_path, sqlite_url):
    config = make_config(tmp_path, sqlite_url, EMBEDDED_SANDBOX)
    config, server = start_embedded_sandbox(config)
    assert server is not None
    try:
        assert config.jne.url == f"{server.url}/pickupcashless"
        assert all(s.jne.url == config.jne.url for s in config.stores.values())
        engine = ledger.make_engine(sqlite_url)
        ledger.ensure_schema(engine)
        (ref,) = ingest_many(engine, 1)
        Worker(config, engine).run_once()
        assert ledger.find_shipment(engine, "toko-contoh", ref)["status"] == "booked"
    finally:
        server.stop()
    plain = make_config(tmp_path, sqlite_url, "http://127.0.0.1:9/pickupcashless")
    assert start_embedded_sandbox(plain) == (plain, None)


# -- processes: killed, stopped, many -----------------------------------------------------------

WORKER_CODE = """
import logging, sys, threading
from integration import ledger
from integration.config import load_config
from integration.booking.worker import Worker
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
config = load_config(sys.argv[1])
engine = ledger.make_engine(config.database_url)
worker = Worker(config, engine, worker_id=sys.argv[2])
if sys.argv[3] == "once":
    print(worker.run_once(), flush=True)
else:
    worker.run(worker.install_signal_handlers(threading.Event()))
"""


def start_worker(config: Config, worker_id: str, mode: str = "run") -> subprocess.Popen[bytes]:
    """A worker in its own process, as `jne-integration worker` runs it."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-c", WORKER_CODE, str(config.path), worker_id, mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)


def wait_for(check: Callable[[], Any], timeout: float = 20) -> Any:
    """Poll until ``check()`` is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def sending(engine: sa.Engine) -> int:
    """Attempts that are in the middle of their JNE call."""
    a = ledger.attempts_log
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(a.c.outcome == "sending")).scalar_one()


def test_worker_killed_mid_booking_then_a_new_worker_books_once(engine, config, sandbox):
    (ref,) = ingest_many(engine, 1)
    sandbox.faults(latency_ms=2000)  # JNE takes its time; it books after the worker is gone
    proc = start_worker(config, "doomed")
    try:
        wait_for(lambda: sending(engine) == 1)
        time.sleep(0.3)  # the request is at JNE now
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        proc.kill()
    booking = wait_for(lambda: sandbox.bookings(), timeout=10)[0]
    sandbox.faults(latency_ms=0)
    assert ledger.find_shipment(engine, "toko-contoh", ref)["status"] == "queued"

    # The lease runs out (the new worker's clock is past it) and the order is claimed again.
    later = Worker(config, engine, worker_id="heir",
                   clock=lambda: datetime.now(UTC) + timedelta(seconds=config.worker.lease_s + 20))
    drain(later, lambda: ledger.find_shipment(engine, "toko-contoh", ref)["status"] == "booked")
    ship = ledger.find_shipment(engine, "toko-contoh", ref)
    assert ship["cnote"] == booking["cnote"]
    assert len(sandbox.bookings()) == 1
    assert attempt_outcomes(engine, "toko-contoh", ref) == ["sending", "duplicate"]


def test_sigterm_lets_the_call_in_flight_finish_and_records_it(tmp_path, database_url, engine, sandbox):
    config = make_config(tmp_path, database_url, sandbox.url, concurrency=1)
    refs = ingest_many(engine, 3)
    sandbox.faults(latency_ms=1500)
    proc = start_worker(config, "graceful")
    try:
        wait_for(lambda: sending(engine) == 1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()
    assert statuses(engine) == {"booked": 1, "queued": 2}
    (booking,) = sandbox.bookings()
    (done,) = ledger.list_shipments(engine, status="booked")
    assert done["cnote"] == booking["cnote"] and done["order"] in refs
    assert attempt_outcomes(engine, "toko-contoh", done["order"]) == ["booked"]
    assert sending(engine) == 0
    assert b"SIGTERM" in err


def test_four_worker_processes_on_postgresql_book_500_orders_once_each(tmp_path, pg_url, sandbox):
    engine = ledger.make_engine(pg_url)
    ledger.upgrade(engine)
    config = make_config(tmp_path, pg_url, sandbox.url)
    ingest_many(engine, 500)
    sandbox.faults(latency_ms=20)
    started = time.monotonic()
    procs = [start_worker(config, f"w{i}", mode="once") for i in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    elapsed = time.monotonic() - started
    assert [p.returncode for p in procs] == [0] * 4, [o[1].decode()[-2000:] for o in outputs]
    processed = [int(o[0].decode().strip().splitlines()[-1]) for o in outputs]
    assert sum(processed) == 500
    assert statuses(engine) == {"booked": 500}
    stats = sandbox.stats()
    assert stats["requests"] == 500 and set(stats["by_order_id"].values()) == {1}
    assert len(sandbox.bookings()) == 500
    with engine.connect() as conn:
        workers = Counter(conn.execute(sa.select(ledger.attempts_log.c.worker_id)).scalars())
    assert sum(workers.values()) == 500
    print(f"500 orders, 4 processes: {elapsed:.1f} s; per worker {sorted(workers.values())}")
    engine.dispose()


def test_workers_killed_at_random_points_still_book_each_order_once(tmp_path, database_url, engine, sandbox):
    # 40 orders at 2 concurrent calls of 100 ms: each worker would need 2 s, far longer than it lives.
    config = make_config(tmp_path, database_url, sandbox.url, concurrency=2)
    refs = ingest_many(engine, 40)
    sandbox.faults(latency_ms=100)
    rng = random.Random(20241111)
    for round_ in range(3):
        before = len(sandbox.bookings()) + sending(engine)
        proc = start_worker(config, f"victim{round_}")
        try:
            # Kill it somewhere in the middle of its batch: after it got going, at a random moment.
            wait_for(lambda b=before: len(sandbox.bookings()) + sending(engine) > b)
            time.sleep(rng.uniform(0, 0.4))
            proc.kill()
            proc.wait(timeout=10)
        finally:
            proc.kill()
    sandbox.faults(latency_ms=0)
    heir = Worker(config, engine, worker_id="heir",
                  clock=lambda: datetime.now(UTC) + timedelta(seconds=config.worker.lease_s + 20))
    drain(heir, lambda: statuses(engine) == {"booked": 40})
    jne = {b["order_id"]: b["cnote"] for b in sandbox.bookings()}
    ours = {s["order_id"]: s["cnote"] for s in ledger.list_shipments(engine)}
    assert ours == jne and len(jne) == 40
    # A second request for an ORDER_ID happens only after a call whose outcome was never recorded.
    logs = [attempt_outcomes(engine, "toko-contoh", ref) for ref in refs]
    for outcomes in logs:
        assert outcomes[-1] in ("booked", "duplicate") and outcomes.count("booked") <= 1, outcomes
        assert all(o == "sending" for o in outcomes[:-1]), outcomes
    # A kill may land between two calls (nothing in flight) on a loaded machine; at least one must
    # have hit a call in flight, or this test proved nothing about lost replies.
    assert sum(o[0] == "sending" for o in logs) >= 1


def test_worker_rides_out_a_database_outage(tmp_path, pg_url, sandbox):
    from app_helpers import TcpProxy

    direct = ledger.make_engine(pg_url)
    ledger.upgrade(direct)
    proxy = TcpProxy("127.0.0.1", 5432).start()
    proxied = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}") + "&connect_timeout=2"
    config = make_config(tmp_path, proxied, sandbox.url)
    engine = ledger.make_engine(proxied)
    worker = Worker(config, engine)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        ingest_many(direct, 5, start=100)
        wait_for(lambda: statuses(direct) == {"booked": 5})
        proxy.stop()  # every connection of the worker is cut; new ones are refused
        ingest_many(direct, 5, start=200)
        time.sleep(1.5)
        assert thread.is_alive()
        proxy.start()
        wait_for(lambda: statuses(direct) == {"booked": 10}, timeout=40)
    finally:
        stop.set()
        thread.join(timeout=30)
        proxy.stop()
        engine.dispose()
        direct.dispose()
    assert not thread.is_alive()
    assert len(sandbox.bookings()) == 10 and set(sandbox.stats()["by_order_id"].values()) == {1}
