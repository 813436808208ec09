"""The WooCommerce REST client over real HTTP against the WooCommerce stand-in.

Basic auth and query-string keys (a host that strips Authorization), WooCommerce's error shape kept
as the shop's words, X-WP-TotalPages pagination, 429 waited out, 5xx retried for reads only, and no
consumer secret in logs or errors.
"""

from __future__ import annotations

import logging

import pytest
import shop_helpers
from shop_helpers import CONSUMER_KEY, CONSUMER_SECRET, ago, woo_order

from integration.serving import serve_in_thread
from integration.shop.errors import ShopAuthRefused, ShopNotFound, ShopRetryable
from integration.shop.standin_woocommerce import create_woocommerce_standin
from integration.shop.woocommerce import WooCommerceClient

woo_shop = shop_helpers.woo_shop
_woo_server = shop_helpers._woo_server


@pytest.fixture
def stripping_host():
    """A WooCommerce stand-in behind a host that drops the Authorization header."""
    server = serve_in_thread(create_woocommerce_standin(strip_authorization=True))
    shop = shop_helpers.WooShop(server)
    shop.add(woo_order(5))
    yield shop
    server.stop()


def test_basic_auth_reads_an_order(woo_shop):
    woo_shop.add(woo_order(41))
    assert woo_shop.client().order(41)["id"] == 41


def test_a_wrong_secret_is_refused_with_woocommerces_words(woo_shop):
    client = WooCommerceClient(woo_shop.url, CONSUMER_KEY, "cs_wrong_secret_00000")
    with pytest.raises(ShopAuthRefused) as caught:
        client.order(41)
    assert caught.value.shop_words == ("woocommerce_rest_authentication_error: Consumer secret is invalid.",)
    assert "cs_wrong_secret_00000" not in str(caught.value) + repr(client)


def test_a_host_that_strips_authorization_needs_query_string_keys(stripping_host):
    with pytest.raises(ShopAuthRefused) as caught:
        stripping_host.client().order(5)
    assert "query_string_auth" in caught.value.reason
    assert caught.value.shop_words == ("woocommerce_rest_cannot_view: Sorry, you cannot list resources.",)
    assert stripping_host.client(query_string_auth=True).order(5)["id"] == 5


def test_an_unknown_order_is_not_found_with_woocommerces_words(woo_shop):
    with pytest.raises(ShopNotFound) as caught:
        woo_shop.client().order(404404)
    assert caught.value.shop_words == ("woocommerce_rest_shop_order_invalid_id: Invalid ID.",)


def test_orders_modified_after_pages_through_every_page_once(woo_shop):
    woo_shop.add(*[woo_order(1000 + i, modified=ago(minutes=300 - i)) for i in range(250)])
    woo_shop.add(woo_order(999, modified=ago(days=10)))
    pages = list(woo_shop.client().orders_modified_after(ago(hours=6)))
    assert [len(p) for p in pages] == [100, 100, 50]
    ids = [o["id"] for p in pages for o in p]
    assert sorted(ids) == [1000 + i for i in range(250)]  # each once; 999 is older than the cursor
    assert ids[0] == 1249  # newest change first
    assert woo_shop.stats()["GET orders"] == 3


def test_429_burst_is_waited_out(woo_shop):
    woo_shop.add(woo_order(42))
    woo_shop.faults(rate_limit=3, retry_after_s=0.1)
    assert woo_shop.client().order(42)["id"] == 42
    assert woo_shop.stats()["GET order"] == 4


def test_5xx_on_a_read_is_retried_and_on_a_write_handed_back(woo_shop):
    woo_shop.add(woo_order(43))
    client = woo_shop.client()
    woo_shop.faults(fail_502=2)
    assert client.order_notes(43) == []
    woo_shop.faults(fail_502=1)
    with pytest.raises(ShopRetryable) as caught:
        client.add_order_note(43, "x", customer_note=False)
    assert caught.value.maybe_done and caught.value.http_status == 502
    assert woo_shop.stats()["POST note"] == 1


def test_update_order_sets_meta_by_key_and_status(woo_shop):
    woo_shop.add(woo_order(44))
    client = woo_shop.client()
    client.update_order(44, meta={"jne_cnote": "1"})
    order = client.update_order(44, meta={"jne_cnote": "2"}, status="completed")
    assert [m["value"] for m in order["meta_data"] if m["key"] == "jne_cnote"] == ["2"]
    assert order["status"] == "completed"


def test_consumer_secret_stays_out_of_logs_and_errors_with_query_string_keys(caplog):
    caplog.set_level(logging.DEBUG)
    server = serve_in_thread(create_woocommerce_standin())
    url = server.url
    server.stop()  # nothing listens there now: the error carries the URL, keys and all
    client = WooCommerceClient(url, CONSUMER_KEY, CONSUMER_SECRET, query_string_auth=True, max_wait_s=0.1)
    with pytest.raises(ShopRetryable) as caught:
        client.order(1)
    assert "consumer_secret=***" in str(caught.value)  # the URL was there, masked
    assert CONSUMER_SECRET not in str(caught.value) + repr(caught.value.__dict__) + repr(client)
    assert CONSUMER_SECRET not in caplog.text
