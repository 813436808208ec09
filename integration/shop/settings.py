"""The ``api:``, ``writeback:`` and ``reconcile:`` blocks of a store, as DESIGN.md writes them.

``STORE_SCHEMA`` is a Cerberus fragment for ``config._STORE_SCHEMA`` (plain Cerberus rules, no custom
coercers); ``check_store`` adds what a schema cannot say (which keys each platform needs, the tracking
URL template); ``shop_settings`` builds the frozen dataclasses from a normalised store block.

```yaml
api:                                   # optional; enables write-back, reconciliation, webhook setup
  url: https://toko-ali.myshopify.com  # Shopify: https://<shop>; WooCommerce: the site URL
  access_token: ${TOKO_ALI_TOKEN}      # Shopify static token, or client_id + client_secret
  client_id: ...
  client_secret: ...
  consumer_key: ...                    # WooCommerce, with consumer_secret
  consumer_secret: ...
  query_string_auth: false             # WooCommerce: keys in the query string (hosts that strip Authorization)
  version: "2025-10"                   # Shopify Admin API version
  timeout_s: 15
writeback:                             # on by default when api: is set
  enabled: true
  tracking_company: JNE
  tracking_url: "https://www.jne.co.id/tracking-package?awb={cnote}"
  notify_customer: true
  complete_order: false                # WooCommerce: set the order to completed
reconcile:
  every_s: 900                         # 0 = off
  lookback_h: 72
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from integration.shop.shopify import DEFAULT_VERSION, ShopifyClient
from integration.shop.woocommerce import WooCommerceClient

__all__ = ["STORE_SCHEMA", "ReconcileSettings", "ShopAPI", "ShopSettings", "WritebackSettings",
           "check_store", "client_for", "shop_settings", "tracking_url"]

DEFAULT_TRACKING_URL = "https://www.jne.co.id/tracking-package?awb={cnote}"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

_str = {"type": "string", "empty": False}
STORE_SCHEMA: dict[str, Any] = {
    "api": {"type": "dict", "schema": {
        "url": {**_str, "required": True, "regex": r"^https?://[^\s/]+(/\S*)?$"},
        "access_token": _str,
        "client_id": _str,
        "client_secret": _str,
        "consumer_key": _str,
        "consumer_secret": _str,
        "query_string_auth": {"type": "boolean", "default": False},
        "version": {**_str, "regex": r"^(\d{4}-(01|04|07|10)|unstable)$", "default": DEFAULT_VERSION},
        "timeout_s": {"type": "number", "min": 1, "max": 120, "default": 15},
    }},
    "writeback": {"type": "dict", "schema": {
        "enabled": {"type": "boolean", "default": True},
        "tracking_company": {**_str, "maxlength": 100, "default": "JNE"},
        "tracking_url": {"type": "string", "maxlength": 500, "default": DEFAULT_TRACKING_URL},
        "notify_customer": {"type": "boolean", "default": True},
        "complete_order": {"type": "boolean", "default": False},
    }},
    "reconcile": {"type": "dict", "schema": {
        "every_s": {"type": "integer", "min": 0, "max": 7 * 86400, "default": 900},
        "lookback_h": {"type": "integer", "min": 1, "max": 24 * 366, "default": 72},
    }},
}


@dataclass(frozen=True)
class ShopAPI:
    """How to reach one store's own API; secrets never appear in the repr."""

    url: str
    access_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    consumer_key: str | None = field(default=None, repr=False)
    consumer_secret: str | None = field(default=None, repr=False)
    query_string_auth: bool = False
    version: str = DEFAULT_VERSION
    timeout_s: float = 15.0

    def secrets(self) -> list[str]:
        """Every secret value of this block, for log redaction."""
        return [v for v in (self.access_token, self.client_secret, self.consumer_key, self.consumer_secret) if v]


@dataclass(frozen=True)
class WritebackSettings:
    """What to write to the shop once an order is booked."""

    enabled: bool = False
    tracking_company: str = "JNE"
    tracking_url: str = DEFAULT_TRACKING_URL
    notify_customer: bool = True
    complete_order: bool = False


@dataclass(frozen=True)
class ReconcileSettings:
    """How often to look for orders the webhooks missed, and how far back the first pass looks."""

    every_s: int = 900
    lookback_h: int = 72

    @property
    def enabled(self) -> bool:
        """False when ``every_s`` is 0."""
        return self.every_s > 0


@dataclass(frozen=True)
class ShopSettings:
    """A store's ``api``, ``writeback`` and ``reconcile`` blocks; without ``api`` everything is off."""

    api: ShopAPI | None = None
    writeback: WritebackSettings = WritebackSettings()
    reconcile: ReconcileSettings = ReconcileSettings(every_s=0)

    def secrets(self) -> list[str]:
        """The API secrets, for log redaction (config.secrets() should add these)."""
        return self.api.secrets() if self.api else []


def check_store(store_id: str, platform: str, block: dict[str, Any]) -> list[str]:
    """Problems Cerberus cannot see in a normalised store block, one line each naming the key."""
    problems: list[str] = []
    api = block.get("api")
    where = f"stores.{store_id}"
    if api:
        if platform == "shopify":
            if not api.get("access_token") and not (api.get("client_id") and api.get("client_secret")):
                problems.append(f"{where}.api: Shopify needs access_token, or client_id with client_secret "
                                "(the Dev Dashboard app's client credentials)")
            if api.get("client_id") and not api.get("client_secret"):
                problems.append(f"{where}.api.client_secret: required with client_id")
            for key in ("consumer_key", "consumer_secret", "query_string_auth"):
                if api.get(key):
                    problems.append(f"{where}.api.{key}: a WooCommerce setting; this store is on Shopify")
        elif platform == "woocommerce":
            if not (api.get("consumer_key") and api.get("consumer_secret")):
                problems.append(f"{where}.api: WooCommerce needs consumer_key and consumer_secret "
                                "(WooCommerce > Settings > Advanced > REST API, Read/Write)")
            for key in ("access_token", "client_id", "client_secret"):
                if api.get(key):
                    problems.append(f"{where}.api.{key}: a Shopify setting; this store is on WooCommerce")
    template = (block.get("writeback") or {}).get("tracking_url")
    if template:
        unknown = sorted({m for m in _PLACEHOLDER.findall(template) if m != "cnote"})
        if unknown:
            problems.append(f"{where}.writeback.tracking_url: unknown placeholder(s) "
                            f"{', '.join('{' + u + '}' for u in unknown)}; only {{cnote}} is filled in")
        if urlsplit(template.replace("{cnote}", "0")).scheme not in ("http", "https"):
            problems.append(f"{where}.writeback.tracking_url: must be an http(s) URL, e.g. {DEFAULT_TRACKING_URL}")
    return problems


def shop_settings(block: dict[str, Any]) -> ShopSettings:
    """The dataclasses of a store block already normalised by ``STORE_SCHEMA`` (defaults filled)."""
    api_block = block.get("api")
    if not api_block:
        return ShopSettings()
    api = ShopAPI(url=api_block["url"].rstrip("/"), access_token=api_block.get("access_token"),
                  client_id=api_block.get("client_id"), client_secret=api_block.get("client_secret"),
                  consumer_key=api_block.get("consumer_key"), consumer_secret=api_block.get("consumer_secret"),
                  query_string_auth=bool(api_block.get("query_string_auth", False)),
                  version=api_block.get("version", DEFAULT_VERSION), timeout_s=float(api_block.get("timeout_s", 15)))
    wb = block.get("writeback") or {}
    rc = block.get("reconcile") or {}
    return ShopSettings(
        api=api,
        writeback=WritebackSettings(
            enabled=bool(wb.get("enabled", True)), tracking_company=wb.get("tracking_company", "JNE"),
            tracking_url=wb.get("tracking_url", DEFAULT_TRACKING_URL),
            notify_customer=bool(wb.get("notify_customer", True)), complete_order=bool(wb.get("complete_order", False))),
        reconcile=ReconcileSettings(every_s=int(rc.get("every_s", 900)), lookback_h=int(rc.get("lookback_h", 72))),
    )


def tracking_url(template: str, cnote: str) -> str | None:
    """The tracking link for ``cnote`` (``{cnote}`` replaced; no other formatting); None when no template."""
    return template.replace("{cnote}", cnote) if template else None


def client_for(platform: str, api: ShopAPI, **kwargs: Any) -> ShopifyClient | WooCommerceClient:
    """The API client of a store's platform; ``kwargs`` go to the client (session, sleep, max_wait_s)."""
    if platform == "shopify":
        return ShopifyClient(api.url, version=api.version, access_token=api.access_token,
                             client_id=api.client_id, client_secret=api.client_secret, timeout_s=api.timeout_s,
                             **kwargs)
    if platform == "woocommerce":
        return WooCommerceClient(api.url, api.consumer_key or "", api.consumer_secret or "",
                                 query_string_auth=api.query_string_auth, timeout_s=api.timeout_s, **kwargs)
    raise ValueError(f"unknown platform {platform!r}")
