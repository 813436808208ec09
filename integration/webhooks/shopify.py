"""``POST /webhooks/shopify``: Shopify's headers and order payload, as data for the shared intake."""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from integration.webhooks import compliance
from integration.webhooks.intake import Platform, receive

SHOPIFY = Platform(
    name="shopify",
    shop_header="X-Shopify-Shop-Domain",
    signature_header="X-Shopify-Hmac-Sha256",
    topic_header="X-Shopify-Topic",
    # Event-Id is Shopify's documented duplicate key (same for every retry of one event);
    # Webhook-Id is per delivery attempt, used only by senders that do not set Event-Id.
    event_id_headers=("X-Shopify-Event-Id", "X-Shopify-Webhook-Id"),
    kept_header_prefix="x-shopify-",
    # Topics whose payload is the whole order. orders/delete carries only the id and
    # orders/edited an order edit, so storing them would overwrite a good snapshot.
    order_topics=frozenset({"orders/create", "orders/updated", "orders/paid", "orders/cancelled",
                            "orders/fulfilled", "orders/partially_fulfilled"}),
    number_field="name",            # "#1042", what the shop and its customer see
    updated_at_field="updated_at",  # ISO 8601 with offset
    customer_id_path=("customer", "id"),
    # The mandatory privacy topics every Shopify app receives (integration/webhooks/compliance.py).
    compliance_topics={"customers/redact": compliance.CUSTOMERS_REDACT, "shop/redact": compliance.SHOP_REDACT,
                       "customers/data_request": compliance.CUSTOMERS_DATA_REQUEST},
)

bp = Blueprint("shopify", __name__)


@bp.post("/webhooks/shopify")
def shopify_webhook() -> Response:
    """Receive one Shopify delivery."""
    return receive(SHOPIFY)


def init_app(app: Flask) -> None:
    """Register the Shopify webhook."""
    app.register_blueprint(bp)
