"""Webhook install and list against the stand-ins: nothing created twice, disabled ones re-enabled."""

from __future__ import annotations

import pytest
import shop_helpers
from shop_helpers import CLIENT_SECRET

from integration.shop.errors import ShopRefused
from integration.shop.webhooks import SHOPIFY_TOPICS, WOOCOMMERCE_TOPICS, delivery_url, install, list_webhooks

shopify_shop = shop_helpers.shopify_shop
_shopify_server = shop_helpers._shopify_server
woo_shop = shop_helpers.woo_shop
_woo_server = shop_helpers._woo_server

BASE = "https://jne.toko-ali.example/"
SECRET = "woo_webhook_secret_1234"


def test_shopify_install_twice_creates_each_topic_once(shopify_shop):
    client = shopify_shop.client()
    first = install(client, BASE, webhook_secret="x", client_secret="x")
    second = install(client, BASE, webhook_secret="x", client_secret="x")
    assert first.created == list(SHOPIFY_TOPICS) and second.created == [] and second.kept == list(SHOPIFY_TOPICS)
    hooks = shopify_shop.webhooks()
    assert sorted(h["topic"] for h in hooks) == sorted(SHOPIFY_TOPICS)
    assert {h["uri"] for h in hooks} == {"https://jne.toko-ali.example/webhooks/shopify"}
    assert [(r.topic, r.status) for r in list_webhooks(client)] == [(t, "active") for t in SHOPIFY_TOPICS]


def test_shopify_install_says_which_secret_signs_and_warns_on_a_mismatch(shopify_shop):
    report = install(shopify_shop.client(), BASE, webhook_secret="something else", client_secret=CLIENT_SECRET)
    text = " ".join(report.messages)
    assert "client secret" in text and "401" in text
    assert CLIENT_SECRET not in text


def test_shopify_refuses_a_plain_http_address_with_its_words(shopify_shop):
    with pytest.raises(ShopRefused) as caught:
        install(shopify_shop.client(), "http://jne.example", webhook_secret="x")
    assert any("not supported" in w for w in caught.value.shop_words)


def test_woocommerce_install_twice_creates_each_topic_once_with_the_stores_secret(woo_shop):
    client = woo_shop.client()
    first = install(client, BASE, webhook_secret=SECRET)
    second = install(client, BASE, webhook_secret=SECRET)
    assert first.created == list(WOOCOMMERCE_TOPICS) and second.created == []
    hooks = woo_shop.state()["webhooks"]
    assert sorted(h["topic"] for h in hooks) == sorted(WOOCOMMERCE_TOPICS)
    assert {(h["status"], h["secret"], h["delivery_url"]) for h in hooks} == {
        ("active", SECRET, "https://jne.toko-ali.example/webhooks/woocommerce")}
    assert all("secret" not in vars(r) for r in list_webhooks(client))


def test_woocommerce_a_disabled_webhook_comes_back_active(woo_shop):
    client = woo_shop.client()
    install(client, BASE, webhook_secret=SECRET)
    hook = next(h for h in woo_shop.state()["webhooks"] if h["topic"] == "order.updated")
    woo_shop.disable(hook["id"])  # WooCommerce gave up after failed deliveries
    report = install(client, BASE, webhook_secret=SECRET)
    assert report.reenabled == ["order.updated (was disabled)"] and report.created == []
    assert {h["status"] for h in woo_shop.state()["webhooks"]} == {"active"}
    assert len(woo_shop.state()["webhooks"]) == 2


def test_woocommerce_a_webhook_made_by_hand_gets_the_stores_secret(woo_shop):
    client = woo_shop.client()
    client.create_webhook(name="by hand", topic="order.created", delivery_url=delivery_url(BASE, "woocommerce"),
                          secret="typed-in-admin")
    report = install(client, BASE, webhook_secret=SECRET)
    assert report.kept == ["order.created"] and report.created == ["order.updated"]
    assert {h["secret"] for h in woo_shop.state()["webhooks"]} == {SECRET}


def test_delivery_url_needs_a_scheme():
    with pytest.raises(ValueError):
        delivery_url("jne.example.com", "shopify")
