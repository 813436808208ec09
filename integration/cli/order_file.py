"""An order file as the owner has it, read for ``preview`` and ``send``; the topic a raw order books on.

Three shapes are read: the order exactly as the platform sends it (a webhook body, or the
``order_json`` that ``show`` prints), a test fixture ``{"topic", "order"}``, and the whole output of
``show --json`` (its ``order_json`` and ``topic``). A raw order carries no topic; it gets the topic
that books it on its platform under the default mappings (see ``booking_topic``), and the commands
say that they assumed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

# The default mappings' triggers (mappings/shopify.yaml, mappings/woocommerce.yaml): Shopify books a
# paid order from orders/paid and a pending COD order from orders/create; WooCommerce books a
# "processing" order from order.created or order.updated, and order.updated is the one that
# arrives when an order becomes processing after payment.
SHOPIFY_PAID, SHOPIFY_CREATED = "orders/paid", "orders/create"
WOOCOMMERCE_UPDATED = "order.updated"


def booking_topic(platform: str, order: Any) -> tuple[str, str]:
    """The topic a raw order of ``platform`` books on, and why (for the owner)."""
    if platform == "shopify":
        status = order.get("financial_status") if isinstance(order, dict) else None
        if status == "paid":
            return SHOPIFY_PAID, "Shopify sends it when an order is paid"
        return SHOPIFY_CREATED, (f"the order is {status!s} (not paid): Shopify books it on creation only as "
                                 "cash on delivery")
    return WOOCOMMERCE_UPDATED, "WooCommerce sends it when an order becomes processing"


@dataclass(frozen=True)
class OrderFile:
    """An order read from a file: the order, its raw bytes when the file was the order itself, the topic."""

    order: Any
    body: bytes            # what to send: the file's own bytes for a raw order, else the order as JSON
    topic: str
    topic_assumed: bool    # no --topic and none in the file: the platform's booking topic
    topic_reason: str = ""


def read_order_file(path: str, topic: str | None, platform: str) -> OrderFile:
    """Read ``path`` (raw order, fixture or ``show --json`` output); the topic: given, in the file, else assumed."""
    raw = Path(path).read_bytes()
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise click.BadParameter(f"{path} is not JSON: {exc}", param_hint="ORDER.json") from None
    written: str | None = None
    order: Any = doc
    body = raw
    if isinstance(doc, dict) and "order_json" in doc and "store" in doc and "id" not in doc:
        order, written = doc["order_json"], doc.get("topic")   # the output of `show --json`
        body = json.dumps(order, ensure_ascii=False).encode("utf-8")
    elif isinstance(doc, dict) and isinstance(doc.get("order"), dict) and "id" not in doc:
        order, written = doc["order"], doc.get("topic")        # a test fixture
        body = json.dumps(order, ensure_ascii=False).encode("utf-8")
    if not isinstance(order, dict):
        raise click.BadParameter(f"{path} holds no order object", param_hint="ORDER.json")
    if topic:
        return OrderFile(order, body, topic, False)
    if isinstance(written, str) and written:
        return OrderFile(order, body, written, False)
    assumed, why = booking_topic(platform, order)
    return OrderFile(order, body, assumed, True, why)
