"""The write-back loop with its ledger queue, against the shop stand-ins over real HTTP, under faults.

Orders are stored as the receiver stores them and booked at the sandbox JNE by the real worker; then
the write-back loop runs (in this process, or as ``Worker.run`` in a worker process that is killed or
stopped). Whatever the faults (429 and THROTTLED bursts, 5xx, a lost reply, an expired token, a worker
SIGKILLed mid-call), each shop must end with exactly one fulfillment / one note per order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jne_helpers
import pytest
import shop_helpers
import sqlalchemy as sa
from click.testing import CliRunner
from shop_helpers import (
    STORE_IDS,
    ago,
    ingest_order,
    shop_config,
    shop_store,
    shopify_api,
    shopify_order,
    wait_until,
    woo_api,
    woo_order,
)

from integration import ledger
from integration.booking.worker import Worker
from integration.booking.writeback import WritebackLoop
from integration.cli import main as cli
from integration.ledger.tables import writebacks
from integration.shop.writeback import META_KEY

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
shopify_shop, _shopify_server = shop_helpers.shopify_shop, shop_helpers._shopify_server
woo_shop, _woo_server = shop_helpers.woo_shop, shop_helpers._woo_server

ROOT = Path(__file__).resolve().parents[1]
OFF = {"reconcile": {"every_s": 0}}


@pytest.fixture
def engine(database_url):
    eng = ledger.make_engine(database_url)
    ledger.upgrade(eng)
    yield eng
    eng.dispose()


def _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop, *, client_credentials=False, **worker):
    return shop_config(tmp_path, database_url, sandbox.url, {
        STORE_IDS["shopify"]: shop_store("shopify", shopify_api(shopify_shop, client_credentials=client_credentials),
                                         **OFF),
        STORE_IDS["woocommerce"]: shop_store("woocommerce", woo_api(woo_shop), **OFF)}, **worker)


def _booked(config, engine, shopify_orders=(), woo_orders=()) -> dict[str, str]:
    """Store and book the orders (the booking worker alone); order ref -> cnote."""
    refs = [ingest_order(engine, "shopify", o) for o in shopify_orders]
    refs += [ingest_order(engine, "woocommerce", o) for o in woo_orders]
    Worker(config, engine).run_once()
    ships = {s["order"]: s for s in ledger.list_shipments(engine)}
    assert {ships[r]["status"] for r in refs} == {"booked"}
    return {r: ships[r]["cnote"] for r in refs}


def _write_back_until_settled(config, engine, loop=None, timeout=60) -> WritebackLoop:
    """Run the write-back loop until no write-back is pending (retries wait their short backoff)."""
    loop = loop or WritebackLoop(config, engine, "wb")
    wait_until(lambda: loop.run_once() >= 0 and not _pending(engine), timeout=timeout)
    return loop


def _pending(engine) -> int:
    w = writebacks
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(w).where(w.c.status == "pending")).scalar_one()


def _outcomes(engine, store, ref) -> list[str]:
    return [a["outcome"] for a in ledger.writeback.writeback_attempts_of(engine, store, ref)]


def test_429_throttled_and_5xx_bursts_still_write_each_order_once(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop)
    s_orders = [shopify_order(9001 + i, 3001 + i, updated_at=ago(minutes=5)) for i in range(4)]
    w_orders = [woo_order(9101 + i, modified=ago(minutes=5)) for i in range(4)]
    shopify_shop.add(*s_orders)
    woo_shop.add(*w_orders)
    cnotes = _booked(config, engine, s_orders, w_orders)
    shopify_shop.faults(rate_limit=4, retry_after_s=0.05, throttled=4, fail_502=6)
    woo_shop.faults(rate_limit=4, retry_after_s=0.05, fail_502=6)

    _write_back_until_settled(config, engine)

    states = {r["order"]: r["writeback"] for r in ledger.list_shipments(engine)}
    assert set(states.values()) == {"done"}
    for order in s_orders:
        [made] = shopify_shop.fulfillments(order["id"])
        assert [t["number"] for t in made["trackingInfo"]] == [cnotes[str(order["id"])]]
    for order in w_orders:
        assert len(woo_shop.notes(order["id"])) == 1
        meta = {m["key"]: m["value"] for m in woo_shop.order(order["id"])["meta_data"]}
        assert meta[META_KEY] == cnotes[str(order["id"])]
    # The 5xx burst outlasted the in-call retries somewhere: those orders took another attempt, looking first.
    retried = [ref for ref in cnotes if len(_outcomes(engine, STORE_IDS["shopify" if int(ref) < 9100 else
                                                                         "woocommerce"], ref)) > 1]
    assert retried
    assert shopify_shop.stats()["THROTTLED"] >= 1 and woo_shop.stats()["GET order"] >= 1


def test_a_lost_write_reply_is_found_at_the_shop_not_written_again(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop)
    s_order, w_order = shopify_order(9201, 3201, updated_at=ago(minutes=5)), woo_order(9202, modified=ago(minutes=5))
    shopify_shop.add(s_order)
    woo_shop.add(w_order)
    _booked(config, engine, [s_order], [w_order])
    shopify_shop.faults(lose_reply=1, stall_s=0)
    woo_shop.faults(lose_reply=1, stall_s=0)

    _write_back_until_settled(config, engine)

    assert len(shopify_shop.fulfillments(9201)) == 1 and shopify_shop.stats()["JneFulfillmentCreate"] == 1
    assert len(woo_shop.notes(9202)) == 1 and woo_shop.stats()["POST note"] == 1
    for store, ref in ((STORE_IDS["shopify"], "9201"), (STORE_IDS["woocommerce"], "9202")):
        first, second = ledger.writeback.writeback_attempts_of(engine, store, ref)
        assert (first["outcome"], first["may_have_written"], first["http_status"]) == ("retry", False, None)
        assert (second["outcome"], second["may_have_written"], second["http_status"]) == ("done", True, 200)
    # Shopify's lost reply was the fulfillment itself: the second attempt only found it.
    assert ledger.writeback.writeback_attempts_of(engine, STORE_IDS["shopify"], "9201")[1]["wrote"] is False


def test_an_expired_token_is_renewed_once_and_each_order_written_once(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop, client_credentials=True)
    orders = [shopify_order(9301 + i, 3301 + i, updated_at=ago(minutes=5)) for i in range(3)]
    shopify_shop.add(*orders)
    loop = WritebackLoop(config, engine, "wb")
    _booked(config, engine, orders[:1])
    _write_back_until_settled(config, engine, loop)
    shopify_shop.expire_tokens()
    _booked(config, engine, orders[1:])
    _write_back_until_settled(config, engine, loop)

    assert [len(shopify_shop.fulfillments(o["id"])) for o in orders] == [1, 1, 1]
    # Each call that met the expired token got a 401 (two write-backs run at once); one new token served both.
    assert shopify_shop.tokens_issued() == 2
    assert 1 <= shopify_shop.stats()["invalid_token"] <= 2


def test_faults_past_the_retry_budget_fail_with_the_reason_then_retry_writes_once(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop, max_attempts=2)
    order = woo_order(9401, modified=ago(minutes=5))
    woo_shop.add(order)
    _booked(config, engine, [], [order])
    woo_shop.faults(fail_502=1000)

    _write_back_until_settled(config, engine)

    [row] = ledger.list_shipments(engine)
    assert (row["status"], row["writeback"]) == ("booked", "failed")
    [words] = row["writeback_errors"]["writeback"]
    assert "after 2 attempts" in words and "502" in words
    assert woo_shop.notes(9401) == []
    failed = ledger.writeback.writeback_attempts_of(engine, "toko-woo", "9401")
    assert [(a["outcome"], a["http_status"]) for a in failed] == [("retry", 502), ("retry", 502)]

    woo_shop.faults(fail_502=0)
    out = CliRunner().invoke(cli, ["writeback", "retry", "--store", "toko-woo", "9401", "--config", str(config.path)])
    assert out.exit_code == 0 and "queued the write-back" in out.output
    _write_back_until_settled(config, engine)
    assert ledger.list_shipments(engine)[0]["writeback"] == "done"
    assert len(woo_shop.notes(9401)) == 1
    again = CliRunner().invoke(cli, ["writeback", "retry", "--store", "toko-woo", "9401", "--config", str(config.path)])
    assert again.exit_code == 1 and "already shows cnote" in again.output
    assert ledger.writeback.writeback_attempts_of(engine, "toko-woo", "9401")[-1]["http_status"] == 200


def test_a_rate_limit_longer_than_the_client_waits_is_retried_at_the_shops_time_and_keeps_its_429(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop)
    order = woo_order(9402, modified=ago(minutes=5))
    woo_shop.add(order)
    _booked(config, engine, [], [order])
    woo_shop.faults(rate_limit=1, retry_after_s=600)  # past the client's in-call wait: the attempt ends

    before = datetime.now(UTC)
    WritebackLoop(config, engine, "wb").run_once()
    [first] = ledger.writeback.writeback_attempts_of(engine, "toko-woo", "9402")
    assert (first["outcome"], first["http_status"]) == ("retry", 429)
    with engine.connect() as conn:
        due = conn.execute(sa.select(writebacks.c.next_attempt_at)).scalar_one()
    assert due >= before + timedelta(seconds=600)  # the shop's own wait, not the shorter backoff

    later = WritebackLoop(config, engine, "wb", clock=lambda: datetime.now(UTC) + timedelta(seconds=700))
    _write_back_until_settled(config, engine, later)
    assert [(a["outcome"], a["http_status"]) for a in
            ledger.writeback.writeback_attempts_of(engine, "toko-woo", "9402")] == [("retry", 429), ("done", 200)]
    assert len(woo_shop.notes(9402)) == 1


# -- worker processes -------------------------------------------------------------------------------

WORKER_CODE = """
import logging, sys, threading
from integration import ledger
from integration.config import load_config
from integration.booking.worker import Worker
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
config = load_config(sys.argv[1])
worker = Worker(config, ledger.make_engine(config.database_url), worker_id=sys.argv[2])
worker.run(worker.install_signal_handlers(threading.Event()))
"""


def _start_worker(config, worker_id: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WORKER_CODE, str(config.path), worker_id],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))


@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_a_worker_killed_mid_write_back_leaves_one_write_per_order(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop, platform):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop)
    shop, store = (shopify_shop, STORE_IDS["shopify"]) if platform == "shopify" else (woo_shop, STORE_IDS["woocommerce"])
    if platform == "shopify":
        order = shopify_order(9501, 3501, updated_at=ago(minutes=5))
        write, count = "JneFulfillmentCreate", lambda: len(shopify_shop.fulfillments(9501))
        cnote = _booked(config, engine, [order])["9501"]
    else:
        order = woo_order(9501, modified=ago(minutes=5))
        write, count = "POST note", lambda: len(woo_shop.notes(9501))
    shop.add(order)
    if platform == "woocommerce":
        cnote = _booked(config, engine, [], [order])["9501"]
    shop.faults(latency_ms=1500)  # every shop answer takes its time: the write is at the shop when we kill

    proc = _start_worker(config, "doomed")
    try:
        wait_until(lambda: shop.stats().get(write, 0) == 1, timeout=60)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        proc.kill()
    wait_until(lambda: count() == 1)  # the shop carried the write out; its reply went nowhere
    shop.faults(latency_ms=0)
    assert _outcomes(engine, store, "9501") == ["sending"]

    # The lease runs out (the heir's clock is past it); the heir looks at the shop before writing.
    heir = WritebackLoop(config, engine, "heir", clock=lambda: datetime.now(UTC) + timedelta(seconds=300))
    _write_back_until_settled(config, engine, heir)
    assert count() == 1 and shop.stats()[write] == 1
    attempts = ledger.writeback.writeback_attempts_of(engine, store, "9501")
    assert [(a["outcome"], a["may_have_written"]) for a in attempts] == [("sending", False), ("done", True)]
    if platform == "shopify":
        assert attempts[1]["wrote"] is False
        assert shopify_shop.fulfillments(9501)[0]["trackingInfo"][0]["number"] == cnote
    else:
        meta = {m["key"]: m["value"] for m in woo_shop.order(9501)["meta_data"]}
        assert meta[META_KEY] == cnote


def test_sigterm_lets_the_write_back_in_flight_finish_and_records_it(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop)
    order = shopify_order(9601, 3601, updated_at=ago(minutes=5))
    shopify_shop.add(order)
    _booked(config, engine, [order])
    shopify_shop.faults(latency_ms=1000)
    proc = _start_worker(config, "graceful")
    try:
        wait_until(lambda: shopify_shop.stats().get("JneOrderFulfillment", 0) == 1, timeout=60)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"write-back loop graceful stopped" in err
    assert _outcomes(engine, STORE_IDS["shopify"], "9601") == ["done"]
    assert len(shopify_shop.fulfillments(9601)) == 1


def test_worker_once_books_then_writes_back_what_it_booked(tmp_path, database_url, engine, sandbox, shopify_shop,
                                                           woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop)
    order = woo_order(9701, modified=ago(minutes=5))
    woo_shop.add(order)
    ingest_order(engine, "woocommerce", order)
    out = CliRunner().invoke(cli, ["worker", "--once", "--config", str(config.path)])
    assert out.exit_code == 0, out.output
    assert "processed 1 shipment(s)" in out.stdout and "wrote back 1 cnote(s) to the shops" in out.stdout
    [note] = woo_shop.notes(9701)
    assert ledger.find_shipment(engine, "toko-woo", "9701")["cnote"] in note["note"]
