"""The one webhook intake every platform shares: limit, verify, classify, parse, store, answer.

Platforms differ only in data (``Platform``: header names, order topics, where the order's id,
number and time live), so this module has no per-platform branches and the blueprints are one line.

The order of checks is the security argument, so it is fixed here:

1. Body size: ``Content-Length`` over the limit is refused before anything is read; a body without
   one (chunked) is read through a stream that stops at limit + 1 byte. -> 413
2. No signature header: the platform's unsigned ping (WooCommerce ``webhook_id=N``) -> 200, else 401.
3. Store by the shop header; unknown -> 401. Only configured secrets are ever used: there is no
   store, hence no key, for an unknown or empty shop, so a missing secret can never accept all.
4. HMAC-SHA256 over the raw bytes, compared with ``hmac.compare_digest`` -> 401. Nothing before
   this point parses the body.
5. Topic: a privacy topic (Shopify's compliance webhooks) goes to its handler
   (``webhooks/compliance.py``); signed but not an order topic -> 200 ``ignored``, not stored.
6. JSON: one parse of the bytes (``json_body.loads``: orjson, read exactly as ``json.loads``
   reads it). Not JSON, not an object, or an object without an order id -> 400. A genuine order always has an id, so only a broken sender gets here; answering 200
   would claim we took a delivery we did not store (the contract's 200s are accepted, repeat and
   ignored topic), and 400 puts the fault in the platform's delivery log where the owner sees it.
   A body ``{"order": {...}}`` is unwrapped first (``order_body.unwrap_order``), here as in the
   worker, ``preview`` and the dashboard: it is what a WooCommerce webhook set to "Legacy API v3"
   sends (and Shopify's REST shape). Unwrapping rather than refusing, because that order is whole
   and signed by the store: refusing it would lose real orders of shops whose webhook still uses
   the legacy format (WooCommerce never retries), while unwrapping costs one dict lookup and gives
   the same answer in ``preview`` and in the receiver. The raw bytes are stored as they came.
7. One ledger transaction -> 200 stored / duplicate / ignored; database away -> 503 so the platform
   retries. Never 200 for a delivery that is not stored.

Everything sent to the ledger is cleaned to text any database accepts (no NUL, no lone
surrogates, bounded length), so hostile input cannot turn into a database error and a 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from integration import json_body, ledger
from integration.config import Config, Store
from integration.log_throttle import ThrottledLog
from integration.metrics import DELIVERIES, OTHER_TOPIC, UNKNOWN_STORE
from integration.state import current_state
from integration.vocabulary import DeliveryOutcome, IngestOutcome
from integration.webhooks.order_body import unwrap_order

log = logging.getLogger(__name__)
REFUSALS = ThrottledLog(log)  # a flood of bad deliveries: one line per cause, then a count per 10 s

MAX_EVENT_ID = 128  # longer ids are hashed: same id -> same key, and any column width holds it
MAX_ORDER_REF = 64
MAX_HEADER_VALUE = 512
_DRAIN_LIMIT = 16 * 1024 * 1024  # read and drop at most this much of a refused body (see _drain)


class ComplianceTopic(Protocol):
    """Handles one privacy topic's signed delivery (see integration/webhooks/compliance.py)."""

    def receive(self, intake: Intake, store: Store, topic: str, body: bytes, event_id: str) -> Answer:
        """Record and carry out the request; the answer to give."""


@dataclass(frozen=True)
class Platform:
    """Everything that differs between platforms' webhooks, as data."""

    name: str                          # config ``platform`` value and URL segment
    shop_header: str                   # identifies the store
    signature_header: str              # base64 HMAC-SHA256 of the raw body
    topic_header: str
    event_id_headers: tuple[str, ...]  # first present one is the dedupe key; () = derive from payload
    kept_header_prefix: str            # headers stored with the delivery (lower case prefix)
    order_topics: frozenset[str]       # topics whose payload is a whole order; others are ignored
    number_field: str                  # the human order number in the payload
    updated_at_field: str              # the payload's last-modified time
    naive_times_are_utc: bool = False  # WooCommerce *_gmt times carry no offset but are UTC
    ping: re.Pattern[bytes] | None = None  # an unsigned body that only tests the endpoint
    secret_may_be_html_escaped: bool = False  # WooCommerce signs with the entity-decoded secret
    customer_id_path: tuple[str, ...] = ()  # where the order names its customer's id
    # privacy topics (Shopify's compliance webhooks): signed and checked like orders, then handled here
    compliance_topics: Mapping[str, ComplianceTopic] = field(default_factory=dict, hash=False, compare=False)

    def keys(self, store: Store) -> tuple[bytes, ...]:
        """The HMAC keys a delivery of ``store`` may be signed with."""
        secret = store.webhook_secret
        variants = [secret]
        if self.secret_may_be_html_escaped and "&" in secret:
            variants.append(html.unescape(secret))
        return tuple(dict.fromkeys(v.encode("utf-8") for v in variants if v))


@dataclass(frozen=True)
class Answer:
    """An HTTP answer and how it is counted."""

    status: int
    outcome: DeliveryOutcome
    body: dict[str, str]


class Intake:
    """Per-app state prepared once at start: the configuration and every store's HMAC keys."""

    def __init__(self, config: Config, engine: Any, platforms: dict[str, Platform]):
        self.config = config
        self.engine = engine
        self.limit = config.max_body_bytes
        # Computed once so a request does no configuration work beyond one dict lookup.
        self.keys = {s.id: platforms[s.platform].keys(s) for s in config.stores.values()
                     if s.platform in platforms}


def receive(platform: Platform) -> Response:
    """Handle one delivery for ``platform`` at the current request; the whole webhook view."""
    intake = current_state().intake
    store: Store | None = None
    topic = request.headers.get(platform.topic_header, "")
    try:
        answer, store = _process(platform, intake, topic)
    except RequestEntityTooLarge:
        _drain()
        answer = Answer(413, DeliveryOutcome.TOO_LARGE, {"error": "body too large"})
    except ClientDisconnected:  # shorter than its Content-Length, or broken chunked encoding
        answer = Answer(400, DeliveryOutcome.BAD_REQUEST, {"error": "body incomplete"})
    known = topic in platform.order_topics or topic in platform.compliance_topics
    DELIVERIES.labels(store=store.id if store else UNKNOWN_STORE, topic=topic if known else OTHER_TOPIC,
                      outcome=answer.outcome).inc()
    response = jsonify(answer.body)
    response.status_code = answer.status
    if answer.status == 503:
        response.headers["Retry-After"] = "30"
    return response


def _process(platform: Platform, intake: Intake, topic: str) -> tuple[Answer, Store | None]:
    length = request.content_length
    if length is not None and length > intake.limit:
        raise RequestEntityTooLarge()
    # MAX_CONTENT_LENGTH = limit + 1 (create_app) makes this stop at limit + 1 bytes, chunked too.
    body = request.get_data(cache=False)
    if len(body) > intake.limit:
        raise RequestEntityTooLarge()

    headers = request.headers
    signature = headers.get(platform.signature_header)
    if not signature:
        if platform.ping is not None and platform.ping.fullmatch(body.strip()):
            return Answer(200, DeliveryOutcome.PING, {"status": "ignored", "reason": "ping"}), None
        REFUSALS.warning("missing_signature", "%s delivery without %s refused", platform.name,
                         platform.signature_header)
        return Answer(401, DeliveryOutcome.REJECTED_SIGNATURE, {"error": "missing signature"}), None

    shop = headers.get(platform.shop_header, "")
    store = intake.config.store_for(platform.name, shop)
    if store is None:
        REFUSALS.warning("unknown_store", "%s delivery for unknown shop %r refused", platform.name, shop[:200])
        return Answer(401, DeliveryOutcome.UNKNOWN_STORE, {"error": "unknown store"}), None

    if not _signed(body, signature, intake.keys.get(store.id, ())):
        REFUSALS.warning("rejected_signature", "store %s: %s delivery with a wrong signature refused",
                         store.id, platform.name)
        return Answer(401, DeliveryOutcome.REJECTED_SIGNATURE, {"error": "invalid signature"}), store

    if not topic.strip():  # every platform names its topic; without one we cannot tell what this is
        return Answer(400, DeliveryOutcome.BAD_REQUEST, {"error": f"missing {platform.topic_header}"}), store
    compliance = platform.compliance_topics.get(topic)
    if compliance is not None:  # a privacy request, not an order: kept by customer id and time only
        return compliance.receive(intake, store, topic, body, _event_id(platform, headers, "-", topic, body)), store
    if topic not in platform.order_topics:
        return Answer(200, DeliveryOutcome.IGNORED_TOPIC, {"status": "ignored", "reason": "not an order topic"}), store

    try:
        order = json_body.loads(body)
    except (ValueError, RecursionError):  # ValueError covers bad UTF-8 and over-long integers
        return Answer(400, DeliveryOutcome.BAD_REQUEST, {"error": "body is not JSON"}), store
    if not isinstance(order, dict):
        return Answer(400, DeliveryOutcome.BAD_REQUEST, {"error": "body is not a JSON object"}), store
    order = unwrap_order(order)
    order_ref = _order_ref(order.get("id"))
    if order_ref is None:
        return Answer(400, DeliveryOutcome.BAD_REQUEST, {"error": "order has no id"}), store

    event_id = _event_id(platform, headers, order_ref, topic, body)

    delivery = ledger.Delivery(
        store_id=store.id, platform=platform.name, topic=topic, event_id=event_id,
        order_ref=order_ref, order_number=_text(order.get(platform.number_field), MAX_ORDER_REF),
        order_updated_at=_time(order.get(platform.updated_at_field), platform.naive_times_are_utc),
        headers=_kept_headers(platform, headers), body=body, received_at=datetime.now(UTC),
        customer_ref=_customer_ref(order, platform.customer_id_path))
    try:
        outcome = ledger.ingest(intake.engine, delivery)
    except SQLAlchemyError as exc:
        # Not stored, so not 200: 503 makes Shopify retry (WooCommerce never retries, but a 5xx
        # shows in its log). The exception class names the fault without echoing any data.
        REFUSALS.error("db_unavailable", "store %s: delivery %s not stored, database unavailable (%s)",
                       store.id, event_id, type(exc).__name__)
        return Answer(503, DeliveryOutcome.DB_UNAVAILABLE, {"error": "database unavailable"}), store
    status = "accepted" if outcome is IngestOutcome.STORED else outcome.value
    return Answer(200, DeliveryOutcome(outcome), {"status": status, "store": store.id, "order": order_ref}), store


def _signed(body: bytes, signature: str, keys: tuple[bytes, ...]) -> bool:
    try:
        given = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        return False  # base64 is ASCII; compare_digest would raise on other text
    ok = False
    for key in keys:
        expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())
        ok |= hmac.compare_digest(expected, given)
    return ok


def _event_id(platform: Platform, headers: Any, order_ref: str, topic: str, body: bytes) -> str:
    """The dedupe key of a delivery: the platform's event id header, or one derived from the payload.

    A signed delivery without the id header (a hand-made test, an old API version) is still an
    order we can store: refusing it would lose it, and the derived key below still recognises a
    byte-identical repeat.

    WooCommerce has no event id: X-WC-Webhook-Delivery-ID is built from the webhook id and the
    current second, so a repeat gets a new one. We use ``order id : topic : sha256(raw body)``:
    a repeat of the same payload for the same topic is the same key, and any change to the order
    is a new key, so no distinct order state is ever deduplicated away. ``date_modified_gmt`` was
    the alternative, but it has one-second resolution and two different saves in the same second
    would collide and the newer state would be lost. The cost of hashing is a few extra inbox rows
    for payloads that differ in nothing that matters; the ledger keeps one shipment per order
    anyway, so they never mean a second booking.
    """
    for name in platform.event_id_headers:
        value = _text(headers.get(name), None)
        if value and value.strip():
            value = value.strip()
            if len(value) > MAX_EVENT_ID:
                value = "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()
            return value
    return f"{order_ref}:{topic}:{hashlib.sha256(body).hexdigest()}"


def _order_ref(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        text = str(value)
    elif isinstance(value, str):
        text = _text(value.strip(), None) or ""
    else:
        return None
    return text if text and len(text) <= MAX_ORDER_REF else None


def _customer_ref(order: dict[str, Any], path: tuple[str, ...]) -> str | None:
    """The order's customer id at ``path`` as text; None for a guest (absent, null or WooCommerce's 0)."""
    value: Any = order
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    ref = _order_ref(value) if path else None
    return None if ref in (None, "0") else ref


def _text(value: Any, limit: int | None) -> str | None:
    """``value`` as text every database stores: numbers as digits, no NUL, no lone surrogates."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text[:limit] if limit else text


def _time(value: Any, naive_is_utc: bool) -> datetime | None:
    """An aware UTC time from the payload's ISO text; None when absent or unreadable (not fatal)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        if not naive_is_utc:
            return None  # a local time without its zone cannot be ordered safely
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _kept_headers(platform: Platform, headers: Any) -> dict[str, str]:
    """The platform's own headers and Content-Type, without the signature."""
    signature = platform.signature_header.lower()
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower == signature:
            continue
        if lower.startswith(platform.kept_header_prefix) or lower == "content-type":
            kept[_text(name, 128) or "-"] = _text(value, MAX_HEADER_VALUE) or ""
    return kept


def _drain() -> None:
    """Read and drop what is left of a refused body, up to a bound.

    A server that closes a socket with unread input makes the kernel send a reset, and the client
    often sees "connection reset" instead of our 413. Reading the rest (bounded, so a client
    cannot keep us reading forever) lets the platform's log show the real answer.
    """
    stream = request.environ.get("wsgi.input")
    length = request.content_length
    if stream is None or (length is not None and length > _DRAIN_LIMIT):
        return
    remaining = _DRAIN_LIMIT if length is None else length
    if length is None and "wsgi.input_terminated" not in request.environ:
        return  # an unterminated stream without a length: reading could block
    try:
        while remaining > 0:
            chunk = stream.read(min(65536, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
    except (OSError, ValueError):
        pass
