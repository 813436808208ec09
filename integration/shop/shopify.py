"""A small client for Shopify's GraphQL Admin API (the only Shopify API this project calls).

``POST {url}/admin/api/{version}/graphql.json`` with the ``X-Shopify-Access-Token`` header; every value
travels in ``variables``, never in the query text. The token is either a static Admin API token, or
one obtained with the client credentials grant (``POST {url}/admin/oauth/access_token``, form fields
``grant_type=client_credentials``, ``client_id``, ``client_secret``; the answer carries
``access_token`` and ``expires_in``), renewed shortly before it expires and once more when a call
answers 401.

Rate limits, from Shopify's documents: the GraphQL Admin API answers HTTP 200 with
``errors[].extensions.code == "THROTTLED"`` and ``extensions.cost`` (``requestedQueryCost`` and
``throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}``) when the app's bucket is empty;
the wait is ``(requested - available) / restoreRate`` seconds. A 429 with ``Retry-After`` is honoured
too. Both are waited out inside the call (``http.Transport``) up to ``max_wait_s``.

Errors: see ``errors``. ``userErrors`` of a mutation and ``ACCESS_DENIED`` are refusals, with
Shopify's words kept; a missing scope names the scope Shopify asked for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from integration.logging_setup import install_redaction
from integration.shop.errors import ShopAuthRefused, ShopNotFound, ShopRefused, ShopRetryable
from integration.shop.http import Secret, Transport, retry_after_seconds
from integration.shop.shopify_orders import (
    LINE_ITEMS_QUERY,
    LINES_PER_QUERY,
    ORDER_QUERY,
    ORDERS_UPDATED_QUERY,
    order_gid,
    to_webhook_line,
    to_webhook_order,
)

__all__ = ["DEFAULT_VERSION", "Fulfillment", "FulfillmentOrder", "OrderFulfillment", "OrderStub",
           "ShopifyClient", "Tracking"]

log = logging.getLogger("integration.shop.shopify")

PLATFORM = "shopify"
DEFAULT_VERSION = "2025-10"
GRAPHQL_PATH = "/admin/api/{version}/graphql.json"
TOKEN_PATH = "/admin/oauth/access_token"
DEFAULT_TOKEN_LIFETIME_S = 86399  # Shopify's client-credentials tokens live 24 hours
RENEW_MARGIN_S = 300.0            # renew this long before expiry (or a tenth of the lifetime if shorter)
ORDERS_PAGE = 250                 # the light page of orders.updated_since: 250 is Shopify's maximum
FULFILLABLE = ("OPEN", "IN_PROGRESS")  # FulfillmentOrderStatus values fulfillmentCreate accepts
# The fulfillment query asks for no line items: an OPEN or IN_PROGRESS fulfillment order has items left
# by definition, and leaving them out keeps the query's requested cost low (Shopify admits a query only
# when its bucket holds the requested cost: about 60 points here instead of several hundred).


@dataclass(frozen=True)
class Tracking:
    """Tracking information of a fulfillment (``FulfillmentTrackingInput`` / ``FulfillmentTrackingInfo``)."""

    company: str | None
    number: str | None
    url: str | None = None


@dataclass(frozen=True)
class FulfillmentOrder:
    """A fulfillment order of an order: what is left to ship from one location."""

    id: str
    status: str
    location_id: str | None
    open: bool  # OPEN or IN_PROGRESS: items remain (a fulfillment order with none left is CLOSED)


@dataclass(frozen=True)
class Fulfillment:
    """A fulfillment the shop shows, with its tracking numbers."""

    id: str
    status: str
    tracking: tuple[Tracking, ...]

    def has_number(self, number: str) -> bool:
        """True when one of its tracking numbers is ``number``."""
        return any((t.number or "").strip() == number for t in self.tracking)


@dataclass(frozen=True)
class OrderFulfillment:
    """What one query tells about an order's fulfilment: open work and what is already shipped."""

    order_id: str
    name: str | None
    cancelled_at: str | None
    closed: bool
    fulfillment_orders: tuple[FulfillmentOrder, ...]
    fulfillments: tuple[Fulfillment, ...]

    @property
    def open_fulfillment_orders(self) -> tuple[FulfillmentOrder, ...]:
        """Fulfillment orders ``fulfillmentCreate`` can still fulfil (open or in progress, items left)."""
        return tuple(fo for fo in self.fulfillment_orders if fo.open)


@dataclass(frozen=True)
class OrderStub:
    """An order in a light page: enough to decide whether to fetch it whole."""

    id: int
    gid: str
    name: str | None
    updated_at: datetime | None


_FULFILLMENT_QUERY = """
query JneOrderFulfillment($id: ID!) {
  order(id: $id) {
    id name cancelledAt closed
    fulfillmentOrders(first: 20) {
      nodes { id status assignedLocation { location { id } } }
    }
    fulfillments(first: 10) { id status trackingInfo(first: 5) { company number url } }
  }
}
"""

_FULFILLMENT_CREATE = """
mutation JneFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo(first: 10) { company number url } }
    userErrors { field message }
  }
}
"""

_WEBHOOKS_QUERY = """
query JneWebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri format }
  }
}
"""

_WEBHOOK_CREATE = """
mutation JneWebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri format }
    userErrors { field message }
  }
}
"""


class _CostBucket:
    """Our estimate of the shop's query-cost bucket, so concurrent callers queue instead of being THROTTLED.

    Each response's ``throttleStatus`` resets the estimate (less the cost of requests still in flight);
    each request first reserves the cost its operation asked for last time, and waits for the bucket
    to refill at ``restoreRate`` when the estimate is short. Before the first response nothing waits.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known = False
        self._available = self._maximum = self._restore = 0.0
        self._at = 0.0
        self._in_flight = 0.0
        self._costs: dict[str, float] = {}

    def reserve(self, what: str) -> tuple[float, float]:
        """(cost reserved, seconds to wait before sending)."""
        with self._lock:
            cost = self._costs.get(what, 10.0)
            self._in_flight += cost
            if not self._known or self._restore <= 0:
                return cost, 0.0
            now = time.monotonic()
            self._available = min(self._maximum, self._available + (now - self._at) * self._restore)
            self._at = now
            self._available -= cost
            return cost, max(0.0, -self._available / self._restore)

    def settle(self, what: str, reserved: float, cost: Any) -> None:
        """The request answered: forget its reservation, learn its cost and the shop's bucket."""
        with self._lock:
            self._in_flight = max(0.0, self._in_flight - reserved)
            if not isinstance(cost, dict):
                return
            try:
                status = cost["throttleStatus"]
                self._available = float(status["currentlyAvailable"]) - self._in_flight
                self._maximum = float(status["maximumAvailable"])
                self._restore = float(status["restoreRate"])
                self._costs[what] = float(cost.get("requestedQueryCost") or self._costs.get(what, 10.0))
            except (KeyError, TypeError, ValueError):
                return
            self._at = time.monotonic()
            self._known = True


class ShopifyClient:
    """One shop's GraphQL Admin API; thread-safe; rate limits waited out, writes never resent blindly."""

    platform = PLATFORM

    def __init__(self, url: str, *, version: str = DEFAULT_VERSION, access_token: str | None = None,
                 client_id: str | None = None, client_secret: str | None = None, timeout_s: float = 15.0,
                 max_wait_s: float = 30.0, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, renew_margin_s: float = RENEW_MARGIN_S):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Shopify api.url must be https://<shop>.myshopify.com, got {url[:100]!r}")
        if not access_token and not (client_id and client_secret):
            raise ValueError("Shopify needs api.access_token, or api.client_id with api.client_secret")
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.version = version
        self.endpoint = self.url + GRAPHQL_PATH.format(version=version)
        self._static = Secret(access_token) if access_token else None
        self.client_id = client_id
        self._client_secret = Secret(client_secret or "")
        self._issued: Secret | None = None
        self._expires_at = 0.0
        self._token_lock = threading.Lock()
        self.renew_margin_s = renew_margin_s
        self.renewals = 0  # tokens obtained with the client credentials grant
        self.last_cost: dict[str, Any] | None = None
        self._bucket = _CostBucket()
        self._local = threading.local()
        self._sleep = sleep
        self.transport = Transport(PLATFORM, timeout_s=timeout_s, max_wait_s=max_wait_s,
                                   secrets=self._secret_values, session=session, sleep=sleep, base_url=self.url)

    def __repr__(self) -> str:
        auth = "access_token" if self._static else f"client_credentials(client_id={self.client_id!r})"
        return f"ShopifyClient(url={self.url!r}, version={self.version!r}, auth={auth})"

    @property
    def calls(self) -> int:
        """HTTP requests sent so far from every thread (token requests included)."""
        return self.transport.calls

    def close(self) -> None:
        """Close the pooled connections."""
        self.transport.session.close()

    # -- operations ------------------------------------------------------------------------

    def order_fulfillment(self, order_id: str | int) -> OrderFulfillment:
        """The order's fulfillment orders and its fulfillments with tracking, in one query."""
        gid = order_gid(order_id)
        order = self.graphql(_FULFILLMENT_QUERY, {"id": gid}, what="order fulfillment").get("order")
        if order is None:
            raise ShopNotFound(f"Shopify has no order {gid} (deleted, or older than 60 days without read_all_orders)",
                               platform=PLATFORM)
        fos = []
        for node in _nodes(order.get("fulfillmentOrders")):
            location = ((node.get("assignedLocation") or {}).get("location") or {}).get("id")
            status = str(node.get("status") or "")
            fos.append(FulfillmentOrder(id=node["id"], status=status, location_id=location,
                                        open=status in FULFILLABLE))
        fulfillments = tuple(_fulfillment(f) for f in order.get("fulfillments") or [])
        return OrderFulfillment(order_id=gid, name=order.get("name"), cancelled_at=order.get("cancelledAt"),
                                closed=bool(order.get("closed")), fulfillment_orders=tuple(fos),
                                fulfillments=fulfillments)

    def order_fulfillment_orders(self, order_id: str | int) -> tuple[FulfillmentOrder, ...]:
        """The order's fulfillment orders that can still be fulfilled."""
        return self.order_fulfillment(order_id).open_fulfillment_orders

    def fulfillments_with_tracking(self, order_id: str | int) -> tuple[Fulfillment, ...]:
        """The fulfillments the shop shows for the order, with their tracking numbers."""
        return self.order_fulfillment(order_id).fulfillments

    def create_fulfillment(self, fulfillment_order_ids: list[str], tracking: Tracking,
                           notify_customer: bool) -> Fulfillment:
        """``fulfillmentCreate`` for whole fulfillment orders with ``trackingInfo``; userErrors refuse.

        Never resent after a fault that may have reached Shopify (``ShopRetryable.maybe_done``): the
        caller looks at the order's fulfillments before trying again.
        """
        info = {"company": tracking.company, "number": tracking.number}
        if tracking.url:
            info["url"] = tracking.url
        variables = {"fulfillment": {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": i} for i in fulfillment_order_ids],
            "trackingInfo": info,
            "notifyCustomer": bool(notify_customer),
        }}
        payload = self.graphql(_FULFILLMENT_CREATE, variables, write=True, what="fulfillmentCreate")
        result = payload.get("fulfillmentCreate") or {}
        errors = result.get("userErrors") or []
        if errors:
            raise ShopRefused("Shopify refused the fulfillment", platform=PLATFORM,
                              shop_words=[_user_error(e) for e in errors])
        if not result.get("fulfillment"):
            raise ShopRetryable("Shopify answered fulfillmentCreate without a fulfillment", platform=PLATFORM,
                                maybe_done=True)
        return _fulfillment(result["fulfillment"])

    def orders_updated_since(self, since: datetime, page_size: int = ORDERS_PAGE) -> Iterator[list[OrderStub]]:
        """Pages of orders updated at or after ``since`` (oldest first), following Shopify's cursors."""
        query = f"updated_at:>='{_iso_z(since)}'"  # a search-syntax string, passed as a variable
        after: str | None = None
        while True:
            page = self.graphql(ORDERS_UPDATED_QUERY, {"first": page_size, "after": after, "query": query},
                                what="orders updated since")["orders"]
            yield [OrderStub(id=int(n["legacyResourceId"]), gid=n["id"], name=n.get("name"),
                             updated_at=_parse_time(n.get("updatedAt"))) for n in page.get("nodes") or []]
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = info["endCursor"]

    def order(self, order_id: str | int) -> dict[str, Any]:
        """The whole order in the REST/webhook shape (``shopify_orders.to_webhook_order``)."""
        gid = order_gid(order_id)
        node = self.graphql(ORDER_QUERY, {"id": gid, "lines": LINES_PER_QUERY}, what="order").get("order")
        if node is None:
            raise ShopNotFound(f"Shopify has no order {gid}", platform=PLATFORM)
        order = to_webhook_order(node)
        info = (node.get("lineItems") or {}).get("pageInfo") or {}
        while info.get("hasNextPage") and info.get("endCursor"):
            more = self.graphql(LINE_ITEMS_QUERY, {"id": gid, "lines": LINES_PER_QUERY, "after": info["endCursor"]},
                                what="order line items")["order"]["lineItems"]
            order["line_items"] += [to_webhook_line(n) for n in _nodes(more)]
            info = more.get("pageInfo") or {}
        return order

    def webhook_subscriptions(self) -> list[dict[str, Any]]:
        """Every webhook subscription of this app: ``{id, topic, uri, format}``."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = self.graphql(_WEBHOOKS_QUERY, {"first": 100, "after": after},
                                what="webhook subscriptions")["webhookSubscriptions"]
            found += page.get("nodes") or []
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return found
            after = info["endCursor"]

    def create_webhook_subscription(self, topic: str, uri: str) -> dict[str, Any]:
        """``webhookSubscriptionCreate`` for ``topic`` (e.g. ORDERS_CREATE) delivering JSON to ``uri``."""
        payload = self.graphql(_WEBHOOK_CREATE, {"topic": topic, "webhookSubscription": {"uri": uri, "format": "JSON"}},
                               write=True, what="webhookSubscriptionCreate")
        result = payload.get("webhookSubscriptionCreate") or {}
        errors = result.get("userErrors") or []
        if errors:
            raise ShopRefused(f"Shopify refused the {topic} subscription", platform=PLATFORM,
                              shop_words=[_user_error(e) for e in errors])
        return result.get("webhookSubscription") or {}

    # -- the GraphQL exchange ----------------------------------------------------------------

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, write: bool = False,
                what: str = "query") -> dict[str, Any]:
        """POST one GraphQL document with ``variables``; the ``data`` object, or a ShopError."""
        body = {"query": query, "variables": variables or {}}
        return self.transport.run(lambda: self._exchange(body, write, what), what=what)

    def _exchange(self, body: dict[str, Any], write: bool, what: str) -> dict[str, Any]:
        renewed = False
        while True:
            token = self._token()
            reserved, wait = self._bucket.reserve(what)
            if wait > 0:
                self._sleep(min(wait, self.transport.max_wait_s))
            try:
                response = self.transport.send("POST", self.endpoint, write=write, json=body, headers={
                    "X-Shopify-Access-Token": token, "Content-Type": "application/json",
                    "Accept": "application/json"})
                if response.status_code == 401 and self._static is None and not renewed:
                    # An expired or revoked token: Shopify did not run the request; renew once, resend.
                    self._forget(token)
                    renewed = True
                    continue
                return self._read(response, write, what)
            finally:
                cost, self._local.cost = getattr(self._local, "cost", None), None
                self._bucket.settle(what, reserved, cost)

    def _read(self, response: requests.Response, write: bool, what: str) -> dict[str, Any]:
        status = response.status_code
        words = _shop_words(response, self.transport.mask)
        if status == 429:
            raise ShopRetryable(f"Shopify rate limit (HTTP 429) on {what}", platform=PLATFORM, http_status=429,
                                shop_words=words, throttled=True,
                                retry_after_s=retry_after_seconds(response.headers.get("Retry-After")) or 1.0)
        if status >= 500:
            raise ShopRetryable(f"Shopify answered HTTP {status} on {what}", platform=PLATFORM, http_status=status,
                                shop_words=words, maybe_done=write)
        if status in (401, 403):
            hint = ("the access token is not valid for this shop" if status == 401 else
                    "the app lacks an access scope this call needs (read_orders, read_all_orders, "
                    "read/write_merchant_managed_fulfillment_orders)")
            raise ShopAuthRefused(f"Shopify refused {what} (HTTP {status}): {hint}", platform=PLATFORM,
                                  http_status=status, shop_words=words)
        if status == 404:
            raise ShopNotFound(f"no Shopify Admin API at {self.endpoint} (HTTP 404): check api.url and api.version",
                               platform=PLATFORM, http_status=404, shop_words=words)
        if status != 200:
            raise ShopRefused(f"Shopify answered HTTP {status} on {what}", platform=PLATFORM, http_status=status,
                              shop_words=words)
        try:
            payload = response.json()
        except ValueError:
            raise ShopRetryable(f"Shopify answered {what} with a body that is not JSON", platform=PLATFORM,
                                http_status=status, maybe_done=write) from None
        if not isinstance(payload, dict):
            raise ShopRetryable(f"Shopify answered {what} with JSON that is not an object", platform=PLATFORM,
                                http_status=status, maybe_done=write)
        cost = (payload.get("extensions") or {}).get("cost")
        if isinstance(cost, dict):
            self.last_cost = cost
            self._local.cost = cost
        errors = payload.get("errors")
        if errors:
            self._graphql_errors(errors, cost, write, what)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ShopRetryable(f"Shopify answered {what} without data", platform=PLATFORM, maybe_done=write)
        return data

    def _graphql_errors(self, errors: Any, cost: Any, write: bool, what: str) -> None:
        items = errors if isinstance(errors, list) else [{"message": errors}]
        words = [self.transport.mask(str(e.get("message") if isinstance(e, dict) else e))[:500] for e in items]
        codes = {str(((e.get("extensions") or {}) if isinstance(e, dict) else {}).get("code") or "") for e in items}
        if "THROTTLED" in codes:
            raise ShopRetryable(f"Shopify throttled {what} (query cost bucket empty)", platform=PLATFORM,
                                shop_words=words, throttled=True, retry_after_s=_throttle_wait(cost))
        if "ACCESS_DENIED" in codes:
            raise ShopAuthRefused(f"Shopify denied {what}: the app lacks an access scope", platform=PLATFORM,
                                  shop_words=words)
        if "INTERNAL_SERVER_ERROR" in codes:
            raise ShopRetryable(f"Shopify had an internal error on {what}", platform=PLATFORM, shop_words=words,
                                maybe_done=write)
        raise ShopRefused(f"Shopify refused {what}", platform=PLATFORM, shop_words=words)

    # -- tokens --------------------------------------------------------------------------------

    def _secret_values(self) -> list[str]:
        values = [self._client_secret.reveal()]
        if self._static is not None:
            values.append(self._static.reveal())
        if self._issued is not None:
            values.append(self._issued.reveal())
        return values

    def _token(self) -> str:
        if self._static is not None:
            return self._static.reveal()
        with self._token_lock:
            if self._issued is None or time.monotonic() >= self._expires_at:
                self._renew()
            assert self._issued is not None
            return self._issued.reveal()

    def _forget(self, token: str) -> None:
        with self._token_lock:
            if self._issued is not None and self._issued.reveal() == token:
                self._issued = None

    def _renew(self) -> None:
        """The client credentials grant; called with the token lock held."""
        url = self.url + TOKEN_PATH
        form = {"grant_type": "client_credentials", "client_id": self.client_id or "",
                "client_secret": self._client_secret.reveal()}

        def once() -> requests.Response:
            response = self.transport.send("POST", url, write=False, data=form, headers={"Accept": "application/json"})
            if response.status_code == 429:
                raise ShopRetryable("Shopify rate limit on the token request", platform=PLATFORM, http_status=429,
                                    throttled=True,
                                    retry_after_s=retry_after_seconds(response.headers.get("Retry-After")) or 1.0)
            if response.status_code >= 500:
                raise ShopRetryable(f"Shopify answered HTTP {response.status_code} to the token request",
                                    platform=PLATFORM, http_status=response.status_code)
            return response

        response = self.transport.run(once, what="access token")
        words = _shop_words(response, self.transport.mask)
        if response.status_code != 200:
            raise ShopAuthRefused(f"Shopify would not issue an access token (HTTP {response.status_code}): check "
                                  "api.client_id and api.client_secret, and that the app is installed on this shop",
                                  platform=PLATFORM, http_status=response.status_code, shop_words=words)
        try:
            payload = response.json()
            token = str(payload["access_token"])
        except (ValueError, KeyError, TypeError):
            raise ShopRetryable("Shopify's token answer had no access_token", platform=PLATFORM) from None
        try:
            lifetime = float(payload.get("expires_in") or DEFAULT_TOKEN_LIFETIME_S)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME_S
        margin = min(self.renew_margin_s, lifetime / 10)
        install_redaction([token])
        self._issued = Secret(token)
        self._expires_at = time.monotonic() + max(0.0, lifetime - margin)
        self.renewals += 1
        log.info("shopify %s: access token obtained (client credentials), valid %.0fs", self.url, lifetime)


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not isinstance(connection, dict):
        return []
    if isinstance(connection.get("nodes"), list):
        return connection["nodes"]
    return [edge["node"] for edge in connection.get("edges") or [] if isinstance(edge, dict)]


def _fulfillment(node: dict[str, Any]) -> Fulfillment:
    tracking = tuple(Tracking(company=t.get("company"), number=t.get("number"), url=t.get("url"))
                     for t in node.get("trackingInfo") or [] if isinstance(t, dict))
    return Fulfillment(id=str(node.get("id")), status=str(node.get("status") or ""), tracking=tracking)


def _user_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)[:500]
    field = ".".join(str(f) for f in error.get("field") or [])
    message = str(error.get("message") or "")[:500]
    return f"{field}: {message}" if field else message


def _throttle_wait(cost: Any) -> float:
    """Seconds until the bucket holds the requested cost again, from ``extensions.cost``."""
    try:
        requested = float(cost["requestedQueryCost"])
        status = cost["throttleStatus"]
        available = float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return 1.0
    if rate <= 0:
        return 1.0
    return max(0.05, (requested - available) / rate)


def _shop_words(response: requests.Response, mask: Callable[[str], str]) -> list[str]:
    """The shop's own error text from a non-200 answer, masked and cut."""
    try:
        payload = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return [mask(text)[:300]] if text else []
    if isinstance(payload, dict):
        if payload.get("error") and payload.get("error_description"):  # OAuth's pair
            return [mask(f"{payload['error']}: {payload['error_description']}")[:500]]
        for key in ("errors", "error_description", "error", "message"):
            value = payload.get(key)
            if isinstance(value, list):
                return [mask(str(v.get("message") if isinstance(v, dict) else v))[:500] for v in value]
            if value:
                return [mask(str(value))[:500]]
    return [mask(str(payload))[:300]]


def _iso_z(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
