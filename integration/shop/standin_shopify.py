"""A local stand-in for the parts of Shopify's GraphQL Admin API this project uses, served over HTTP.

``create_shopify_standin(...)`` answers, as Shopify's documents describe them:

- ``POST /admin/oauth/access_token``: the client credentials grant (``grant_type=client_credentials``,
  ``client_id``, ``client_secret``) -> ``{access_token, scope, expires_in}``; tokens expire after
  ``token_ttl_s``; a wrong secret is 400 ``invalid_client``;
- ``POST /admin/api/<version>/graphql.json`` with ``X-Shopify-Access-Token``: a missing, unknown or
  expired token is 401 with Shopify's text. Operations are recognised by their name (this project's
  documents: JneOrderFulfillment, JneFulfillmentCreate, JneOrdersUpdatedSince, JneOrder,
  JneOrderLineItems, JneWebhookSubscriptions, JneWebhookSubscriptionCreate); values must come in
  ``variables``: a document with a quoted literal or a ``gid://`` in its text is refused, which is how
  the tests prove nothing is spliced into query text;
- a leaky bucket of query cost (``bucket_max``, ``restore_rate`` per second): a request whose cost the
  bucket cannot cover answers ``THROTTLED`` with ``extensions.cost`` (``requestedQueryCost``,
  ``actualQueryCost: null``, ``throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}``);
- fulfillment orders (one per location, ``OPEN``) that close once fulfilled; ``fulfillmentCreate`` on a
  closed one answers ``userErrors``; fulfillment orders of several locations in one call are refused;
- ``orders(query: "updated_at:>='...'", sortKey: UPDATED_AT)`` with opaque cursors, at most 250 a page;
- ``webhookSubscriptionCreate``: "Address for this topic has already been taken" for a repeat.

Orders are kept in the REST/webhook shape (what the fixtures and real deliveries hold) and rendered as
GraphQL nodes, so a test can compare a reconciled order with the delivery it stands for.

Faults (``standin_common``): ``POST /_standin/faults``. Inspection for tests: ``GET /_standin/orders``,
``GET /_standin/fulfillments``, ``GET /_standin/webhooks``, ``POST /_standin/orders`` (add orders),
``POST /_standin/orders/<id>/cancel``, ``POST /_standin/expire_tokens``, ``GET /_standin/stats``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request

from integration.shop.standin_common import FaultGate, drop_connection, register_control_routes

__all__ = ["ShopifyStandin", "create_shopify_standin"]

DEFAULT_TOKEN = "shpat_standin_static_token_0001"
DEFAULT_APPS = {"standin-client-id": "standin_client_secret_0001"}
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
SCOPES = "read_orders,read_all_orders,read_merchant_managed_fulfillment_orders,write_merchant_managed_fulfillment_orders"
TOPICS = {"ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED", "ORDERS_FULFILLED",
          "ORDERS_PARTIALLY_FULFILLED", "APP_UNINSTALLED"}
_OP = re.compile(r"^\s*(query|mutation)\s+(\w+)")
_SINCE = re.compile(r"updated_at:>=\s*'?([^'\s]+)'?")
_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")
COSTS = {"JneOrderFulfillment": 15, "JneFulfillmentCreate": 10, "JneOrder": 40, "JneOrderLineItems": 20,
         "JneWebhookSubscriptions": 5, "JneWebhookSubscriptionCreate": 10}
WRITES = {"JneFulfillmentCreate", "JneWebhookSubscriptionCreate"}


def _now() -> datetime:
    return datetime.now(UTC)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ShopifyStandin:
    """Orders, fulfillments, webhooks, tokens and the cost bucket of one stand-in shop; thread-safe."""

    def __init__(self, *, access_tokens: list[str] | None, apps: dict[str, str] | None, token_ttl_s: float,
                 bucket_max: float, restore_rate: float):
        self.static_tokens = set(access_tokens if access_tokens is not None else [DEFAULT_TOKEN])
        self.apps = dict(DEFAULT_APPS if apps is None else apps)
        self.token_ttl_s = token_ttl_s
        self.bucket_max = bucket_max
        self.restore_rate = restore_rate
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """No orders, fulfillments, webhooks or issued tokens; a full bucket."""
        with self.lock:
            self.orders: dict[int, dict[str, Any]] = {}
            self.webhooks: list[dict[str, Any]] = []
            self.issued: dict[str, float] = {}
            self.tokens_issued = 0
            self._next = 1000
            self.available = float(self.bucket_max)
            self._refilled = time.monotonic()

    def _id(self) -> int:
        self._next += 1
        return self._next

    # -- orders --------------------------------------------------------------------------------

    def add_order(self, order: dict[str, Any], locations: int = 1) -> None:
        """Keep ``order`` (webhook JSON) with one OPEN fulfillment order per location (lines dealt round)."""
        with self.lock:
            shipped = [li for li in order.get("line_items") or [] if li.get("requires_shipping", True) is not False]
            fos = []
            for n in range(max(1, locations)):
                lines = shipped[n::max(1, locations)]
                if not lines:
                    continue
                fos.append({"id": f"gid://shopify/FulfillmentOrder/{self._id()}", "status": "OPEN",
                            "location": f"gid://shopify/Location/{n + 1}",
                            "lines": [{"id": f"gid://shopify/FulfillmentOrderLineItem/{self._id()}",
                                       "total": int(li.get("quantity") or 1),
                                       "remaining": int(li.get("quantity") or 1)} for li in lines]})
            if order.get("fulfillment_status") == "fulfilled":  # fulfilled before it reached us
                for fo in fos:
                    fo["status"] = "CLOSED"
                    for li in fo["lines"]:
                        li["remaining"] = 0
            updated = _parse(order.get("updated_at")) or _now()
            self.orders[int(order["id"])] = {"rest": json.loads(json.dumps(order)), "fos": fos,
                                             "fulfillments": [], "updated": updated}

    def touch(self, record: dict[str, Any]) -> None:
        """The order changed now (Shopify moves updated_at on every change)."""
        record["updated"] = max(_now(), record["updated"])
        record["rest"]["updated_at"] = _z(record["updated"])

    def snapshot_orders(self) -> list[dict[str, Any]]:
        """Every order in webhook shape, with its fulfillment status as Shopify would show it now."""
        with self.lock:
            return [dict(r["rest"], fulfillment_status=_rest_fulfillment_status(r)) for r in self.orders.values()]

    def snapshot_fulfillments(self) -> dict[str, list[dict[str, Any]]]:
        """Fulfillments by order id."""
        with self.lock:
            return {str(k): json.loads(json.dumps(r["fulfillments"])) for k, r in self.orders.items()}

    # -- tokens and the bucket -------------------------------------------------------------------

    def issue(self, client_id: str, client_secret: str) -> dict[str, Any] | None:
        """A new token for a known app, else None."""
        with self.lock:
            known = self.apps.get(client_id)
            if known is None or not secrets.compare_digest(known, client_secret):
                return None
            token = "shpat_" + secrets.token_hex(16)
            self.issued[token] = time.monotonic() + self.token_ttl_s
            self.tokens_issued += 1
            return {"access_token": token, "scope": SCOPES, "expires_in": int(self.token_ttl_s)}

    def token_valid(self, token: str) -> bool:
        """A static token, or an issued one not yet expired."""
        with self.lock:
            if token in self.static_tokens:
                return True
            expires = self.issued.get(token)
            return expires is not None and time.monotonic() < expires

    def expire_tokens(self) -> None:
        """Every issued token expires now."""
        with self.lock:
            self.issued = dict.fromkeys(self.issued, 0.0)

    def spend(self, cost: float) -> dict[str, Any]:
        """Take ``cost`` from the bucket if it holds it: the ``extensions.cost`` to answer with."""
        with self.lock:
            now = time.monotonic()
            self.available = min(self.bucket_max, self.available + (now - self._refilled) * self.restore_rate)
            self._refilled = now
            ok = self.available >= cost
            if ok:
                self.available -= cost
            return {"requestedQueryCost": cost, "actualQueryCost": cost if ok else None,
                    "throttleStatus": {"maximumAvailable": float(self.bucket_max),
                                       "currentlyAvailable": round(self.available, 1),
                                       "restoreRate": float(self.restore_rate)}}


def _rest_fulfillment_status(record: dict[str, Any]) -> str | None:
    fos = record["fos"]
    if fos and all(fo["status"] == "CLOSED" for fo in fos):
        return "fulfilled"
    if any(fo["status"] == "CLOSED" for fo in fos):
        return "partial"
    return None


def _display_fulfillment(record: dict[str, Any]) -> str:
    return {"fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(_rest_fulfillment_status(record) or "",
                                                                           "UNFULFILLED")


# -- REST/webhook JSON -> GraphQL nodes ---------------------------------------------------------

def _money(rest: dict[str, Any], name: str) -> dict[str, Any] | None:
    money_set = rest.get(f"{name}_set")
    if isinstance(money_set, dict) and isinstance(money_set.get("shop_money"), dict):
        shop = money_set["shop_money"]
        return {"shopMoney": {"amount": shop.get("amount"), "currencyCode": shop.get("currency_code")}}
    if rest.get(name) is not None:
        return {"shopMoney": {"amount": rest.get(name), "currencyCode": rest.get("currency")}}
    return None


def _address(rest: Any) -> dict[str, Any] | None:
    if not isinstance(rest, dict):
        return None
    return {"firstName": rest.get("first_name"), "lastName": rest.get("last_name"), "name": rest.get("name"),
            "company": rest.get("company"), "address1": rest.get("address1"), "address2": rest.get("address2"),
            "city": rest.get("city"), "province": rest.get("province"), "provinceCode": rest.get("province_code"),
            "zip": rest.get("zip"), "country": rest.get("country"), "countryCodeV2": rest.get("country_code"),
            "phone": rest.get("phone"), "latitude": rest.get("latitude"), "longitude": rest.get("longitude")}


def _attrs(items: Any) -> list[dict[str, Any]]:
    return [{"key": a.get("name"), "value": a.get("value")} for a in items or [] if isinstance(a, dict)]


def _line(rest: dict[str, Any], currency: str | None) -> dict[str, Any]:
    price = _money(rest, "price") or {"shopMoney": {"amount": rest.get("price"), "currencyCode": currency}}
    variant = rest.get("variant_id")
    product = rest.get("product_id")
    return {"id": f"gid://shopify/LineItem/{rest.get('id')}", "name": rest.get("name"), "title": rest.get("title"),
            "sku": rest.get("sku"), "quantity": rest.get("quantity"),
            "requiresShipping": rest.get("requires_shipping", True),
            "unfulfilledQuantity": rest.get("fulfillable_quantity", rest.get("quantity")),
            "vendor": rest.get("vendor"), "variantTitle": rest.get("variant_title"),
            "customAttributes": _attrs(rest.get("properties")), "originalUnitPriceSet": price,
            "variant": {"legacyResourceId": str(variant)} if variant else None,
            "product": {"legacyResourceId": str(product)} if product else None}


def graphql_order(record: dict[str, Any]) -> dict[str, Any]:
    """The stored webhook order as a GraphQL ``Order`` node (the fields this project's documents ask for)."""
    rest = record["rest"]
    currency = rest.get("currency")
    customer = rest.get("customer") if isinstance(rest.get("customer"), dict) else None
    node = {
        "id": f"gid://shopify/Order/{rest['id']}", "legacyResourceId": str(rest["id"]), "name": rest.get("name"),
        "number": rest.get("order_number"), "email": rest.get("email"), "phone": rest.get("phone"),
        "note": rest.get("note"), "test": bool(rest.get("test")),
        "createdAt": _z(_parse(rest.get("created_at")) or record["updated"]), "updatedAt": _z(record["updated"]),
        "processedAt": _z(_parse(rest.get("processed_at"))) if _parse(rest.get("processed_at")) else None,
        "cancelledAt": _z(_parse(rest.get("cancelled_at"))) if _parse(rest.get("cancelled_at")) else None,
        "cancelReason": (rest.get("cancel_reason") or "").upper() or None,
        "closedAt": _z(_parse(rest.get("closed_at"))) if _parse(rest.get("closed_at")) else None,
        "currencyCode": currency, "presentmentCurrencyCode": rest.get("presentment_currency") or currency,
        "displayFinancialStatus": (rest.get("financial_status") or "").upper() or None,
        "displayFulfillmentStatus": _display_fulfillment(record),
        "paymentGatewayNames": list(rest.get("payment_gateway_names") or []),
        "tags": [t.strip() for t in str(rest.get("tags") or "").split(",") if t.strip()],
        "totalWeight": str(rest["total_weight"]) if rest.get("total_weight") is not None else None,
        "customAttributes": _attrs(rest.get("note_attributes")),
        "subtotalPriceSet": _money(rest, "subtotal_price"), "totalPriceSet": _money(rest, "total_price"),
        "totalTaxSet": _money(rest, "total_tax"), "totalDiscountsSet": _money(rest, "total_discounts"),
        "totalShippingPriceSet": _money(rest, "total_shipping_price"),
        "customer": None if customer is None else {
            "id": f"gid://shopify/Customer/{customer.get('id')}", "phone": customer.get("phone"),
            "email": customer.get("email"), "firstName": customer.get("first_name"),
            "lastName": customer.get("last_name")},
        "shippingAddress": _address(rest.get("shipping_address")),
        "billingAddress": _address(rest.get("billing_address")),
        "shippingLines": {"nodes": [{"title": s.get("title"), "code": s.get("code"), "source": s.get("source"),
                                     "originalPriceSet": _money(s, "price")}
                                    for s in rest.get("shipping_lines") or [] if isinstance(s, dict)][:5]},
        "lines": [_line(li, currency) for li in rest.get("line_items") or [] if isinstance(li, dict)],
    }
    return node


def _page(items: list[Any], first: int, after: str | None) -> tuple[list[Any], dict[str, Any]]:
    start = int(_decode(after)) + 1 if after else 0
    chosen = items[start:start + first]
    end = start + len(chosen) - 1
    return chosen, {"hasNextPage": start + first < len(items), "endCursor": _encode(end) if chosen else after}


def _encode(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _decode(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise _GraphQLError("Invalid cursor for current pagination sort.") from None


class _GraphQLError(Exception):
    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


# -- the operations --------------------------------------------------------------------------------

def _order_fulfillment(shop: ShopifyStandin, v: dict[str, Any]) -> dict[str, Any]:
    record = _record(shop, v.get("id"))
    if record is None:
        return {"order": None}
    rest = record["rest"]
    fos = [{"id": fo["id"], "status": fo["status"], "assignedLocation": {"location": {"id": fo["location"]}}}
           for fo in record["fos"]][:20]
    fulfillments = [{"id": f["id"], "status": f["status"], "trackingInfo": f["trackingInfo"]} for f in record["fulfillments"]]
    return {"order": {"id": f"gid://shopify/Order/{rest['id']}", "name": rest.get("name"),
                      "cancelledAt": rest.get("cancelled_at"), "closed": bool(rest.get("closed_at")),
                      "fulfillmentOrders": {"nodes": fos}, "fulfillments": fulfillments}}


def _fulfillment_create(shop: ShopifyStandin, v: dict[str, Any]) -> dict[str, Any]:
    spec = v.get("fulfillment") or {}
    wanted = [p.get("fulfillmentOrderId") for p in spec.get("lineItemsByFulfillmentOrder") or []]
    tracking = spec.get("trackingInfo") or {}

    def refuse(message: str, field: list[str] | None = None) -> dict[str, Any]:
        return {"fulfillmentCreate": {"fulfillment": None,
                                      "userErrors": [{"field": field or ["fulfillment"], "message": message}]}}

    if not wanted:
        return refuse("Line items by fulfillment order can't be blank", ["fulfillment", "lineItemsByFulfillmentOrder"])
    if tracking.get("url") and not tracking.get("number"):
        return refuse("Tracking number must be provided when a tracking url is given", ["fulfillment", "trackingInfo"])
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for fo_id in wanted:
        hit = next(((r, fo) for r in shop.orders.values() for fo in r["fos"] if fo["id"] == fo_id), None)
        if hit is None:
            return refuse(f"Invalid fulfillment order line item quantity requested. Fulfillment order {fo_id} "
                          "does not exist.")
        found.append(hit)
    records = {id(r) for r, _ in found}
    if len(records) > 1:
        return refuse("Fulfillment orders must belong to the same order.")
    if len({fo["location"] for _, fo in found}) > 1:
        return refuse("All fulfillment orders must be assigned to the same location.")
    for _, fo in found:
        if fo["status"] not in ("OPEN", "IN_PROGRESS"):
            return refuse(f"Fulfillment order {fo['id']} has an unfulfillable status= {fo['status'].lower()}.")
    record = found[0][0]
    for _, fo in found:
        fo["status"] = "CLOSED"
        for li in fo["lines"]:
            li["remaining"] = 0
    info = [{"company": tracking.get("company"), "number": tracking.get("number"), "url": tracking.get("url")}] \
        if tracking.get("number") else []
    fulfillment = {"id": f"gid://shopify/Fulfillment/{shop._id()}", "status": "SUCCESS", "trackingInfo": info,
                   "notify_customer": bool(spec.get("notifyCustomer")), "fulfillment_order_ids": wanted,
                   "created_at": _z(_now())}
    record["fulfillments"].append(fulfillment)
    shop.touch(record)
    return {"fulfillmentCreate": {"fulfillment": {k: fulfillment[k] for k in ("id", "status", "trackingInfo")},
                                  "userErrors": []}}


def _orders_updated_since(shop: ShopifyStandin, v: dict[str, Any]) -> dict[str, Any]:
    first = int(v.get("first") or 0)
    if not 1 <= first <= 250:
        raise _GraphQLError("The first argument must be between 1 and 250.", "BAD_USER_INPUT")
    match = _SINCE.search(str(v.get("query") or ""))
    since = _parse(match.group(1)) if match else None
    rows = sorted(((r["updated"], k) for k, r in shop.orders.items() if since is None or r["updated"] >= since))
    keys = [[_z(u), k] for u, k in rows]
    start = 0
    if v.get("after"):
        after = _decode(v["after"])
        start = next((i for i, key in enumerate(keys) if key > after), len(keys))
    chosen = rows[start:start + first]
    nodes = [{"id": f"gid://shopify/Order/{k}", "legacyResourceId": str(k), "name": shop.orders[k]["rest"].get("name"),
              "updatedAt": _z(u)} for u, k in chosen]
    end = _encode([_z(chosen[-1][0]), chosen[-1][1]]) if chosen else v.get("after")
    return {"orders": {"pageInfo": {"hasNextPage": start + first < len(rows), "endCursor": end}, "nodes": nodes}}


def _order(shop: ShopifyStandin, v: dict[str, Any], lines_only: bool) -> dict[str, Any]:
    record = _record(shop, v.get("id"))
    if record is None:
        return {"order": None}
    node = graphql_order(record)
    lines, info = _page(node.pop("lines"), int(v.get("lines") or 50), v.get("after"))
    node["lineItems"] = {"pageInfo": info, "nodes": lines}
    return {"order": {"lineItems": node["lineItems"]} if lines_only else node}


def _webhooks(shop: ShopifyStandin, v: dict[str, Any]) -> dict[str, Any]:
    items, info = _page(list(shop.webhooks), int(v.get("first") or 50), v.get("after"))
    return {"webhookSubscriptions": {"pageInfo": info,
                                     "nodes": [{k: w[k] for k in ("id", "topic", "uri", "format")} for w in items]}}


def _webhook_create(shop: ShopifyStandin, v: dict[str, Any]) -> dict[str, Any]:
    topic = v.get("topic")
    uri = str((v.get("webhookSubscription") or {}).get("uri") or "")

    def refuse(message: str, field: list[str]) -> dict[str, Any]:
        return {"webhookSubscriptionCreate": {"webhookSubscription": None,
                                              "userErrors": [{"field": field, "message": message}]}}

    if topic not in TOPICS:
        raise _GraphQLError("Variable $topic of type WebhookSubscriptionTopic! was provided invalid value",
                            "INVALID_VARIABLE")
    if not uri.startswith("https://"):
        return refuse("Address protocol http:// is not supported" if uri.startswith("http://") else
                      "Address is invalid", ["webhookSubscription", "uri"])
    if any(w["topic"] == topic and w["uri"] == uri for w in shop.webhooks):
        return refuse("Address for this topic has already been taken", ["webhookSubscription", "uri"])
    hook = {"id": f"gid://shopify/WebhookSubscription/{shop._id()}", "topic": topic, "uri": uri, "format": "JSON"}
    shop.webhooks.append(hook)
    return {"webhookSubscriptionCreate": {"webhookSubscription": dict(hook), "userErrors": []}}


def _record(shop: ShopifyStandin, gid: Any) -> dict[str, Any] | None:
    text = str(gid or "")
    tail = text.rsplit("/", 1)[-1]
    if not text.startswith("gid://shopify/Order/") or not tail.isdigit():
        raise _GraphQLError(f"Invalid global id '{text[:80]}'", "argumentLiteralsIncompatible")
    return shop.orders.get(int(tail))


def _cost(operation: str, v: dict[str, Any]) -> float:
    if operation == "JneOrdersUpdatedSince":
        return 2 + int(v.get("first") or 0) / 10
    return COSTS.get(operation, 10)


def create_shopify_standin(*, access_tokens: list[str] | None = None, apps: dict[str, str] | None = None,
                           token_ttl_s: float = 86399, bucket_max: float = 1000, restore_rate: float = 100,
                           **faults: Any) -> Flask:
    """A Flask app that answers like a Shopify shop's Admin API; keyword arguments set initial faults."""
    shop = ShopifyStandin(access_tokens=access_tokens, apps=apps, token_ttl_s=token_ttl_s,
                          bucket_max=bucket_max, restore_rate=restore_rate)
    gate = FaultGate(faults)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["shopify_standin"] = shop
    app.extensions["shop_faults"] = gate
    register_control_routes(app, gate, shop.reset)
    handlers = {
        "JneOrderFulfillment": lambda v: _order_fulfillment(shop, v),
        "JneFulfillmentCreate": lambda v: _fulfillment_create(shop, v),
        "JneOrdersUpdatedSince": lambda v: _orders_updated_since(shop, v),
        "JneOrder": lambda v: _order(shop, v, lines_only=False),
        "JneOrderLineItems": lambda v: _order(shop, v, lines_only=True),
        "JneWebhookSubscriptions": lambda v: _webhooks(shop, v),
        "JneWebhookSubscriptionCreate": lambda v: _webhook_create(shop, v),
    }

    @app.post("/admin/oauth/access_token")
    def access_token():
        refused = gate.enter("access_token")
        if refused is not None:
            return refused
        form = request.form.to_dict() or (request.get_json(silent=True) or {})
        if form.get("grant_type") != "client_credentials":
            return jsonify({"error": "unsupported_grant_type",
                            "error_description": "The authorization grant type is not supported."}), 400
        issued = shop.issue(str(form.get("client_id") or ""), str(form.get("client_secret") or ""))
        if issued is None:
            return jsonify({"error": "invalid_client", "error_description": "Client authentication failed due to "
                            "unknown client, no client authentication included, or unsupported authentication method."}), 400
        return jsonify(issued)

    @app.post("/admin/api/<version>/graphql.json")
    def graphql(version: str):
        if not _VERSION.match(version):
            return jsonify({"errors": "Not Found"}), 404
        body = request.get_json(silent=True) or {}
        text = str(body.get("query") or "")
        match = _OP.match(text)
        operation = match.group(2) if match else "anonymous"
        refused = gate.enter(operation)
        if refused is not None:
            return refused
        if not shop.token_valid(request.headers.get("X-Shopify-Access-Token", "")):
            gate.count("invalid_token")
            return jsonify({"errors": INVALID_TOKEN}), 401
        variables = body.get("variables") or {}
        if "'" in text or '"' in text or "gid://" in text:
            return _errors("Values must be passed in variables, not written into the query text (stand-in rule)",
                           "BAD_USER_INPUT")
        handler = handlers.get(operation)
        if handler is None:
            return _errors(f"Field '{operation}' doesn't exist on type 'QueryRoot'", "undefinedField")
        cost = shop.spend(_cost(operation, variables)) if not gate.take_throttle() else _forced_throttle(shop, operation)
        if cost["actualQueryCost"] is None:
            gate.count("THROTTLED")
            return jsonify({"errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                "extensions": {"cost": cost}})
        try:
            with shop.lock:
                data = handler(variables)
        except _GraphQLError as exc:
            return _errors(exc.message, exc.code)
        if operation in WRITES:
            stall = gate.take_lost_reply()
            if stall is not None:
                return drop_connection(stall)
        return jsonify({"data": data, "extensions": {"cost": cost}})

    @app.get("/_standin/orders")
    def standin_orders():
        return jsonify(shop.snapshot_orders())

    @app.post("/_standin/orders")
    def standin_add_orders():
        payload = request.get_json(silent=True)
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("order"), dict):
                return jsonify({"error": "send {order: <webhook JSON>, locations: N} or a list of them"}), 400
            shop.add_order(item["order"], int(item.get("locations") or 1))
        return jsonify({"added": len(items)})

    @app.post("/_standin/orders/<int:order_id>/cancel")
    def standin_cancel(order_id: int):
        with shop.lock:
            record = shop.orders.get(order_id)
            if record is None:
                return jsonify({"error": "no such order"}), 404
            record["rest"]["cancelled_at"] = _z(_now())
            shop.touch(record)
        return jsonify({"cancelled": order_id})

    @app.get("/_standin/fulfillments")
    def standin_fulfillments():
        return jsonify(shop.snapshot_fulfillments())

    @app.get("/_standin/webhooks")
    def standin_webhooks():
        with shop.lock:
            return jsonify(list(shop.webhooks))

    @app.post("/_standin/expire_tokens")
    def standin_expire_tokens():
        shop.expire_tokens()
        return jsonify({"expired": True})

    @app.get("/_standin/tokens")
    def standin_tokens():
        return jsonify({"issued": shop.tokens_issued})

    return app


def _forced_throttle(shop: ShopifyStandin, operation: str) -> dict[str, Any]:
    requested = float(COSTS.get(operation, 10))
    return {"requestedQueryCost": requested, "actualQueryCost": None,
            "throttleStatus": {"maximumAvailable": float(shop.bucket_max), "currentlyAvailable": 0.0,
                               "restoreRate": float(shop.restore_rate)}}


def _errors(message: str, code: str | None) -> Response:
    error: dict[str, Any] = {"message": message}
    if code:
        error["extensions"] = {"code": code}
    return jsonify({"errors": [error]})
