"""Reconcile in the product: orders the webhooks missed are taken in as deliveries and booked once.

Against the shop stand-ins over real HTTP, on SQLite and PostgreSQL: the ``reconcile`` command and the
worker's reconcile loop store missed orders through ``ledger.ingest`` (the receiver's own rules), the
worker books them at the sandbox JNE once; a second pass books nothing; passes page through hundreds
of orders and keep their cursor across restarts (a new engine, a new process's configuration).
"""

from __future__ import annotations

import json

import jne_helpers
import pytest
import shop_helpers
from click.testing import CliRunner
from shop_helpers import (
    STORE_IDS,
    ago,
    ingest_order,
    running_worker,
    shop_config,
    shop_store,
    shopify_api,
    shopify_order,
    wait_until,
    woo_api,
    woo_order,
)

from integration import ledger
from integration.booking.reconcile import SOURCE_HEADER, reconcile_store
from integration.booking.worker import Worker
from integration.cli import main as cli
from integration.config import load_config

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
shopify_shop, _shopify_server = shop_helpers.shopify_shop, shop_helpers._shopify_server
woo_shop, _woo_server = shop_helpers.woo_shop, shop_helpers._woo_server


@pytest.fixture
def engine(database_url):
    eng = ledger.make_engine(database_url)
    ledger.upgrade(eng)
    yield eng
    eng.dispose()


def _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop, every_s=0, lookback_h=72):
    rc = {"reconcile": {"every_s": every_s, "lookback_h": lookback_h}, "writeback": {"enabled": False}}
    return shop_config(tmp_path, database_url, sandbox.url, {
        STORE_IDS["shopify"]: shop_store("shopify", shopify_api(shopify_shop), **rc),
        STORE_IDS["woocommerce"]: shop_store("woocommerce", woo_api(woo_shop), **rc)})


def _reconcile(config) -> dict[str, dict]:
    out = CliRunner().invoke(cli, ["reconcile", "--json", "--config", str(config.path)])
    assert out.exit_code == 0, out.output
    return {row["store"]: row for row in map(json.loads, out.stdout.strip().splitlines())}


def test_orders_never_delivered_are_booked_once_and_a_second_pass_books_nothing(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop)
    delivered = shopify_order(1101, 4101, updated_at=ago(hours=2))
    missed = [shopify_order(1102 + i, 4102 + i, updated_at=ago(hours=2)) for i in range(2)]
    cancelled = shopify_order(1110, 4110, updated_at=ago(hours=2))
    too_old = shopify_order(1111, 4111, updated_at=ago(hours=100))  # before the first pass's lookback
    shopify_shop.add(delivered, *missed, cancelled, too_old)
    shopify_shop.cancel(1110)
    woo_missed = [woo_order(2101 + i, modified=ago(hours=1)) for i in range(2)]
    woo_shop.add(*woo_missed)
    ingest_order(engine, "shopify", delivered)  # its webhook did arrive
    Worker(config, engine).run_once()

    first = _reconcile(config)
    assert (first["toko-shopify"]["seen"], first["toko-shopify"]["taken_in"]) == (4, 3)  # not the one it has
    assert first["toko-woo"]["taken_in"] == 2
    Worker(config, engine).run_once()

    ships = {s["order"]: s for s in ledger.list_shipments(engine)}
    for order in [*missed, *woo_missed]:
        assert ships[str(order["id"])]["status"] == "booked"
    assert ships["1110"]["status"] == "skipped"  # the trigger's rules, as for a delivery
    assert "1111" not in ships
    booked_ids = [b["order_id"] for b in sandbox.bookings()]
    assert sorted(booked_ids) == sorted(["TC4101", "TC4102", "TC4103", "TC2101", "TC2102"])
    with engine.connect() as conn:  # stored as a delivery, marked as reconciled
        headers = [h for (h,) in conn.execute(ledger.deliveries.select().with_only_columns(ledger.deliveries.c.headers))]
    assert sum(h.get(SOURCE_HEADER) == "reconcile" for h in headers) == 5

    second = _reconcile(config)
    assert second["toko-shopify"]["taken_in"] == 0 and second["toko-woo"]["taken_in"] == 0
    Worker(config, engine).run_once()
    assert len(sandbox.bookings()) == 5

    # An explicit --since looks further back; what the ledger holds is still not taken in twice.
    out = CliRunner().invoke(cli, ["reconcile", "--store", "toko-shopify", "--since", ago(hours=200).isoformat(),
                                   "--config", str(config.path)])
    assert out.exit_code == 0 and "1 taken in" in out.output  # only the old order
    Worker(config, engine).run_once()
    assert len(sandbox.bookings()) == 6


def test_passes_page_through_many_orders_and_keep_their_cursor_across_restarts(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop)
    shopify_shop.add(*[shopify_order(30000 + i, 30000 + i, updated_at=ago(hours=3), cancelled_at=ago(hours=3)
                                     .isoformat()) for i in range(260)])  # 2 pages of 250
    woo_shop.add(*[woo_order(40000 + i, modified=ago(hours=3)) for i in range(230)])  # 3 pages of 100
    store_s, store_w = config.stores["toko-shopify"], config.stores["toko-woo"]

    first_s = reconcile_store(config, engine, store_s)
    first_w = reconcile_store(config, engine, store_w)
    assert (first_s.pages, first_s.seen, first_s.ingested) == (2, 260, 260)
    assert (first_w.pages, first_w.seen, first_w.ingested) == (3, 230, 230)
    assert ledger.writeback.cursor(engine, "toko-shopify", ledger.writeback.RECONCILE) == first_s.next_cursor

    # A restart: a new engine and the configuration read again, as a new worker process would.
    shopify_shop.add(shopify_order(39999, 39999, updated_at=ago(seconds=1)))
    woo_shop.add(woo_order(49999, modified=ago(seconds=1)))
    engine2 = ledger.make_engine(database_url)
    try:
        config2 = load_config(config.path)
        again_s = reconcile_store(config2, engine2, config2.stores["toko-shopify"])
        again_w = reconcile_store(config2, engine2, config2.stores["toko-woo"])
    finally:
        engine2.dispose()
    assert again_s.since == first_s.next_cursor and again_w.since == first_w.next_cursor
    assert (again_s.seen, again_s.ingested) == (1, 1)  # only what changed since the cursor
    assert (again_w.seen, again_w.ingested) == (1, 1)
    assert len(ledger.list_shipments(engine)) == 260 + 230 + 2


def test_the_worker_runs_a_pass_every_every_s_and_books_what_it_took_in(
        tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop, every_s=1)
    shopify_shop.add(shopify_order(5101, 5101, updated_at=ago(minutes=10)))
    with running_worker(config, engine):
        wait_until(lambda: (ledger.find_shipment(engine, "toko-shopify", "5101") or {}).get("status") == "booked")
        woo_shop.add(woo_order(5201, modified=ago(seconds=1)))  # changed after the first pass: the next one
        wait_until(lambda: (ledger.find_shipment(engine, "toko-woo", "5201") or {}).get("status") == "booked")
    assert sorted(b["order_id"] for b in sandbox.bookings()) == ["TC5101", "TC5201"]
    assert ledger.writeback.cursor(engine, "toko-woo", ledger.writeback.RECONCILE) is not None


def test_a_failed_pass_keeps_the_cursor_and_says_why(tmp_path, database_url, engine, sandbox, shopify_shop, woo_shop):
    config = _config(tmp_path, database_url, sandbox, shopify_shop, woo_shop)
    _reconcile(config)
    kept = ledger.writeback.cursor(engine, "toko-woo", ledger.writeback.RECONCILE)
    woo_shop.faults(fail_502=100)
    out = CliRunner().invoke(cli, ["reconcile", "--store", "toko-woo", "--config", str(config.path)])
    assert out.exit_code == 1 and "HTTP 502" in out.output and "next pass starts at the same place" in out.output
    assert "Traceback" not in out.output
    assert ledger.writeback.cursor(engine, "toko-woo", ledger.writeback.RECONCILE) == kept
