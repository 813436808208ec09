"""``jne-integration webhooks install|list`` against the shop stand-ins over real HTTP, and the messages
the shop commands give when a store cannot be reached."""

from __future__ import annotations

import json

import shop_helpers
from click.testing import CliRunner
from shop_helpers import STORE_IDS, WEBHOOK_SECRETS, shop_config, shop_store, shopify_api, woo_api

from integration.cli import main as cli

shopify_shop, _shopify_server = shop_helpers.shopify_shop, shop_helpers._shopify_server
woo_shop, _woo_server = shop_helpers.woo_shop, shop_helpers._woo_server

PUBLIC = "https://jne.toko-contoh.example"


def _config(tmp_path, shopify_shop, woo_shop):
    return shop_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", "http://127.0.0.1:9/pickupcashless", {
        STORE_IDS["shopify"]: shop_store("shopify", shopify_api(shopify_shop)),
        STORE_IDS["woocommerce"]: shop_store("woocommerce", woo_api(woo_shop)),
        "no-api": {**shop_store("shopify", None), "shop": "other.myshopify.com"}})


def _run(config, *args):
    return CliRunner().invoke(cli, [*args, "--config", str(config.path)])


def test_shopify_install_twice_creates_each_subscription_once_and_names_the_signing_secret(
        tmp_path, shopify_shop, woo_shop):
    config = _config(tmp_path, shopify_shop, woo_shop)
    first = _run(config, "webhooks", "install", "--store", "toko-shopify", "--url", PUBLIC + "/")
    assert first.exit_code == 0, first.output
    assert "created: ORDERS_CREATE, ORDERS_UPDATED, ORDERS_PAID, ORDERS_CANCELLED" in first.stdout
    assert "client secret" in first.stdout
    second = _run(config, "webhooks", "install", "--store", "toko-shopify", "--url", PUBLIC)
    assert second.exit_code == 0 and "created" not in second.stdout and "kept: ORDERS_CREATE" in second.stdout
    hooks = shopify_shop.webhooks()
    assert len(hooks) == 4 and {h["uri"] for h in hooks} == {PUBLIC + "/webhooks/shopify"}
    listing = _run(config, "webhooks", "list", "--store", "toko-shopify", "--json")
    assert sorted(r["topic"] for r in json.loads(listing.stdout)) == sorted(h["topic"] for h in hooks)


def test_woocommerce_install_twice_creates_nothing_twice_and_a_disabled_webhook_comes_back_active(
        tmp_path, shopify_shop, woo_shop):
    config = _config(tmp_path, shopify_shop, woo_shop)
    assert _run(config, "webhooks", "install", "--store", "toko-woo", "--url", PUBLIC).exit_code == 0
    assert _run(config, "webhooks", "install", "--store", "toko-woo", "--url", PUBLIC).exit_code == 0
    hooks = woo_shop.state()["webhooks"]
    assert sorted(h["topic"] for h in hooks) == ["order.created", "order.updated"]
    assert {h["secret"] for h in hooks} == {WEBHOOK_SECRETS["woocommerce"]}  # the store's own secret signs
    updated = next(h for h in hooks if h["topic"] == "order.updated")
    woo_shop.disable(updated["id"])  # WooCommerce did this after five failed deliveries

    again = _run(config, "webhooks", "install", "--store", "toko-woo", "--url", PUBLIC)
    assert again.exit_code == 0 and "re-enabled: order.updated (was disabled)" in again.stdout
    hooks = woo_shop.state()["webhooks"]
    assert len(hooks) == 2 and {h["status"] for h in hooks} == {"active"}
    listing = _run(config, "webhooks", "list", "--store", "toko-woo")
    assert listing.stdout.count("active") == 2 and PUBLIC + "/webhooks/woocommerce" in listing.stdout


def test_the_shop_commands_explain_what_is_missing_without_a_traceback(tmp_path, shopify_shop, woo_shop):
    config = _config(tmp_path, shopify_shop, woo_shop)
    no_api = _run(config, "webhooks", "list", "--store", "no-api")
    assert no_api.exit_code == 1 and "has no api: block" in no_api.output
    unknown = _run(config, "webhooks", "install", "--store", "nope", "--url", PUBLIC)
    assert unknown.exit_code == 2 and "no store 'nope'" in unknown.output
    bad_url = _run(config, "webhooks", "install", "--store", "toko-woo", "--url", "jne.example.com")
    assert bad_url.exit_code == 2 and "public base URL" in bad_url.output
    bad_since = _run(config, "reconcile", "--since", "yesterday")
    assert bad_since.exit_code == 2 and "ISO-8601" in bad_since.output
    woo_shop.faults(fail_502=20)
    down = _run(config, "webhooks", "install", "--store", "toko-woo", "--url", PUBLIC)
    assert down.exit_code == 1 and "HTTP 502" in down.output
    for result in (no_api, unknown, bad_url, bad_since, down):
        assert "Traceback" not in result.output


def test_the_demo_stores_point_at_the_embedded_shops_only_serve_can_reach(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JNE_INTEGRATION_CONFIG", raising=False)
    out = CliRunner().invoke(cli, ["webhooks", "list", "--store", "demo"])
    assert out.exit_code == 1 and "embedded shop stand-in" in out.output
