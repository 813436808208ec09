"""The shop stand-ins on loopback ports, and small order builders, for the shop API tests.

Test modules bind the fixtures by name (``shopify_shop = shop_helpers.shopify_shop``) and import the
helpers. Servers start once per session and are reset before every test. Sleeping clients are not
used: rate limits are waited out for real, with short waits the stand-ins ask for.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from fixtures.expect import fixtures

from integration.serving import ServerThread, serve_in_thread
from integration.shop.shopify import ShopifyClient
from integration.shop.standin_shopify import DEFAULT_APPS, DEFAULT_TOKEN, create_shopify_standin
from integration.shop.standin_woocommerce import DEFAULT_KEYS, create_woocommerce_standin
from integration.shop.woocommerce import WooCommerceClient

CLIENT_ID, CLIENT_SECRET = next(iter(DEFAULT_APPS.items()))
CONSUMER_KEY, CONSUMER_SECRET = next(iter(DEFAULT_KEYS.items()))
SHOPIFY_ORDER = next(fx for fx in fixtures("shopify") if fx.name == "cod_jakarta_example").order
WOO_ORDER = next(fx for fx in fixtures("woocommerce") if fx.name == "cod_bandung_example").order


@dataclass
class Standin:
    """A stand-in served on a loopback port, with its control endpoints as methods."""

    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url

    def _post(self, path: str, body: Any = None) -> Any:
        response = requests.post(self.url + path, json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    def _get(self, path: str) -> Any:
        response = requests.get(self.url + path, timeout=5)
        response.raise_for_status()
        return response.json()

    def faults(self, **faults: Any) -> dict[str, Any]:
        return self._post("/_standin/faults", faults)

    def stats(self) -> dict[str, int]:
        return self._get("/_standin/stats")

    def reset(self) -> None:
        self._post("/_standin/reset")


class ShopifyShop(Standin):
    """The Shopify stand-in."""

    def add(self, *orders: dict[str, Any], locations: int = 1) -> None:
        self._post("/_standin/orders", [{"order": o, "locations": locations} for o in orders])

    def orders(self) -> list[dict[str, Any]]:
        return self._get("/_standin/orders")

    def fulfillments(self, order_id: int) -> list[dict[str, Any]]:
        return self._get("/_standin/fulfillments").get(str(order_id), [])

    def webhooks(self) -> list[dict[str, Any]]:
        return self._get("/_standin/webhooks")

    def cancel(self, order_id: int) -> None:
        self._post(f"/_standin/orders/{order_id}/cancel")

    def expire_tokens(self) -> None:
        self._post("/_standin/expire_tokens")

    def tokens_issued(self) -> int:
        return self._get("/_standin/tokens")["issued"]

    def client(self, **kwargs: Any) -> ShopifyClient:
        kwargs.setdefault("access_token", DEFAULT_TOKEN)
        return ShopifyClient(self.url, **kwargs)


class WooShop(Standin):
    """The WooCommerce stand-in."""

    def add(self, *orders: dict[str, Any]) -> None:
        self._post("/_standin/orders", list(orders))

    def state(self) -> dict[str, Any]:
        return self._get("/_standin/state")

    def notes(self, order_id: int) -> list[dict[str, Any]]:
        return self.state()["notes"].get(str(order_id), [])

    def order(self, order_id: int) -> dict[str, Any]:
        return next(o for o in self.state()["orders"] if o["id"] == order_id)

    def disable(self, hook_id: int) -> None:
        self._post(f"/_standin/webhooks/{hook_id}/disable")

    def client(self, **kwargs: Any) -> WooCommerceClient:
        return WooCommerceClient(self.url, CONSUMER_KEY, CONSUMER_SECRET, **kwargs)


def shopify_order(order_id: int, number: int, updated_at: datetime | None = None, **changes: Any) -> dict[str, Any]:
    """The example COD order with another id, number and update time."""
    order = copy.deepcopy(SHOPIFY_ORDER)
    order.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", order_number=number,
                 name=f"#{number}")
    if updated_at is not None:
        order["updated_at"] = updated_at.isoformat()
    order.update(changes)
    return order


def woo_order(order_id: int, modified: datetime | None = None, **changes: Any) -> dict[str, Any]:
    """The example WooCommerce COD order with another id and modification time (UTC)."""
    order = copy.deepcopy(WOO_ORDER)
    order.update(id=order_id, number=str(order_id))
    if modified is not None:
        stamp = modified.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        order.update(date_modified_gmt=stamp, date_created_gmt=stamp,
                     date_modified=stamp, date_created=stamp)
    order.update(changes)
    return order


def ago(**delta: float) -> datetime:
    """A UTC moment that long ago."""
    return datetime.now(UTC) - timedelta(**delta)


@pytest.fixture(scope="session")
def _shopify_server() -> Iterator[ServerThread]:
    # A short token lifetime and a small, quickly restored bucket, so expiry and throttling happen
    # within a test; restore 200 points/s keeps the waits they cause short.
    server = serve_in_thread(create_shopify_standin(token_ttl_s=3600, bucket_max=1000, restore_rate=200))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _woo_server() -> Iterator[ServerThread]:
    server = serve_in_thread(create_woocommerce_standin())
    yield server
    server.stop()


@pytest.fixture
def shopify_shop(_shopify_server: ServerThread) -> ShopifyShop:
    """The session's Shopify stand-in, empty and without faults."""
    shop = ShopifyShop(_shopify_server)
    shop.reset()
    return shop


@pytest.fixture
def woo_shop(_woo_server: ServerThread) -> WooShop:
    """The session's WooCommerce stand-in, empty and without faults."""
    shop = WooShop(_woo_server)
    shop.reset()
    return shop
