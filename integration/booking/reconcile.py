"""Reconcile: take in the orders a store's webhooks missed, exactly as a delivery would bring them.

``reconcile_store`` runs one pass (``integration.shop.reconcile.run_pass``) over the orders the shop
changed since the store's cursor (the first pass: ``reconcile.lookback_h`` back) and stores each order
the ledger lacks or holds older as a ``ledger.Delivery`` through ``ledger.ingest``: the same dedupe
(the receiver's key for a delivery without an event id: order id, topic and the body's hash), the same
"newest updated_at wins" and "ignored once booked", and later the same trigger rules in the worker.
The cursor moves only after a whole pass, and never backwards; a pass that fails or is stopped leaves
it, and the next pass sees those orders again (the ledger ignores what it already has).

``ReconcileLoop`` runs a pass per store every ``reconcile.every_s`` in the worker process.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from integration import ledger
from integration.config import Config, Store
from integration.shop.errors import ShopError
from integration.shop.reconcile import ReconcilePass, first_cursor, run_pass
from integration.shop.settings import client_for
from integration.shop.shopify import ShopifyClient
from integration.shop.woocommerce import WooCommerceClient
from integration.vocabulary import ShipmentStatus
from integration.webhooks import PLATFORMS
from integration.webhooks.intake import MAX_ORDER_REF, _event_id, _order_ref, _text, _time

log = logging.getLogger("integration.reconcile")

SOURCE_HEADER = "X-Integration-Source"  # stored with the delivery: "reconcile", not the shop's webhook
IDLE_CHECK_S = 5.0

Client = ShopifyClient | WooCommerceClient


class Stopped(Exception):
    """The worker is stopping: the pass ends between two orders, its cursor unchanged."""


def reconcile_stores(config: Config) -> dict[str, Store]:
    """The stores with an ``api:`` block (reconcile can run on them; the worker runs it when every_s > 0)."""
    return {sid: s for sid, s in config.stores.items() if s.shop_api is not None and s.shop_api.api is not None}


def delivery_for(store: Store, order: dict[str, Any], topic: str, now: datetime) -> ledger.Delivery:
    """``order`` (the webhook JSON) as the delivery of ``topic`` the receiver would have stored."""
    platform = PLATFORMS[store.platform]
    body = json.dumps(order, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    order_ref = _order_ref(order.get("id"))
    if order_ref is None:
        raise ValueError(f"the shop listed an order without a usable id: {str(order.get('id'))[:MAX_ORDER_REF]!r}")
    headers = {"Content-Type": "application/json", platform.topic_header: topic,
               platform.shop_header: store.shop, SOURCE_HEADER: "reconcile"}
    return ledger.Delivery(
        store_id=store.id, platform=platform.name, topic=topic,
        event_id=_event_id(platform, {}, order_ref, topic, body), order_ref=order_ref,
        order_number=_text(order.get(platform.number_field), MAX_ORDER_REF),
        order_updated_at=_time(order.get(platform.updated_at_field), platform.naive_times_are_utc),
        headers=headers, body=body, received_at=now)


def reconcile_store(config: Config, engine: Engine, store: Store, *, since: datetime | None = None,
                    client: Client | None = None, now: Callable[[], datetime] = ledger.utcnow,
                    stop: threading.Event | None = None) -> ReconcilePass:
    """One pass for ``store`` from ``since`` (default: its cursor, or ``lookback_h`` back); raises ShopError."""
    assert store.shop_api is not None and store.shop_api.api is not None
    kept = ledger.writeback.cursor(engine, store.id, ledger.writeback.RECONCILE)
    start = since or kept or first_cursor(now(), store.shop_api.reconcile.lookback_h)
    owned = client is None
    client = client or client_for(store.platform, store.shop_api.api)

    def wants(order_ref: str, updated_at: datetime | None) -> bool:
        if stop is not None and stop.is_set():
            raise Stopped()
        known = ledger.writeback.known_order(engine, store.id, order_ref)
        if known is None:
            return True
        status, held = known
        if status == ShipmentStatus.BOOKED or updated_at is None:
            return False
        return held is None or held < updated_at

    def ingest(order: dict[str, Any], topic: str) -> str:
        return str(ledger.ingest(engine, delivery_for(store, order, topic, now())))

    try:
        result = run_pass(client, start, ingest, wants=wants, now=now())
    except ShopError as exc:
        if since is None:  # the worker's pass: it waits every_s before the next try, from the same place
            ledger.writeback.set_cursor(engine, store.id, ledger.writeback.RECONCILE, kept or start, now(),
                                        detail={"failed": str(exc)[:500]})
        raise
    finally:
        if owned:
            client.close()
    position = max(result.next_cursor, kept) if kept is not None else result.next_cursor
    ledger.writeback.set_cursor(engine, store.id, ledger.writeback.RECONCILE, position, now(), detail={
        "since": start.isoformat(), "pages": result.pages, "seen": result.seen, "taken_in": result.ingested,
        "outcomes": dict(result.outcomes), "calls": result.calls})
    return result


class ReconcileLoop:
    """Runs a reconcile pass per store every ``reconcile.every_s`` (cursor kept in the ledger)."""

    def __init__(self, config: Config, engine: Engine, clock: Callable[[], datetime] | None = None):
        self.config = config
        self.engine = engine
        self.clock = clock or ledger.utcnow
        self.stores = {sid: s for sid, s in reconcile_stores(config).items() if s.shop_api.reconcile.enabled}
        self._clients: dict[str, Client] = {}

    def run(self, stop: threading.Event) -> None:
        """Pass over each store when it is due, until ``stop``; a pass in progress ends between orders."""
        log.info("reconcile loop: stores %s", ", ".join(f"{k} every {s.shop_api.reconcile.every_s}s"
                                                        for k, s in self.stores.items()))
        while not stop.is_set():
            stop.wait(min(self.run_due(stop), IDLE_CHECK_S))
        for client in self._clients.values():
            client.close()

    def run_due(self, stop: threading.Event) -> float:
        """Pass over every store that is due; seconds until the next one is."""
        soonest = float("inf")
        for store in self.stores.values():
            if stop.is_set():
                break
            every = timedelta(seconds=store.shop_api.reconcile.every_s)
            try:
                last = ledger.writeback.last_pass(self.engine, store.id, ledger.writeback.RECONCILE)
                now = self.clock()
                if last is not None and last + every > now:
                    soonest = min(soonest, (last + every - now).total_seconds())
                    continue
                client = self._clients.get(store.id) or self._clients.setdefault(
                    store.id, client_for(store.platform, store.shop_api.api))
                result = reconcile_store(self.config, self.engine, store, client=client, now=self.clock, stop=stop)
                log.info("store=%s reconcile: %d orders seen, %d taken in %s", store.id, result.seen,
                         result.ingested, dict(result.outcomes))
            except Stopped:
                log.info("store=%s reconcile stopped between orders; the next pass starts where this one did",
                         store.id)
                break
            except ShopError as exc:
                log.warning("store=%s reconcile failed, cursor kept: %s", store.id, exc)
            except SQLAlchemyError as exc:
                log.warning("store=%s reconcile: database unavailable (%s)", store.id, type(exc).__name__)
            soonest = min(soonest, every.total_seconds())
        return soonest
