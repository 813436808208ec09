"""Exactly-once write-back of a cnote to the shop stand-ins over real HTTP, with faults.

Every test counts what the shop holds afterwards (fulfillments, notes), never only what the
function answered: one fulfillment / one note per order whatever the faults.
"""

from __future__ import annotations

import pytest
import shop_helpers
from shop_helpers import CLIENT_ID, CLIENT_SECRET, shopify_order, woo_order

from integration.shop.settings import WritebackSettings
from integration.shop.shopify import ShopifyClient
from integration.shop.woocommerce import WooCommerceClient
from integration.shop.writeback import META_KEY, write_back

shopify_shop = shop_helpers.shopify_shop
_shopify_server = shop_helpers._shopify_server
woo_shop = shop_helpers.woo_shop
_woo_server = shop_helpers._woo_server

CNOTE = "0123456789012345"
ON = WritebackSettings(enabled=True)


def _tracking(fulfillment):
    return [(t["company"], t["number"], t["url"]) for t in fulfillment["trackingInfo"]]


# -- Shopify -------------------------------------------------------------------------------------

def test_shopify_fulfils_the_open_fulfillment_orders_with_tracking_in_two_calls(shopify_shop):
    shopify_shop.add(shopify_order(1, 1001))
    result = write_back(shopify_shop.client(), 1, CNOTE, ON)
    assert (result.outcome, result.wrote, result.calls, result.http_status) == ("done", True, 2, 200)
    [made] = shopify_shop.fulfillments(1)
    assert _tracking(made) == [("JNE", CNOTE, f"https://www.jne.co.id/tracking-package?awb={CNOTE}")]
    assert made["notify_customer"] is True
    assert shopify_shop.orders()[0]["fulfillment_status"] == "fulfilled"


def test_shopify_a_second_write_back_finds_the_cnote_and_writes_nothing(shopify_shop):
    shopify_shop.add(shopify_order(2, 1002))
    client = shopify_shop.client()
    write_back(client, 2, CNOTE, ON)
    again = write_back(client, 2, CNOTE, ON)
    assert (again.outcome, again.wrote, again.calls) == ("done", False, 1)
    assert len(shopify_shop.fulfillments(2)) == 1


def test_shopify_a_lost_fulfillment_reply_then_a_retry_writes_nothing_twice(shopify_shop):
    shopify_shop.add(shopify_order(3, 1003))
    client = shopify_shop.client(timeout_s=5)
    shopify_shop.faults(lose_reply=1, stall_s=0)
    first = write_back(client, 3, CNOTE, ON)
    assert first.outcome == "retry" and not first.wrote
    assert first.http_status is None  # no answer came: no status, not the earlier query's 200
    assert len(shopify_shop.fulfillments(3)) == 1  # Shopify did it; the reply was lost
    second = write_back(client, 3, CNOTE, ON)
    assert (second.outcome, second.wrote) == ("done", False)
    assert len(shopify_shop.fulfillments(3)) == 1
    assert shopify_shop.stats()["JneFulfillmentCreate"] == 1


def test_shopify_429_throttled_and_5xx_bursts_still_make_one_fulfillment(shopify_shop):
    shopify_shop.add(shopify_order(4, 1004))
    shopify_shop.faults(rate_limit=2, retry_after_s=0.1, throttled=2, fail_502=1)
    result = write_back(shopify_shop.client(), 4, CNOTE, ON)
    assert result.outcome == "done"
    assert len(shopify_shop.fulfillments(4)) == 1


def test_shopify_5xx_that_outlasts_the_read_retries_is_a_retry_then_done_once(shopify_shop):
    shopify_shop.add(shopify_order(5, 1005))
    client = shopify_shop.client()
    shopify_shop.faults(fail_502=3)
    first = write_back(client, 5, CNOTE, ON)
    assert first.outcome == "retry" and "502" in first.reason and first.http_status == 502
    assert write_back(client, 5, CNOTE, ON).outcome == "done"
    assert len(shopify_shop.fulfillments(5)) == 1


def test_shopify_an_expired_token_is_renewed_and_one_fulfillment_made(shopify_shop):
    shopify_shop.add(shopify_order(6, 1006))
    client = ShopifyClient(shopify_shop.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    client.order_fulfillment(6)
    shopify_shop.expire_tokens()
    assert write_back(client, 6, CNOTE, ON).outcome == "done"
    assert len(shopify_shop.fulfillments(6)) == 1
    assert shopify_shop.tokens_issued() == 2


def test_shopify_every_location_is_fulfilled_once(shopify_shop):
    order = shopify_order(7, 1007)
    order["line_items"] = [dict(order["line_items"][0], id=70 + i, sku=f"S{i}") for i in range(3)]
    shopify_shop.add(order, locations=2)
    client = shopify_shop.client()
    assert write_back(client, 7, CNOTE, ON).calls == 3  # one query, one fulfillmentCreate per location
    assert write_back(client, 7, CNOTE, ON).wrote is False
    made = shopify_shop.fulfillments(7)
    assert len(made) == 2 and all(_tracking(f)[0][1] == CNOTE for f in made)


def test_shopify_a_cancelled_order_is_refused_and_nothing_written(shopify_shop):
    shopify_shop.add(shopify_order(8, 1008))
    shopify_shop.cancel(8)
    result = write_back(shopify_shop.client(), 8, CNOTE, ON)
    assert result.outcome == "refused" and "cancelled" in result.reason
    assert result.http_status == 200  # the query's answer showed it cancelled
    assert shopify_shop.fulfillments(8) == []


def test_shopify_an_order_fulfilled_by_hand_with_another_number_is_refused_naming_it(shopify_shop):
    shopify_shop.add(shopify_order(9, 1009))
    client = shopify_shop.client()
    write_back(client, 9, "9999", WritebackSettings(enabled=True, tracking_url=""))
    result = write_back(client, 9, CNOTE, ON)
    assert result.outcome == "refused" and "9999" in result.reason and CNOTE in result.reason
    assert len(shopify_shop.fulfillments(9)) == 1


def test_shopify_unknown_order_is_refused(shopify_shop):
    result = write_back(shopify_shop.client(), 424242, CNOTE, ON)
    assert result.outcome == "refused" and "424242" in result.reason
    assert result.http_status == 200  # GraphQL answers an unknown order with 200 and "order": null


def test_shopify_wrong_token_is_refused_with_shopifys_words(shopify_shop):
    shopify_shop.add(shopify_order(10, 1010))
    result = write_back(shopify_shop.client(access_token="shpat_nope_0000"), 10, CNOTE, ON)
    assert result.outcome == "refused" and result.http_status == 401
    assert any("Invalid API key" in w for w in result.shop_words)


def test_shopify_notify_customer_false_is_passed_on(shopify_shop):
    shopify_shop.add(shopify_order(12, 1012))
    write_back(shopify_shop.client(), 12, CNOTE, WritebackSettings(enabled=True, notify_customer=False))
    assert shopify_shop.fulfillments(12)[0]["notify_customer"] is False


# -- WooCommerce ---------------------------------------------------------------------------------

def _meta(order):
    return [m["value"] for m in order["meta_data"] if m["key"] == META_KEY]


def test_woo_steady_state_is_a_customer_note_and_the_meta_in_two_calls(woo_shop):
    woo_shop.add(woo_order(21))
    result = write_back(woo_shop.client(), 21, CNOTE, ON, may_have_written=False)
    assert (result.outcome, result.wrote, result.calls, result.http_status) == ("done", True, 2, 200)
    [note] = woo_shop.notes(21)
    assert CNOTE in note["note"] and note["customer_note"] is True
    order = woo_shop.order(21)
    assert _meta(order) == [CNOTE] and order["status"] == "processing"


def test_woo_complete_order_sets_completed_after_looking(woo_shop):
    woo_shop.add(woo_order(22))
    settings = WritebackSettings(enabled=True, complete_order=True, notify_customer=False)
    result = write_back(woo_shop.client(), 22, CNOTE, settings, may_have_written=False)
    assert (result.outcome, result.calls) == ("done", 3)
    assert woo_shop.order(22)["status"] == "completed"
    assert woo_shop.notes(22)[0]["customer_note"] is False


def test_woo_a_second_write_back_finds_the_cnote_and_writes_nothing(woo_shop):
    woo_shop.add(woo_order(23))
    client = woo_shop.client()
    write_back(client, 23, CNOTE, ON, may_have_written=False)
    again = write_back(client, 23, CNOTE, ON)
    assert (again.outcome, again.wrote) == ("done", False)
    assert len(woo_shop.notes(23)) == 1


def test_woo_a_lost_note_reply_then_a_retry_adds_no_second_note(woo_shop):
    woo_shop.add(woo_order(24))
    client = woo_shop.client(timeout_s=5)
    woo_shop.faults(lose_reply=1, stall_s=0)
    first = write_back(client, 24, CNOTE, ON, may_have_written=False)
    assert first.outcome == "retry" and first.http_status is None
    assert len(woo_shop.notes(24)) == 1 and _meta(woo_shop.order(24)) == []
    second = write_back(client, 24, CNOTE, ON, may_have_written=True)
    assert second.outcome == "done"
    assert len(woo_shop.notes(24)) == 1 and _meta(woo_shop.order(24)) == [CNOTE]


def test_woo_429_and_5xx_bursts_still_make_one_note(woo_shop):
    woo_shop.add(woo_order(25))
    woo_shop.faults(rate_limit=2, retry_after_s=0.1, fail_502=1)
    client = woo_shop.client()
    result = write_back(client, 25, CNOTE, ON, may_have_written=True)  # the 502 lands on a read: retried
    assert result.outcome == "done"
    assert len(woo_shop.notes(25)) == 1


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_woo_a_cancelled_order_is_never_marked_completed(woo_shop, status):
    woo_shop.add(woo_order(26, status=status))
    settings = WritebackSettings(enabled=True, complete_order=True)
    result = write_back(woo_shop.client(), 26, CNOTE, settings, may_have_written=False)
    assert result.outcome == "refused" and status in result.reason
    assert woo_shop.order(26)["status"] == status and woo_shop.notes(26) == []


def test_woo_wrong_keys_are_refused_with_woocommerces_words(woo_shop):
    woo_shop.add(woo_order(27))
    client = WooCommerceClient(woo_shop.url, "ck_nope", "cs_nope_0000")
    result = write_back(client, 27, CNOTE, ON)
    assert result.outcome == "refused" and result.http_status == 401
    assert result.shop_words == ("woocommerce_rest_authentication_error: Consumer key is invalid.",)


def test_woo_unknown_order_is_refused_with_its_404(woo_shop):
    result = write_back(woo_shop.client(), 424243, CNOTE, ON)
    assert result.outcome == "refused" and "424243" in result.reason
    assert result.http_status == 404 and result.calls == 1


def test_a_rate_limit_that_outlasts_the_clients_wait_is_a_retry_with_its_429(woo_shop):
    woo_shop.add(woo_order(28))
    woo_shop.faults(rate_limit=5, retry_after_s=120)  # longer than the client waits inside a call
    result = write_back(woo_shop.client(), 28, CNOTE, ON, may_have_written=False)
    assert (result.outcome, result.http_status) == ("retry", 429) and result.retry_after_s == 120
    assert woo_shop.notes(28) == []
