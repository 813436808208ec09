"""The shop stand-ins on loopback ports, and small order builders, for the shop API tests.

Test modules bind the fixtures by name (``shopify_shop = shop_helpers.shopify_shop``) and import the
helpers. Servers start once per session and are reset before every test. Sleeping clients are not
used: rate limits are waited out for real, with short waits the stand-ins ask for.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import yaml
from fixtures.expect import fixtures
from fixtures.sign import shopify_headers, woocommerce_headers
from jne_helpers import TEST_API_KEY

from integration import ledger
from integration.booking.worker import Worker
from integration.config import Config, load_config
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


# -- the whole product with a shop API: configuration, signed deliveries, the worker with its loops ---

ROOT = Path(__file__).resolve().parents[1]
ORDERS_DIR = ROOT / "tests" / "fixtures" / "orders"
STORE_FACTS = yaml.safe_load((ORDERS_DIR / "stores.yaml").read_text(encoding="utf-8"))["toko-contoh"]
WEBHOOK_SECRETS = {"shopify": "shp-webhook-secret-writeback-91", "woocommerce": "wc-webhook-secret-writeback-92"}
SHOP_DOMAINS = {"shopify": "toko-contoh.myshopify.com", "woocommerce": "https://toko-contoh.example/"}
STORE_IDS = {"shopify": "toko-shopify", "woocommerce": "toko-woo"}
FAST = {"concurrency": 4, "max_attempts": 8, "backoff_base_s": 0.05, "backoff_max_s": 0.5,
        "lease_s": 5, "poll_s": 0.05}


def shopify_api(shop: ShopifyShop, *, client_credentials: bool = False, **more: Any) -> dict[str, Any]:
    """An ``api:`` block for the Shopify stand-in: its static token, or its app's client credentials."""
    auth = ({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET} if client_credentials
            else {"access_token": DEFAULT_TOKEN})
    return {"url": shop.url, **auth, **more}


def woo_api(shop: WooShop, **more: Any) -> dict[str, Any]:
    """An ``api:`` block for the WooCommerce stand-in with its consumer key and secret."""
    return {"url": shop.url, "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET, **more}


def shop_store(platform: str, api: dict[str, Any] | None, **blocks: Any) -> dict[str, Any]:
    """A ``stores:`` entry with the facts the fixture orders were written for, and ``api`` (None: no block)."""
    facts = {k: v for k, v in STORE_FACTS.items() if k not in ("shop", "source")}
    facts["lookups"] = {k: str(ORDERS_DIR / v) for k, v in facts["lookups"].items()}
    block = {"platform": platform, "shop": SHOP_DOMAINS[platform], "webhook_secret": WEBHOOK_SECRETS[platform],
             "mapping": str(ROOT / "mappings" / f"{platform}.yaml"), **facts, **blocks}
    if api is not None:
        block["api"] = api
    return block


def shop_config(directory: Path, database_url: str, jne_url: str, stores: dict[str, Any],
                api_key: str = TEST_API_KEY, **worker: Any) -> Config:
    """Write ``directory/integration.yaml`` with ``stores`` (ids -> blocks) and load it."""
    doc = {"database_url": database_url,
           "jne": {"url": jne_url, "username": "TESTAPI", "api_key": api_key},
           "stores": stores, "worker": {**FAST, **worker}}
    path = Path(directory) / "integration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return load_config(path)


def send(base_url: str, platform: str, order: dict[str, Any], topic: str | None = None) -> requests.Response:
    """POST ``order`` to the served app as the platform delivers it, signed with the store's secret."""
    body = json.dumps(order).encode()
    if platform == "shopify":
        headers = shopify_headers(body, WEBHOOK_SECRETS[platform], SHOP_DOMAINS[platform], topic or "orders/create")
    else:
        headers = woocommerce_headers(body, WEBHOOK_SECRETS[platform], SHOP_DOMAINS[platform],
                                      topic or "order.created")
    response = requests.post(f"{base_url}/webhooks/{platform}", data=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response


def wait_until(check: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll until ``check()`` is truthy (waiting for work to finish, not measuring it)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "the work did not finish"
        time.sleep(0.05)


@contextmanager
def running_worker(config: Config, engine: sa.Engine, worker_id: str = "w1") -> Iterator[Worker]:
    """``Worker.run`` in a thread, as ``serve`` runs it (with its write-back and reconcile loops)."""
    worker = Worker(config, engine, worker_id=worker_id)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the worker did not stop"


def writeback_states(engine: sa.Engine, config: Config) -> dict[str, str]:
    """``order ref -> writeback`` as ``status --json`` shows it."""
    from integration.booking.writeback import writeback_stores

    return {r["order"]: r["writeback"] for r in ledger.list_shipments(
        engine, writeback_stores=set(writeback_stores(config)))}


def ingest_order(engine: sa.Engine, platform: str, order: dict[str, Any], topic: str | None = None) -> str:
    """Store ``order`` as the webhook receiver would (a fresh event id); its order ref."""
    number = order.get("name") if platform == "shopify" else order.get("number")
    raw = order.get("updated_at") if platform == "shopify" else order.get("date_modified_gmt")
    moment = datetime.fromisoformat(raw) if raw else None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ledger.ingest(engine, ledger.Delivery(
        store_id=STORE_IDS[platform], platform=platform,
        topic=topic or ("orders/create" if platform == "shopify" else "order.created"),
        event_id=f"ev-{order['id']}-{time.monotonic_ns()}", order_ref=str(order["id"]),
        order_number=str(number) if number is not None else None, order_updated_at=moment,
        headers={"Content-Type": "application/json"}, body=json.dumps(order).encode(),
        received_at=datetime.now(UTC)))
    return str(order["id"])
