"""Subscribe a store's order webhooks to this service, and list them; creating nothing twice.

``install(client, public_base, webhook_secret=...)`` points the order topics at
``PUBLIC_BASE/webhooks/<platform>``:

- Shopify (``webhookSubscriptionCreate``): a topic already subscribed to that address is kept. Shopify
  signs what an app subscribed with the app's client secret, so the store's ``webhook_secret`` must be
  that client secret; the report says so, and warns when the configured client secret differs.
- WooCommerce (``POST webhooks``): created active with the store's ``webhook_secret``. A webhook with the
  same topic and delivery URL is kept; one WooCommerce disabled (after five failed deliveries) or
  paused is set active again, with the store's secret. WooCommerce does not show a webhook's secret, so
  a kept webhook gets the store's secret set again (an update, never a second webhook).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from integration.shop.errors import ShopRefused
from integration.shop.shopify import ShopifyClient
from integration.shop.woocommerce import WooCommerceClient

__all__ = ["SHOPIFY_TOPICS", "WOOCOMMERCE_TOPICS", "InstallReport", "WebhookRow", "delivery_url", "install",
           "list_webhooks"]

log = logging.getLogger("integration.shop.webhooks")

# Shopify's WebhookSubscriptionTopic values for the order topics the receiver books from.
SHOPIFY_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED")
WOOCOMMERCE_TOPICS = ("order.created", "order.updated")
WEBHOOK_NAME = "JNE integration ({topic})"


@dataclass(frozen=True)
class WebhookRow:
    """One webhook as the shop shows it."""

    id: str
    topic: str
    url: str
    status: str  # Shopify subscriptions have no status: "active"


@dataclass
class InstallReport:
    """What ``install`` did, topic by topic, and what the owner must know."""

    url: str
    created: list[str] = field(default_factory=list)
    reenabled: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def delivery_url(public_base: str, platform: str) -> str:
    """``PUBLIC_BASE/webhooks/<platform>`` (a trailing slash on the base is ignored)."""
    base = public_base.strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ValueError(f"--url must be this service's public base URL (https://...), got {public_base[:100]!r}")
    return f"{base}/webhooks/{platform}"


def list_webhooks(client: ShopifyClient | WooCommerceClient) -> list[WebhookRow]:
    """Every webhook of the store (Shopify: this app's subscriptions)."""
    if isinstance(client, ShopifyClient):
        return [WebhookRow(id=str(w.get("id")), topic=str(w.get("topic")), url=str(w.get("uri") or ""),
                           status="active") for w in client.webhook_subscriptions()]
    return [WebhookRow(id=str(w.get("id")), topic=str(w.get("topic")), url=str(w.get("delivery_url") or ""),
                       status=str(w.get("status") or "")) for w in client.webhooks()]


def install(client: ShopifyClient | WooCommerceClient, public_base: str, *, webhook_secret: str,
            client_secret: str | None = None) -> InstallReport:
    """Subscribe the order topics to this service; nothing is created twice (see the module docstring)."""
    if isinstance(client, ShopifyClient):
        return _install_shopify(client, delivery_url(public_base, "shopify"), webhook_secret, client_secret)
    return _install_woocommerce(client, delivery_url(public_base, "woocommerce"), webhook_secret)


def _install_shopify(client: ShopifyClient, url: str, webhook_secret: str,
                     client_secret: str | None) -> InstallReport:
    report = InstallReport(url=url)
    existing = {(w.get("topic"), w.get("uri")) for w in client.webhook_subscriptions()}
    for topic in SHOPIFY_TOPICS:
        if (topic, url) in existing:
            report.kept.append(topic)
            continue
        try:
            client.create_webhook_subscription(topic, url)
        except ShopRefused as exc:
            if any("taken" in w.lower() for w in exc.shop_words):  # created meanwhile by another run
                report.kept.append(topic)
                continue
            raise
        report.created.append(topic)
    report.messages.append("Shopify signs these deliveries with the app's client secret: "
                           "stores.<store>.webhook_secret must be that client secret (Dev Dashboard > the app > "
                           "Settings > Client secret).")
    if client_secret and client_secret != webhook_secret:
        report.messages.append("Warning: this store's webhook_secret is not its api.client_secret; deliveries "
                               "from these subscriptions would be refused with 401 until they match.")
    log.info("shopify webhooks to %s: created %s, kept %s", url, report.created, report.kept)
    return report


def _install_woocommerce(client: WooCommerceClient, url: str, webhook_secret: str) -> InstallReport:
    report = InstallReport(url=url)
    hooks: dict[str, list[dict[str, Any]]] = {}
    for hook in client.webhooks():
        if _same_url(hook.get("delivery_url"), url):
            hooks.setdefault(str(hook.get("topic")), []).append(hook)
    for topic in WOOCOMMERCE_TOPICS:
        found = sorted(hooks.get(topic, []), key=lambda h: h.get("status") != "active")
        if not found:
            client.create_webhook(name=WEBHOOK_NAME.format(topic=topic), topic=topic, delivery_url=url,
                                  secret=webhook_secret)
            report.created.append(topic)
            continue
        hook = found[0]
        if hook.get("status") != "active":
            client.update_webhook(hook["id"], status="active", secret=webhook_secret)
            report.reenabled.append(f"{topic} (was {hook.get('status')})")
        else:
            client.update_webhook(hook["id"], secret=webhook_secret)
            report.kept.append(topic)
        if len(found) > 1:
            report.messages.append(f"{topic}: {len(found)} webhooks deliver to {url}; extra ones (ids "
                                   f"{', '.join(str(h.get('id')) for h in found[1:])}) can be deleted in "
                                   "WooCommerce > Settings > Advanced > Webhooks")
    report.messages.append("WooCommerce signs these deliveries with this store's webhook_secret.")
    log.info("woocommerce webhooks to %s: created %s, re-enabled %s, kept %s", url, report.created,
             report.reenabled, report.kept)
    return report


def _same_url(a: Any, b: str) -> bool:
    return str(a or "").strip().rstrip("/").lower() == b.rstrip("/").lower()
