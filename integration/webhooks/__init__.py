"""Webhook receivers: one tiny blueprint per platform over the shared ``intake``."""

from __future__ import annotations

from flask import Flask

from integration.webhooks import shopify, woocommerce
from integration.webhooks.intake import Platform

PLATFORMS: dict[str, Platform] = {p.name: p for p in (shopify.SHOPIFY, woocommerce.WOOCOMMERCE)}


def init_app(app: Flask) -> None:
    """Register every platform's webhook blueprint."""
    shopify.init_app(app)
    woocommerce.init_app(app)
