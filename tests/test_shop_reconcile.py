"""Reconcile passes over the shop stand-ins into the real ledger (SQLite and PostgreSQL).

The ingest callback here does what the webhook intake does with a delivery (a ledger.Delivery with a
derived event id), so the ledger's own dedupe decides; the integrator's worker wiring does the same.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import shop_helpers
import sqlalchemy as sa
from shop_helpers import ago, shopify_order, woo_order

from integration import ledger
from integration.shop.reconcile import OVERLAP, first_cursor, run_pass, shopify_topic, woocommerce_topic
from integration.webhooks.intake import _time
from integration.webhooks.shopify import SHOPIFY
from integration.webhooks.woocommerce import WOOCOMMERCE

shopify_shop = shop_helpers.shopify_shop
_shopify_server = shop_helpers._shopify_server
woo_shop = shop_helpers.woo_shop
_woo_server = shop_helpers._woo_server


def ledger_ingest(engine, store_id: str, platform: str):
    """ingest(order, topic) into the ledger as a delivery of that order state would be stored."""
    p = SHOPIFY if platform == "shopify" else WOOCOMMERCE

    def ingest(order, topic):
        updated = order.get(p.updated_at_field)
        return ledger.ingest(engine, ledger.Delivery(
            store_id=store_id, platform=platform, topic=topic, event_id=f"reconcile:{order['id']}:{updated}",
            order_ref=str(order["id"]), order_number=str(order.get(p.number_field)),
            order_updated_at=_time(updated, p.naive_times_are_utc), headers={},
            body=json.dumps(order).encode(), received_at=datetime.now(UTC)))

    return ingest


@pytest.fixture
def engine(database_url):
    engine = ledger.make_engine(database_url)
    ledger.ensure_schema(engine)
    yield engine
    engine.dispose()


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_shopify_orders_never_delivered_are_taken_in_once(shopify_shop, engine):
    shopify_shop.add(*[shopify_order(500 + i, 5000 + i, updated_at=ago(hours=5, minutes=i)) for i in range(5)])
    ingest = ledger_ingest(engine, "demo", "shopify")
    since = first_cursor(datetime.now(UTC), 72)
    first = run_pass(shopify_shop.client(), since, ingest)
    assert first.outcomes == {"stored": 5}
    assert sorted(s["order"] for s in ledger.list_shipments(engine)) == [str(500 + i) for i in range(5)]
    second = run_pass(shopify_shop.client(), since, ingest)
    assert second.outcomes == {"duplicate": 5}
    assert _count(engine, ledger.deliveries) == 5 and _count(engine, ledger.shipments) == 5


def test_woocommerce_orders_never_delivered_are_taken_in_once(woo_shop, engine):
    woo_shop.add(*[woo_order(600 + i, modified=ago(hours=3, minutes=i)) for i in range(4)])
    ingest = ledger_ingest(engine, "demo-woo", "woocommerce")
    since = first_cursor(datetime.now(UTC), 72)
    assert run_pass(woo_shop.client(), since, ingest).outcomes == {"stored": 4}
    assert run_pass(woo_shop.client(), since, ingest).outcomes == {"duplicate": 4}
    assert _count(engine, ledger.shipments) == 4


def test_the_cursor_carries_across_restarts_and_old_orders_are_not_read_again(shopify_shop, engine):
    shopify_shop.add(*[shopify_order(700 + i, 7000 + i, updated_at=ago(hours=2)) for i in range(3)])
    ingest = ledger_ingest(engine, "demo", "shopify")
    first = run_pass(shopify_shop.client(), ago(hours=72), ingest)
    assert first.seen == 3
    assert first.next_cursor <= datetime.now(UTC) - OVERLAP
    shopify_shop.add(shopify_order(710, 7010, updated_at=ago(seconds=5)))  # arrives after the pass
    # A new client, as after a restart: only the cursor was kept.
    second = run_pass(shopify_shop.client(), first.next_cursor, ingest)
    assert second.seen == 1 and second.outcomes == {"stored": 1}
    assert _count(engine, ledger.shipments) == 4


def test_a_newer_state_replaces_an_older_snapshot_like_a_later_delivery(woo_shop, engine):
    woo_shop.add(woo_order(800, modified=ago(hours=4)))
    ingest = ledger_ingest(engine, "demo-woo", "woocommerce")
    client = woo_shop.client()
    run_pass(client, ago(hours=72), ingest)
    client.update_order(800, meta={"gift": "yes"})  # the shop changes the order: date_modified moves
    again = run_pass(client, ago(hours=72), ingest)
    assert again.outcomes == {"stored": 1}
    assert _count(engine, ledger.deliveries) == 2 and _count(engine, ledger.shipments) == 1


def test_unchanged_orders_cost_only_the_list_pages_when_the_ledger_has_them(shopify_shop):
    shopify_shop.add(*[shopify_order(10_000 + i, 20_000 + i, updated_at=ago(hours=1)) for i in range(600)])
    taken = []
    result = run_pass(shopify_shop.client(), ago(hours=2), lambda o, t: taken.append(o),
                      wants=lambda ref, updated: False)
    assert (result.seen, result.pages, result.calls, taken) == (600, 3, 3, [])
    assert shopify_shop.stats().get("JneOrder", 0) == 0


def test_a_pass_obeys_rate_limits_on_the_way(shopify_shop):
    shopify_shop.add(*[shopify_order(900 + i, 9000 + i, updated_at=ago(hours=1)) for i in range(3)])
    shopify_shop.faults(rate_limit=2, retry_after_s=0.1, throttled=2)
    taken = []
    run_pass(shopify_shop.client(), ago(hours=2), lambda o, t: taken.append((o["id"], t)))
    assert sorted(taken) == [(900 + i, "orders/updated") for i in range(3)]


@pytest.mark.parametrize(("changes", "topic"), [
    ({"cancelled_at": "2025-03-14T11:00:00+07:00"}, "orders/cancelled"),
    ({"financial_status": "paid"}, "orders/paid"),
    ({"updated_at": "2025-03-14T10:21:33+07:00"}, "orders/create"),
    ({"updated_at": "2025-03-14T12:00:00+07:00"}, "orders/updated"),
])
def test_shopify_topic_is_the_one_a_delivery_of_that_state_carries(changes, topic):
    order = shopify_order(1, 1001)
    order.update(changes)
    assert shopify_topic(order) == topic


def test_woocommerce_topic_is_created_until_the_order_changes():
    order = woo_order(1, modified=ago(hours=1))
    assert woocommerce_topic(order) == "order.created"
    assert woocommerce_topic(dict(order, date_modified_gmt="2099-01-01T00:00:00")) == "order.updated"
