"""Take in orders the webhooks missed: one pass over the orders a shop changed since a cursor.

``run_pass(client, since, ingest, wants=...)`` pages through the shop's orders updated since ``since``
(Shopify: ``orders(query: "updated_at:>=...")`` with cursor pages; WooCommerce:
``orders?modified_after=...&dates_are_gmt=true&per_page=100&page=N``) and calls
``ingest(order, topic)`` with each order in the shape a webhook delivers it and the topic that delivery
would have carried, so the ledger applies its usual dedupe, newest-wins and trigger rules.

``wants(order_ref, updated_at)`` (optional) is asked first: "does the ledger lack this order or hold
it older?". On Shopify it saves fetching whole orders the ledger already has (the list page is light;
a whole order is one more query), so a pass over 10,000 unchanged orders is 40 list queries and no
ingest. WooCommerce lists whole orders anyway; ``wants`` still spares the ingest.

The cursor: the caller keeps ``next_cursor`` per store (the first pass starts ``lookback_h`` back, see
``first_cursor``). It is this pass's start minus ``OVERLAP``, not the newest time seen, so an order
changed while the pass ran, or stamped by a shop clock a little behind ours, is seen next time; the
ledger ignores the repeats. A pass that fails (ShopError) leaves the cursor where it was.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from integration.shop.shopify import ShopifyClient
from integration.shop.woocommerce import WooCommerceClient

__all__ = ["OVERLAP", "ReconcilePass", "first_cursor", "run_pass", "shopify_topic", "woocommerce_topic"]

log = logging.getLogger("integration.shop.reconcile")

OVERLAP = timedelta(minutes=5)

Ingest = Callable[[dict[str, Any], str], Any]
Wants = Callable[[str, datetime | None], bool]


@dataclass
class ReconcilePass:
    """What one pass did; ``outcomes`` counts what ``ingest`` returned (e.g. stored / duplicate / ignored)."""

    since: datetime
    next_cursor: datetime
    pages: int = 0
    seen: int = 0
    fetched: int = 0
    ingested: int = 0
    calls: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def first_cursor(now: datetime, lookback_h: float) -> datetime:
    """Where a store's first pass starts: ``lookback_h`` hours before ``now``."""
    return _utc(now) - timedelta(hours=lookback_h)


def shopify_topic(order: dict[str, Any]) -> str:
    """The Shopify topic a delivery of this order state would carry.

    Cancelled -> orders/cancelled; paid -> orders/paid (the topic a prepaid order books on, also with
    mappings that book on orders/paid alone); otherwise orders/create while it was never changed after
    creation, else orders/updated.
    """
    if order.get("cancelled_at"):
        return "orders/cancelled"
    if order.get("financial_status") == "paid":
        return "orders/paid"
    if order.get("created_at") and order.get("created_at") == order.get("updated_at"):
        return "orders/create"
    return "orders/updated"


def woocommerce_topic(order: dict[str, Any]) -> str:
    """order.created while the order was never modified after creation, else order.updated."""
    created, modified = order.get("date_created_gmt"), order.get("date_modified_gmt")
    return "order.created" if created and created == modified else "order.updated"


def run_pass(client: ShopifyClient | WooCommerceClient, since: datetime, ingest: Ingest, *,
             wants: Wants | None = None, now: datetime | None = None) -> ReconcilePass:
    """One pass over the orders changed since ``since``; raises ShopError (cursor unchanged) on failure."""
    since = _utc(since)
    started = _utc(now or datetime.now(UTC))
    result = ReconcilePass(since=since, next_cursor=max(since, started - OVERLAP))
    before = client.transport.thread_calls()
    if isinstance(client, ShopifyClient):
        for page in client.orders_updated_since(since):
            result.pages += 1
            for stub in page:
                result.seen += 1
                if wants is not None and not wants(str(stub.id), stub.updated_at):
                    continue
                order = client.order(stub.gid)
                result.fetched += 1
                _take(result, ingest, order, shopify_topic(order))
    else:
        seen_ids: set[Any] = set()
        for page in client.orders_modified_after(since):
            result.pages += 1
            for order in page:
                key = (order.get("id"), order.get("date_modified_gmt"))
                if key in seen_ids:  # a page shifted by an order changed meanwhile: a repeat
                    continue
                seen_ids.add(key)
                result.seen += 1
                if wants is not None and not wants(str(order.get("id")), _time(order.get("date_modified_gmt"))):
                    continue
                result.fetched += 1
                _take(result, ingest, order, woocommerce_topic(order))
    result.calls = client.transport.thread_calls() - before
    log.info("%s reconcile since %s: %d pages, %d orders seen, %d taken in %s, %d calls; next from %s",
             client.platform, since.isoformat(), result.pages, result.seen, result.ingested,
             dict(result.outcomes), result.calls, result.next_cursor.isoformat())
    return result


def _take(result: ReconcilePass, ingest: Ingest, order: dict[str, Any], topic: str) -> None:
    outcome = ingest(order, topic)
    result.ingested += 1
    result.outcomes[str(outcome)] += 1


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _time(value: Any) -> datetime | None:
    """WooCommerce ``*_gmt`` times carry no offset but are UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return _utc(datetime.fromisoformat(value))
    except ValueError:
        return None
