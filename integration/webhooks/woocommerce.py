"""``POST /webhooks/woocommerce``: WooCommerce's headers, ping and order payload, as data."""

from __future__ import annotations

import re

from flask import Blueprint, Flask, Response

from integration.webhooks.intake import Platform, receive

WOOCOMMERCE = Platform(
    name="woocommerce",
    shop_header="X-WC-Webhook-Source",  # the site URL; config.store_for ignores case and trailing "/"
    signature_header="X-WC-Webhook-Signature",
    topic_header="X-WC-Webhook-Topic",
    # No stable event id: X-WC-Webhook-Delivery-ID is webhook id + current second, so the key is
    # derived from the payload (see intake._event_id for why order id + topic + body hash).
    event_id_headers=(),
    kept_header_prefix="x-wc-",
    # order.deleted carries only the id; order.restored is a whole order again.
    order_topics=frozenset({"order.created", "order.updated", "order.restored"}),
    number_field="number",
    updated_at_field="date_modified_gmt",  # UTC without an offset; date_modified is site-local
    naive_times_are_utc=True,
    ping=re.compile(rb"webhook_id=\d{1,20}"),  # sent unsigned when a webhook is created or activated
    secret_may_be_html_escaped=True,
    customer_id_path=("customer_id",),  # 0 for a guest
)

bp = Blueprint("woocommerce", __name__)


@bp.post("/webhooks/woocommerce")
def woocommerce_webhook() -> Response:
    """Receive one WooCommerce delivery or ping."""
    return receive(WOOCOMMERCE)


def init_app(app: Flask) -> None:
    """Register the WooCommerce webhook."""
    app.register_blueprint(bp)
