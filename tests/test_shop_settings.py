"""The api/writeback/reconcile store blocks: schema fragment, cross-key checks, dataclasses, clients."""

from __future__ import annotations

import cerberus
import pytest

from integration.shop.settings import (
    DEFAULT_TRACKING_URL,
    STORE_SCHEMA,
    ShopSettings,
    check_store,
    client_for,
    shop_settings,
    tracking_url,
)
from integration.shop.shopify import ShopifyClient
from integration.shop.woocommerce import WooCommerceClient

DESIGN_SHOPIFY = {  # the block as DESIGN.md writes it
    "api": {"url": "https://toko-ali.myshopify.com", "access_token": "shpat_abc123", "version": "2025-10"},
    "writeback": {"tracking_company": "JNE", "tracking_url": "https://www.jne.co.id/tracking-package?awb={cnote}",
                  "notify_customer": True, "complete_order": False},
    "reconcile": {"every_s": 900, "lookback_h": 72},
}


def normalised(block):
    validator = cerberus.Validator(STORE_SCHEMA)
    assert validator.validate(block), validator.errors
    return validator.document


def test_the_design_block_validates_and_builds():
    settings = shop_settings(normalised(DESIGN_SHOPIFY))
    assert settings.api.url == "https://toko-ali.myshopify.com" and settings.api.version == "2025-10"
    assert settings.writeback.enabled and settings.writeback.notify_customer and not settings.writeback.complete_order
    assert (settings.reconcile.every_s, settings.reconcile.lookback_h) == (900, 72)
    assert check_store("toko-ali", "shopify", normalised(DESIGN_SHOPIFY)) == []


def test_writeback_is_on_by_default_when_api_is_set_and_off_without_it():
    assert shop_settings(normalised({"api": DESIGN_SHOPIFY["api"]})).writeback.enabled is True
    assert shop_settings({}) == ShopSettings()
    assert ShopSettings().writeback.enabled is False and ShopSettings().reconcile.enabled is False


def test_secrets_are_listed_for_redaction_and_never_in_the_repr():
    settings = shop_settings(normalised({"api": {"url": "https://s.myshopify.com", "client_id": "cid",
                                                  "client_secret": "csecret_987"}}))
    assert "csecret_987" in settings.secrets()
    assert "csecret_987" not in repr(settings)


@pytest.mark.parametrize(("platform", "api", "wanted"), [
    ("shopify", {"url": "https://s.myshopify.com"}, "access_token, or client_id with client_secret"),
    ("shopify", {"url": "https://s.myshopify.com", "client_id": "x"}, "client_secret: required"),
    ("shopify", {"url": "https://s.myshopify.com", "access_token": "t", "consumer_key": "k"}, "WooCommerce setting"),
    ("woocommerce", {"url": "https://toko.example", "consumer_key": "ck"}, "consumer_key and consumer_secret"),
    ("woocommerce", {"url": "https://toko.example", "consumer_key": "ck", "consumer_secret": "cs",
                     "access_token": "t"}, "Shopify setting"),
])
def test_missing_or_wrong_platform_keys_are_named(platform, api, wanted):
    problems = check_store("s", platform, normalised({"api": api}))
    assert any(wanted in p for p in problems), problems


@pytest.mark.parametrize(("template", "wanted"), [
    ("https://t.example/{awb}", "unknown placeholder(s) {awb}"),
    ("ftp://t.example/{cnote}", "must be an http(s) URL"),
])
def test_a_bad_tracking_url_template_is_named(template, wanted):
    block = normalised({"api": DESIGN_SHOPIFY["api"], "writeback": {"tracking_url": template}})
    assert any(wanted in p for p in check_store("s", "shopify", block))


@pytest.mark.parametrize("bad", [
    {"api": {"url": "toko-ali.myshopify.com", "access_token": "x"}},
    {"api": {"url": "https://s.myshopify.com", "access_token": "x", "version": "2025-11"}},
    {"reconcile": {"every_s": -1}},
    {"writeback": {"notify_customer": "yes"}},
])
def test_the_schema_refuses_bad_values(bad):
    assert not cerberus.Validator(STORE_SCHEMA).validate(bad)


def test_tracking_url_fills_only_the_cnote():
    assert tracking_url(DEFAULT_TRACKING_URL, "123") == "https://www.jne.co.id/tracking-package?awb=123"
    assert tracking_url("https://t.example/{cnote}?x={0}", "9") == "https://t.example/9?x={0}"
    assert tracking_url("", "9") is None


def test_client_for_builds_the_platforms_client():
    shopify = client_for("shopify", shop_settings(normalised(DESIGN_SHOPIFY)).api)
    woo = client_for("woocommerce", shop_settings(normalised({"api": {
        "url": "https://toko.example/", "consumer_key": "ck_1", "consumer_secret": "cs_1",
        "query_string_auth": True}})).api)
    assert isinstance(shopify, ShopifyClient) and shopify.endpoint.endswith("/admin/api/2025-10/graphql.json")
    assert isinstance(woo, WooCommerceClient) and woo.query_string_auth and woo.base == "https://toko.example/wp-json/wc/v3"
