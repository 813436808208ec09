"""Shopify orders through the GraphQL Admin API, in the shape a webhook delivers them.

The receiver, the ledger and the default mapping (``mappings/shopify.yaml``) read an order as Shopify's
REST/webhook JSON: ``id`` a number, ``name`` "#1001", ``order_number``, ``shipping_address`` with
``province_code`` and ``zip``, ``line_items`` with ``requires_shipping`` and ``properties``, money as
decimal strings plus ``*_set.shop_money``. The GraphQL Admin API (the only one this project uses)
answers camelCase nodes with global ids, so ``ORDER_QUERY`` asks for every field a webhook order
carries that a mapping may read, and ``to_webhook_order`` is the one place that turns the answer into
the webhook shape. Keep the two in step: a field added to one belongs in the other.

Field names were checked against Shopify's Admin GraphQL reference (Order, MailingAddress, LineItem,
ShippingLine, MoneyBag; ``Order.number`` since 2024-07, ``totalWeight`` in grams).
"""

from __future__ import annotations

from typing import Any

ORDER_GID = "gid://shopify/Order/"
LINES_PER_QUERY = 100  # line items fetched with the order; more are paged with LINE_ITEMS_QUERY

_MONEY = "shopMoney { amount currencyCode }"
_ADDRESS = ("firstName lastName name company address1 address2 city province provinceCode zip "
            "country countryCodeV2 phone latitude longitude")
_LINE = ("id name title sku quantity requiresShipping unfulfilledQuantity vendor variantTitle "
         f"customAttributes {{ key value }} originalUnitPriceSet {{ {_MONEY} }} "
         "variant { legacyResourceId } product { legacyResourceId }")

ORDER_QUERY = f"""
query JneOrder($id: ID!, $lines: Int!) {{
  order(id: $id) {{
    id legacyResourceId name number email phone note test
    createdAt updatedAt processedAt cancelledAt cancelReason closedAt
    currencyCode presentmentCurrencyCode displayFinancialStatus displayFulfillmentStatus
    paymentGatewayNames tags totalWeight
    customAttributes {{ key value }}
    subtotalPriceSet {{ {_MONEY} }}
    totalPriceSet {{ {_MONEY} }}
    totalTaxSet {{ {_MONEY} }}
    totalDiscountsSet {{ {_MONEY} }}
    totalShippingPriceSet {{ {_MONEY} }}
    customer {{ id phone email firstName lastName }}
    shippingAddress {{ {_ADDRESS} }}
    billingAddress {{ {_ADDRESS} }}
    shippingLines(first: 5) {{ nodes {{ title code source originalPriceSet {{ {_MONEY} }} }} }}
    lineItems(first: $lines) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_LINE} }} }}
  }}
}}
"""

LINE_ITEMS_QUERY = f"""
query JneOrderLineItems($id: ID!, $lines: Int!, $after: String) {{
  order(id: $id) {{
    lineItems(first: $lines, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_LINE} }} }}
  }}
}}
"""

# A light page of the orders updated since a moment: enough to decide which ones to fetch whole.
ORDERS_UPDATED_QUERY = """
query JneOrdersUpdatedSince($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id legacyResourceId name updatedAt }
  }
}
"""

# displayFulfillmentStatus -> the REST field (null while nothing is fulfilled)
_FULFILLMENT_STATUS = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked"}


def order_gid(order_id: str | int) -> str:
    """The GraphQL id of an order given its REST id (``5012345678``) or its GraphQL id."""
    text = str(order_id).strip()
    if text.startswith(ORDER_GID) and text[len(ORDER_GID):].isdigit():
        return text
    if text.isdigit():
        return ORDER_GID + text
    raise ValueError(f"not a Shopify order id: {text[:80]!r} (a number or {ORDER_GID}N)")


def legacy_id(gid: str | None) -> int | None:
    """The number at the end of a GraphQL global id (``gid://shopify/Customer/7`` -> 7)."""
    if not gid:
        return None
    tail = str(gid).rsplit("/", 1)[-1].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def to_webhook_order(node: dict[str, Any]) -> dict[str, Any]:
    """One GraphQL ``Order`` node (``ORDER_QUERY``'s fields) as the REST/webhook JSON of that order."""
    order: dict[str, Any] = {
        "id": int(node["legacyResourceId"]),
        "admin_graphql_api_id": node["id"],
        "name": node.get("name"),
        "order_number": node.get("number"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "note": node.get("note"),
        "test": bool(node.get("test")),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": _lower(node.get("cancelReason")),
        "closed_at": node.get("closedAt"),
        "currency": node.get("currencyCode"),
        "presentment_currency": node.get("presentmentCurrencyCode"),
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT_STATUS.get(node.get("displayFulfillmentStatus") or ""),
        "payment_gateway_names": list(node.get("paymentGatewayNames") or []),
        "tags": ", ".join(node.get("tags") or []),
        "total_weight": _int(node.get("totalWeight")),
        "note_attributes": _attributes(node.get("customAttributes")),
        "customer": _customer(node.get("customer")),
        "shipping_address": _address(node.get("shippingAddress")),
        "billing_address": _address(node.get("billingAddress")),
        "shipping_lines": [_shipping_line(n) for n in _nodes(node.get("shippingLines"))],
        "line_items": [to_webhook_line(n) for n in _nodes(node.get("lineItems"))],
    }
    for rest, graphql in (("subtotal_price", "subtotalPriceSet"), ("total_price", "totalPriceSet"),
                          ("total_tax", "totalTaxSet"), ("total_discounts", "totalDiscountsSet"),
                          ("total_shipping_price", "totalShippingPriceSet")):
        money = _money_set(node.get(graphql))
        if money is not None:
            order[f"{rest}_set"] = money
            if rest != "total_shipping_price":  # REST has only the _set form for shipping
                order[rest] = money["shop_money"]["amount"]
    if order["shipping_address"] is None:
        del order["shipping_address"]  # absent when nothing ships, as in a webhook
    return order


def to_webhook_line(node: dict[str, Any]) -> dict[str, Any]:
    """One GraphQL ``LineItem`` node as a webhook ``line_items[]`` entry."""
    price = _money_set(node.get("originalUnitPriceSet"))
    return {
        "id": legacy_id(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "title": node.get("title"),
        "sku": node.get("sku"),
        "quantity": node.get("quantity"),
        "requires_shipping": node.get("requiresShipping"),
        "fulfillable_quantity": node.get("unfulfilledQuantity"),
        "vendor": node.get("vendor"),
        "variant_title": node.get("variantTitle"),
        "properties": _attributes(node.get("customAttributes")),
        "price": price["shop_money"]["amount"] if price else None,
        "price_set": price,
        "variant_id": _int((node.get("variant") or {}).get("legacyResourceId")),
        "product_id": _int((node.get("product") or {}).get("legacyResourceId")),
    }


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not isinstance(connection, dict):
        return []
    if isinstance(connection.get("nodes"), list):
        return connection["nodes"]
    return [edge["node"] for edge in connection.get("edges") or [] if isinstance(edge, dict)]


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _attributes(items: Any) -> list[dict[str, Any]]:
    return [{"name": a.get("key"), "value": a.get("value")} for a in items or [] if isinstance(a, dict)]


def _money_set(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or not isinstance(value.get("shopMoney"), dict):
        return None
    money = value["shopMoney"]
    return {"shop_money": {"amount": money.get("amount"), "currency_code": money.get("currencyCode")}}


def _customer(node: Any) -> dict[str, Any] | None:
    if not isinstance(node, dict):
        return None
    return {"id": legacy_id(node.get("id")), "email": node.get("email"), "phone": node.get("phone"),
            "first_name": node.get("firstName"), "last_name": node.get("lastName")}


def _address(node: Any) -> dict[str, Any] | None:
    if not isinstance(node, dict):
        return None
    return {"first_name": node.get("firstName"), "last_name": node.get("lastName"), "name": node.get("name"),
            "company": node.get("company"), "address1": node.get("address1"),
            "address2": node.get("address2"), "city": node.get("city"), "province": node.get("province"),
            "province_code": node.get("provinceCode"), "zip": node.get("zip"),
            "country": node.get("country"), "country_code": node.get("countryCodeV2"),
            "phone": node.get("phone"), "latitude": node.get("latitude"), "longitude": node.get("longitude")}


def _shipping_line(node: dict[str, Any]) -> dict[str, Any]:
    price = _money_set(node.get("originalPriceSet"))
    return {"title": node.get("title"), "code": node.get("code"), "source": node.get("source"),
            "price": price["shop_money"]["amount"] if price else None, "price_set": price}
