"""Shopify's compliance topics at ``POST /webhooks/shopify``: ``customers/redact``, ``shop/redact``,
``customers/data_request``.

They arrive signed like any delivery (same HMAC, same shop lookup: the shared intake checks both
before handing the body here). Their payloads, as Shopify documents them::

    customers/redact        {shop_id, shop_domain, customer: {id, email, phone}, orders_to_redact: [id...]}
    shop/redact             {shop_id, shop_domain}
    customers/data_request  {shop_id, shop_domain, customer: {id, email, phone}, orders_requested: [id...],
                             data_request: {id}}

A request is recorded by store, kind, customer id, the order ids it names and the time; the e-mail
and phone it carries are read by nobody and stored nowhere (the body itself is not kept). Then:

- ``customers/redact``: that customer's orders (by the customer id recorded at ingest, and the
  order ids named) are erased at once; orders still open end as skipped, saying why, and are not
  booked afterwards;
- ``shop/redact``: the store's orders, likewise; up to ``WEB_BUDGET`` orders within the request,
  the rest by the worker within a minute (or the next ``prune``);
- ``customers/data_request``: recorded only; ``jne-integration status --customer ID`` prints what
  is held for the customer, for the shop owner to send.

Answers as for orders: 200 ``accepted`` (``duplicate`` for a repeat of a finished request), 400 for a
body that is not a JSON object or names neither a customer nor orders, 503 when the database is
away (Shopify retries; the request is done on the retry).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from integration.config import Store
from integration.ledger.retention import PrivacyRequest, RequestKind, record_request
from integration.privacy import passes
from integration.vocabulary import DeliveryOutcome
from integration.webhooks.intake import REFUSALS, Answer, Intake, _order_ref

log = logging.getLogger(__name__)

WEB_BUDGET = 200   # orders erased within one web request (Shopify waits 5 s for the answer)
MAX_ORDERS = 10000  # order ids kept from one request; a customer with more is not a real one


@dataclass(frozen=True)
class PrivacyTopic:
    """One compliance topic, as data: what it asks and where its payload lists the orders concerned."""

    kind: RequestKind
    orders_key: str | None = None     # the payload's list of order ids
    per_customer: bool = True         # the payload names a customer (shop/redact does not)

    def receive(self, intake: Intake, store: Store, topic: str, body: bytes, event_id: str) -> Answer:
        """Record the request, carry it out, answer."""
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return Answer(400, DeliveryOutcome.BAD_REQUEST, {"error": "body is not JSON"})
        if not isinstance(payload, dict):
            return Answer(400, DeliveryOutcome.BAD_REQUEST, {"error": "body is not a JSON object"})
        customer = payload.get("customer")
        customer_ref = _order_ref(customer.get("id")) if isinstance(customer, dict) else None
        orders = _order_refs(payload.get(self.orders_key) if self.orders_key else None)
        if self.per_customer and customer_ref is None and not orders:
            return Answer(400, DeliveryOutcome.BAD_REQUEST, {"error": "request names no customer id and no orders"})
        now = datetime.now(UTC)
        request = PrivacyRequest(store_id=store.id, kind=self.kind, event_id=event_id,
                                 customer_ref=customer_ref if self.per_customer else None, orders=orders,
                                 received_at=now)
        try:
            request_id, done = record_request(intake.engine, request)
            if done:
                return Answer(200, DeliveryOutcome.DUPLICATE, {"status": "duplicate", "store": store.id})
            erased, finished = passes.fulfil(intake.engine, replace(request, id=request_id),
                                             intake.config.language, now, limit=WEB_BUDGET)
        except SQLAlchemyError as exc:
            REFUSALS.error("db_unavailable", "store %s: %s not done, database unavailable (%s)", store.id, topic,
                           type(exc).__name__)
            return Answer(503, DeliveryOutcome.DB_UNAVAILABLE, {"error": "database unavailable"})
        # Ids and counts only: never the e-mail or phone the request carries.
        log.info("store %s: Shopify %s for customer %s (%d orders named): %d orders erased%s", store.id, topic,
                 request.customer_ref or "-", len(orders), erased, "" if finished else ", the rest follows")
        return Answer(200, DeliveryOutcome.STORED, {"status": "accepted", "store": store.id})


def _order_refs(value: Any) -> tuple[str, ...]:
    """The valid order ids of a payload list (anything else in it is left out), at most MAX_ORDERS."""
    if not isinstance(value, list):
        return ()
    refs = (_order_ref(v) for v in value[:MAX_ORDERS])
    return tuple(dict.fromkeys(r for r in refs if r is not None))


CUSTOMERS_REDACT = PrivacyTopic(RequestKind.CUSTOMER_REDACT, orders_key="orders_to_redact")
SHOP_REDACT = PrivacyTopic(RequestKind.SHOP_REDACT, per_customer=False)
CUSTOMERS_DATA_REQUEST = PrivacyTopic(RequestKind.CUSTOMER_DATA_REQUEST, orders_key="orders_requested")
