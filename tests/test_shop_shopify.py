"""The Shopify GraphQL client over real HTTP against the Shopify stand-in.

Tokens (static, client credentials renewed before expiry and once on a 401), rate limits (429 with
Retry-After, THROTTLED with the cost figures) waited out, 5xx retried for reads, values always in
variables, cursor pages, and the order in the webhook shape the mappings read.
"""

from __future__ import annotations

import logging
import time

import pytest
import shop_helpers
from fixtures.expect import fixtures
from shop_helpers import CLIENT_ID, CLIENT_SECRET, ago, shopify_order
from test_mapping_fixtures import MAPPINGS, mapping_for, preview

from integration.serving import serve_in_thread
from integration.shop.errors import ShopAuthRefused, ShopRefused, ShopRetryable
from integration.shop.shopify import ShopifyClient, Tracking
from integration.shop.standin_shopify import DEFAULT_TOKEN, create_shopify_standin

shopify_shop = shop_helpers.shopify_shop
_shopify_server = shop_helpers._shopify_server

SHOPIFY_FIXTURES = list(fixtures("shopify"))


def test_static_token_reads_fulfillment_orders(shopify_shop):
    shopify_shop.add(shopify_order(11, 1011))
    state = shopify_shop.client().order_fulfillment(11)
    assert state.name == "#1011"
    assert [fo.status for fo in state.open_fulfillment_orders] == ["OPEN"]
    assert state.fulfillments == ()


def test_wrong_static_token_is_refused_with_shopifys_words_and_no_token_shown(shopify_shop):
    client = shopify_shop.client(access_token="shpat_wrong_token_123456")
    with pytest.raises(ShopAuthRefused) as caught:
        client.order_fulfillment(11)
    assert caught.value.http_status == 401
    assert any("Invalid API key or access token" in w for w in caught.value.shop_words)
    assert "shpat_wrong_token_123456" not in str(caught.value) + repr(client)


def test_client_credentials_token_is_obtained_once_and_reused(shopify_shop):
    shopify_shop.add(shopify_order(12, 1012))
    client = ShopifyClient(shopify_shop.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    for _ in range(3):
        assert client.order_fulfillment(12).name == "#1012"
    assert shopify_shop.tokens_issued() == 1
    assert client.renewals == 1


def test_expired_token_is_renewed_once_on_401_and_the_call_succeeds(shopify_shop):
    shopify_shop.add(shopify_order(13, 1013))
    client = ShopifyClient(shopify_shop.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    client.order_fulfillment(13)
    shopify_shop.expire_tokens()  # Shopify revoked or expired it before our own clock said so
    assert client.order_fulfillment(13).name == "#1013"
    assert shopify_shop.tokens_issued() == 2
    assert shopify_shop.stats()["invalid_token"] == 1


def test_token_is_renewed_before_it_expires_without_a_401():
    server = serve_in_thread(create_shopify_standin(token_ttl_s=1.5))
    try:
        shop = shop_helpers.ShopifyShop(server)
        shop.add(shopify_order(14, 1014))
        client = ShopifyClient(shop.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        client.order_fulfillment(14)
        time.sleep(1.6)  # past the lifetime Shopify gave (expires_in)
        client.order_fulfillment(14)
        assert shop.tokens_issued() == 2
        assert shop.stats().get("invalid_token", 0) == 0  # renewed from expires_in, not after a refusal
    finally:
        server.stop()


def test_wrong_client_secret_is_refused_and_the_secret_never_shown(shopify_shop, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "wrong_client_secret_98765"
    client = ShopifyClient(shopify_shop.url, client_id=CLIENT_ID, client_secret=secret)
    with pytest.raises(ShopAuthRefused) as caught:
        client.order_fulfillment(1)
    assert "invalid_client" in " ".join(caught.value.shop_words)
    assert secret not in str(caught.value) + repr(client) + repr(caught.value.__dict__)
    assert secret not in caplog.text


def test_429_burst_is_waited_out(shopify_shop):
    shopify_shop.add(shopify_order(15, 1015))
    shopify_shop.faults(rate_limit=3, retry_after_s=0.1)
    assert shopify_shop.client().order_fulfillment(15).name == "#1015"
    assert shopify_shop.stats()["JneOrderFulfillment"] == 4  # three 429s, then the answer


def test_throttled_burst_is_waited_out_from_the_cost_figures(shopify_shop):
    shopify_shop.add(shopify_order(16, 1016))
    shopify_shop.faults(throttled=3)
    client = shopify_shop.client()
    assert client.order_fulfillment(16).name == "#1016"
    stats = shopify_shop.stats()
    assert stats["THROTTLED"] == 3 and stats["JneOrderFulfillment"] == 4
    assert client.last_cost["throttleStatus"]["maximumAvailable"] == 1000


def test_the_client_paces_itself_by_the_cost_bucket_instead_of_being_throttled():
    # A bucket of 40 points restored at 100/s: without pacing the third 15-point query finds it empty.
    server = serve_in_thread(create_shopify_standin(bucket_max=40, restore_rate=100))
    try:
        shop = shop_helpers.ShopifyShop(server)
        shop.add(shopify_order(17, 1017))
        client = shop.client()
        names = [client.order_fulfillment(17).name for _ in range(8)]
        assert names == ["#1017"] * 8
        assert shop.stats().get("THROTTLED", 0) == 0
        assert shop.stats()["JneOrderFulfillment"] == 8
    finally:
        server.stop()


def test_a_bucket_emptied_by_someone_else_is_waited_out():
    server = serve_in_thread(create_shopify_standin(bucket_max=40, restore_rate=20))
    try:
        shop = shop_helpers.ShopifyShop(server)
        shop.add(shopify_order(17, 1017))
        ours, theirs = shop.client(), shop.client()
        # Restored at 20 points/s, a 15-point query waits 0.75 s for an empty bucket: room for a slow machine.
        ours.order_fulfillment(17)  # our estimate: 25 points left
        for _ in range(2):
            theirs.order_fulfillment(17)  # another process of the same app spends them
        assert ours.order_fulfillment(17).name == "#1017"
        assert shop.stats()["THROTTLED"] >= 1
    finally:
        server.stop()


def test_throttling_beyond_the_wait_budget_is_handed_back_with_the_wait(shopify_shop):
    shopify_shop.faults(throttled=10)
    client = shopify_shop.client(max_wait_s=0.01)
    with pytest.raises(ShopRetryable) as caught:
        client.order_fulfillment(18)
    assert caught.value.throttled and caught.value.retry_after_s > 0
    assert "Throttled" in caught.value.shop_words


def test_5xx_on_a_read_is_retried(shopify_shop):
    shopify_shop.add(shopify_order(19, 1019))
    shopify_shop.faults(fail_502=2)
    assert shopify_shop.client().order_fulfillment(19).name == "#1019"
    assert shopify_shop.stats()["JneOrderFulfillment"] == 3


def test_5xx_on_a_write_is_not_resent_and_says_it_may_have_happened(shopify_shop):
    shopify_shop.add(shopify_order(20, 1020))
    client = shopify_shop.client()
    fo = client.order_fulfillment(20).open_fulfillment_orders[0]
    shopify_shop.faults(fail_502=1)
    with pytest.raises(ShopRetryable) as caught:
        client.create_fulfillment([fo.id], Tracking("JNE", "111"), notify_customer=False)
    assert caught.value.maybe_done and caught.value.http_status == 502
    assert shopify_shop.stats()["JneFulfillmentCreate"] == 1


def test_a_second_fulfillment_of_a_closed_fulfillment_order_shows_shopifys_user_errors(shopify_shop):
    shopify_shop.add(shopify_order(21, 1021))
    client = shopify_shop.client()
    fo = client.order_fulfillment(21).open_fulfillment_orders[0]
    client.create_fulfillment([fo.id], Tracking("JNE", "222", "https://t.example/222"), notify_customer=True)
    assert client.order_fulfillment(21).open_fulfillment_orders == ()
    with pytest.raises(ShopRefused) as caught:
        client.create_fulfillment([fo.id], Tracking("JNE", "222"), notify_customer=True)
    assert any("unfulfillable status= closed" in w for w in caught.value.shop_words)
    assert len(shopify_shop.fulfillments(21)) == 1


def test_values_spliced_into_query_text_are_refused_so_passing_tests_prove_variables(shopify_shop):
    with pytest.raises(ShopRefused) as caught:
        shopify_shop.client().graphql('query JneOrder { order(id: "gid://shopify/Order/1") { id } }')
    assert "variables" in " ".join(caught.value.shop_words)


def test_orders_updated_since_follows_cursor_pages_oldest_first(shopify_shop):
    orders = [shopify_order(100 + i, 2000 + i, updated_at=ago(hours=10 - i)) for i in range(7)]
    shopify_shop.add(*orders, shopify_order(99, 1999, updated_at=ago(days=30)))
    pages = list(shopify_shop.client().orders_updated_since(ago(hours=11), page_size=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [s.id for p in pages for s in p] == [100 + i for i in range(7)]  # 99 is older than since


def test_an_order_with_more_line_items_than_one_query_carries_comes_back_whole(shopify_shop):
    order = shopify_order(30, 1030)
    line = order["line_items"][0]
    order["line_items"] = [dict(line, id=900000 + i, sku=f"SKU{i}") for i in range(150)]
    shopify_shop.add(order)
    fetched = shopify_shop.client().order(30)
    assert [li["sku"] for li in fetched["line_items"]] == [f"SKU{i}" for i in range(150)]
    assert shopify_shop.stats()["JneOrderLineItems"] == 1


@pytest.mark.parametrize("fx", SHOPIFY_FIXTURES, ids=[fx.id for fx in SHOPIFY_FIXTURES])
def test_an_order_read_through_graphql_maps_exactly_like_its_webhook(shopify_shop, fx):
    """The reconciled order must book (or skip, or need attention) exactly as the delivery would."""
    shopify_shop.add(fx.order)
    fetched = shopify_shop.client().order(fx.order["id"])
    assert fetched["id"] == fx.order["id"] and fetched["name"] == fx.order["name"]
    mapping = mapping_for(MAPPINGS / "shopify.yaml")
    as_delivered = preview(mapping, fx)
    as_fetched = preview(mapping, type(fx)(**{**fx.__dict__, "order": fetched}))
    assert as_fetched == as_delivered


def test_secrets_stay_out_of_logs_reprs_and_errors(shopify_shop, caplog):
    caplog.set_level(logging.DEBUG)
    shopify_shop.add(shopify_order(31, 1031))
    client = ShopifyClient(shopify_shop.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    client.order_fulfillment(31)
    issued = client._issued.reveal()
    shopify_shop.faults(fail_502=5)
    with pytest.raises(ShopRetryable) as caught:
        client.order_fulfillment(31)
    static = ShopifyClient(shopify_shop.url, access_token=DEFAULT_TOKEN)
    texts = caplog.text + repr(client) + repr(static) + str(caught.value) + repr(caught.value.__dict__)
    for secret in (CLIENT_SECRET, issued, DEFAULT_TOKEN):
        assert secret not in texts
