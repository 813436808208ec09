"""What an order body holds: the order itself (unwrapped from ``{"order": {...}}``), and whose shape it has.

``{"order": {...}}`` is the shape of WooCommerce's legacy REST API v3, which is also what a
WooCommerce webhook set to "Legacy API v3" delivers, and of Shopify's REST resources (an order
saved from the admin API). Such a body is unwrapped wherever an order is read (the receiver, the
worker, ``preview``, the dashboard), so the same file gets one answer everywhere; see the intake's
docstring for why unwrapping rather than refusing.

:func:`platform_of` tells a Shopify order from a WooCommerce one by the keys only each platform
sends, so that ``preview`` of an order under the other platform's store names the mismatch instead
of reporting the missing fields it causes.
"""

from __future__ import annotations

from typing import Any

from integration.problems import define

__all__ = ["PLATFORM_MISMATCH", "platform_of", "unwrap_order"]

PLATFORM_MISMATCH = define(
    "preview.platform_mismatch",
    en="this looks like a {found} order ({signs}), but store {store} is a {platform} store whose mapping reads "
       "{platform} orders; preview it with a {found} store, or check the file",
    id="ini tampak seperti pesanan {found} ({signs}), tetapi toko {store} adalah toko {platform} yang mappingnya "
       "membaca pesanan {platform}; coba preview dengan toko {found}, atau periksa berkasnya")

NAMES = {"shopify": "Shopify", "woocommerce": "WooCommerce"}
# Keys one platform's order has and the other's never does (REST v3 and legacy v3 for WooCommerce).
_SHOPIFY_KEYS = ("financial_status", "admin_graphql_api_id", "payment_gateway_names", "fulfillment_status",
                 "order_status_url", "total_price", "subtotal_price", "current_total_price")
_WOOCOMMERCE_KEYS = ("payment_method", "payment_method_title", "date_created", "date_modified_gmt", "cart_hash",
                     "prices_include_tax", "payment_details", "total_line_items_quantity", "customer_note")
_SHOPIFY_ADDRESS = ("address1", "province_code", "zip", "country_code")
_WOOCOMMERCE_ADDRESS = ("address_1", "postcode", "state")


def unwrap_order(doc: Any) -> Any:
    """The order of a ``{"order": {...}}`` body (an object without an ``id`` of its own), else ``doc``."""
    if isinstance(doc, dict) and "id" not in doc and isinstance(doc.get("order"), dict):
        return doc["order"]
    return doc


def _signs(order: dict[str, Any], keys: tuple[str, ...], address_keys: tuple[str, ...]) -> list[str]:
    found = [k for k in keys if k in order]
    for name in ("shipping_address", "shipping", "billing_address", "billing"):
        address = order.get(name)
        if isinstance(address, dict):
            found += [f"{name}.{k}" for k in address_keys if k in address]
    return found


def platform_of(order: Any) -> tuple[str | None, list[str]]:
    """("shopify" | "woocommerce", the keys that show it), or (None, []) when the order does not tell."""
    if not isinstance(order, dict):
        return None, []
    shopify = _signs(order, _SHOPIFY_KEYS, _SHOPIFY_ADDRESS)
    woocommerce = _signs(order, _WOOCOMMERCE_KEYS, _WOOCOMMERCE_ADDRESS)
    if len(shopify) >= 2 and not woocommerce:
        return "shopify", shopify
    if len(woocommerce) >= 2 and not shopify:
        return "woocommerce", woocommerce
    return None, []
