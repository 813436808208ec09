"""The whole loop over real HTTP, on SQLite and PostgreSQL: signed deliveries -> the app -> the ledger ->
the worker -> the sandbox JNE -> the cnote written back to the Shopify and WooCommerce stand-ins.

The worker runs as ``serve`` runs it (``Worker.run`` in a thread, its write-back loop beside it). The
shops are then asked what they hold: one fulfillment (Shopify) or one note (WooCommerce) per order,
carrying the cnote JNE gave, whatever the deliveries repeated. No token, client secret or consumer
secret may appear in logs, ledger rows, ``status`` output or error answers.
"""

from __future__ import annotations

import json
import logging

import jne_helpers
import requests
import shop_helpers
from app_helpers import served_app  # noqa: F401 - the fixture, bound by name
from click.testing import CliRunner
from ledger_helpers import dump_text
from shop_helpers import (
    CLIENT_SECRET,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    STORE_IDS,
    ago,
    running_worker,
    send,
    shop_config,
    shop_store,
    shopify_api,
    shopify_order,
    wait_until,
    woo_api,
    woo_order,
    writeback_states,
)

from integration import ledger
from integration.cli import main as cli
from integration.shop.standin_shopify import DEFAULT_TOKEN
from integration.shop.writeback import META_KEY

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
shopify_shop, _shopify_server = shop_helpers.shopify_shop, shop_helpers._shopify_server
woo_shop, _woo_server = shop_helpers.woo_shop, shop_helpers._woo_server

TRACKING_URL = "https://www.jne.co.id/tracking-package?awb={cnote}"


def _both_stores(shopify_shop, woo_shop, **shopify_api_more) -> dict:
    # Reconcile off: every order here arrives by its signed delivery (test_shop_reconcile_worker covers it).
    off = {"reconcile": {"every_s": 0}}
    return {STORE_IDS["shopify"]: shop_store("shopify", shopify_api(shopify_shop, **shopify_api_more), **off),
            STORE_IDS["woocommerce"]: shop_store("woocommerce", woo_api(woo_shop), **off)}


def test_signed_deliveries_are_booked_at_jne_and_written_back_once_each(
        tmp_path, database_url, sandbox, shopify_shop, woo_shop, served_app):  # noqa: F811
    shopify_orders = [shopify_order(7001 + i, 2001 + i, updated_at=ago(minutes=30)) for i in range(3)]
    woo_orders = [woo_order(8001 + i, modified=ago(minutes=30)) for i in range(3)]
    shopify_shop.add(*shopify_orders)
    woo_shop.add(*woo_orders)
    config = shop_config(tmp_path, database_url, sandbox.url, _both_stores(shopify_shop, woo_shop))
    app = served_app(config)
    for order in shopify_orders:
        send(app.url, "shopify", order)
        send(app.url, "shopify", order, topic="orders/updated")  # Shopify sends both: still one of each
    for order in woo_orders:
        send(app.url, "woocommerce", order)

    with running_worker(config, app.engine):
        wait_until(lambda: set(writeback_states(app.engine, config).values()) == {"done"}
                   and len(writeback_states(app.engine, config)) == 6)

    cnotes = {b["order_id"]: b["cnote"] for b in sandbox.bookings()}
    assert len(sandbox.bookings()) == 6 == len(cnotes)
    for order in shopify_orders:
        ship = ledger.find_shipment(app.engine, STORE_IDS["shopify"], str(order["id"]))
        assert ship["cnote"] == cnotes[f"TC{order['order_number']}"]
        [made] = shopify_shop.fulfillments(order["id"])
        assert made["trackingInfo"] == [{"company": "JNE", "number": ship["cnote"],
                                         "url": TRACKING_URL.format(cnote=ship["cnote"])}]
        assert made["notify_customer"] is True
    for order in woo_orders:
        ship = ledger.find_shipment(app.engine, STORE_IDS["woocommerce"], str(order["id"]))
        assert ship["cnote"] == cnotes[f"TC{order['id']}"]
        [note] = woo_shop.notes(order["id"])
        assert ship["cnote"] in note["note"] and note["customer_note"] is True
        meta = {m["key"]: m["value"] for m in woo_shop.order(order["id"])["meta_data"]}
        assert meta[META_KEY] == ship["cnote"]
    assert shopify_shop.stats()["JneFulfillmentCreate"] == 3
    assert woo_shop.stats()["POST note"] == 3

    out = CliRunner().invoke(cli, ["status", "--json", "--config", str(config.path)])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert {r["writeback"] for r in rows} == {"done"} and {r["status"] for r in rows} == {"booked"}
    human = CliRunner().invoke(cli, ["status", "--config", str(config.path)])
    assert "WRITEBACK" in human.output and human.output.count(" done ") == 6


def test_a_refusal_is_shown_with_the_shops_words_and_the_booking_stays_booked(
        tmp_path, database_url, sandbox, shopify_shop, woo_shop, served_app):  # noqa: F811
    order = shopify_order(7101, 2101, updated_at=ago(minutes=5))
    shopify_shop.add(order)
    shopify_shop.cancel(order["id"])  # cancelled in the shop after the delivery we got
    gone = woo_order(8101, modified=ago(minutes=5))  # WooCommerce does not know this order (deleted)
    config = shop_config(tmp_path, database_url, sandbox.url, _both_stores(shopify_shop, woo_shop))
    app = served_app(config)
    send(app.url, "shopify", order)
    send(app.url, "woocommerce", gone)

    with running_worker(config, app.engine):
        wait_until(lambda: set(writeback_states(app.engine, config).values()) == {"failed"}
                   and len(writeback_states(app.engine, config)) == 2)

    out = CliRunner().invoke(cli, ["status", "--json", "--config", str(config.path)])
    rows = {r["order"]: r for r in json.loads(out.output)}
    shopify_row, woo_row = rows[str(order["id"])], rows[str(gone["id"])]
    assert shopify_row["status"] == woo_row["status"] == "booked"
    [words] = shopify_row["writeback_errors"]["writeback"]
    assert "cancelled in Shopify" in words and shopify_row["cnote"] in words
    [words] = woo_row["writeback_errors"]["writeback"]
    assert "Invalid ID." in words and "woocommerce_rest_shop_order_invalid_id" in words  # the shop's own words
    assert "writeback retry --store toko-woo 8101" in words
    human = CliRunner().invoke(cli, ["status", "--config", str(config.path)]).output
    assert "! writeback: " in human and "failed" in human
    assert shopify_shop.fulfillments(order["id"]) == []
    # Each refused attempt keeps the status of the answer that decided it: Shopify's query showing the
    # order cancelled came with 200, WooCommerce's unknown order with 404.
    [shopify_attempt] = ledger.writeback.writeback_attempts_of(app.engine, STORE_IDS["shopify"], str(order["id"]))
    [woo_attempt] = ledger.writeback.writeback_attempts_of(app.engine, STORE_IDS["woocommerce"], str(gone["id"]))
    assert (shopify_attempt["outcome"], shopify_attempt["http_status"]) == ("refused", 200)
    assert (woo_attempt["outcome"], woo_attempt["http_status"]) == ("refused", 404)


def test_no_token_client_secret_or_consumer_secret_reaches_logs_ledger_status_or_answers(
        tmp_path, database_url, sandbox, shopify_shop, woo_shop, served_app, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    orders = [shopify_order(7201, 2201, updated_at=ago(minutes=5)), shopify_order(7202, 2202, updated_at=ago(minutes=5))]
    shopify_shop.add(*orders)
    woo_shop.add(woo_order(8201, modified=ago(minutes=5)))
    stores = _both_stores(shopify_shop, woo_shop, client_credentials=True)  # a client secret, and issued tokens
    config = shop_config(tmp_path, database_url, sandbox.url, stores)
    app = served_app(config)
    send(app.url, "shopify", orders[0])
    send(app.url, "woocommerce", woo_order(8201, modified=ago(minutes=5)))
    shopify_shop.faults(rate_limit=1, retry_after_s=0.05, fail_502=1)  # faults log their answers too
    with running_worker(config, app.engine):
        wait_until(lambda: len(writeback_states(app.engine, config)) == 2
                   and set(writeback_states(app.engine, config).values()) == {"done"})
        shopify_shop.expire_tokens()  # the next call gets a 401 and a new token
        send(app.url, "shopify", orders[1])
        wait_until(lambda: writeback_states(app.engine, config).get(str(orders[1]["id"])) == "done")
    issued = shopify_shop.tokens_issued()
    assert issued == 2

    # A refusal carries the shop's words: a wrong consumer secret is refused with its own message.
    bad = shop_config(tmp_path, database_url, sandbox.url, {
        STORE_IDS["woocommerce"]: shop_store("woocommerce", woo_api(woo_shop, consumer_secret="cs_wrong_secret_0099"))})
    listing = CliRunner().invoke(cli, ["webhooks", "list", "--store", "toko-woo", "--config", str(bad.path)])
    assert listing.exit_code == 1 and "Consumer secret is invalid." in listing.output

    status = CliRunner().invoke(cli, ["status", "--json", "--config", str(config.path)]).output
    answers = [requests.post(f"{app.url}/webhooks/shopify", data=b"{}", headers=h, timeout=5).text for h in (
        {"X-Shopify-Hmac-Sha256": "x", "X-Shopify-Shop-Domain": "toko-contoh.myshopify.com", "X-Shopify-Topic": "x"},
        {"X-Shopify-Hmac-Sha256": "x", "X-Shopify-Shop-Domain": "nope.myshopify.com"})]
    everything = "\n".join([caplog.text, dump_text(app.engine), status, listing.output, *answers])
    for secret in (DEFAULT_TOKEN, CLIENT_SECRET, CONSUMER_SECRET, CONSUMER_KEY, "cs_wrong_secret_0099"):
        assert secret not in everything
    assert "shpat_" not in everything  # the tokens Shopify issued for the client secret
    assert "write-back done" in caplog.text  # the logs were captured: the check above is not empty
