"""A local stand-in for the parts of the WooCommerce REST API v3 this project uses, served over HTTP.

``create_woocommerce_standin(...)`` answers under ``/wp-json/wc/v3`` as WooCommerce's documents say:

- authentication by HTTP Basic (consumer key : consumer secret) or by ``consumer_key`` /
  ``consumer_secret`` query parameters; ``strip_authorization=True`` plays a host that drops the
  Authorization header, so only the query-string keys work there. Errors are WooCommerce's
  ``{code, message, data: {status}}``;
- ``GET orders`` with ``modified_after`` (+ ``dates_are_gmt``), ``per_page`` (at most 100), ``page``,
  ``orderby``/``order``, and the ``X-WP-Total`` / ``X-WP-TotalPages`` headers; a page past the last is
  WordPress's 400 ``rest_post_invalid_page_number``;
- ``GET``/``PUT orders/<id>`` (``meta_data`` entries set by key, ``status``; ``date_modified`` moves),
  ``GET``/``POST orders/<id>/notes``;
- ``GET``/``POST webhooks`` and ``GET``/``PUT webhooks/<id>`` (``active``/``paused``/``disabled``; the
  secret is kept but, as in WooCommerce, never shown in answers).

Faults (``standin_common``) apply to API requests; ``lose_reply`` to writes (POST/PUT). Inspection:
``GET /_standin/state`` (orders, notes, webhooks with their secrets), ``POST /_standin/orders``,
``POST /_standin/webhooks/<id>/disable``, ``GET /_standin/stats``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request

from integration.shop.standin_common import FaultGate, drop_connection, register_control_routes

__all__ = ["DEFAULT_KEYS", "WooStandin", "create_woocommerce_standin"]

DEFAULT_KEYS = {"ck_standin_0001": "cs_standin_secret_0001"}
PREFIX = "/wp-json/wc/v3"
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
WEBHOOK_TOPICS = {"order.created", "order.updated", "order.deleted", "order.restored", "product.created",
                  "product.updated", "customer.created", "customer.updated", "coupon.created"}


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _parse_gmt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _error(code: str, message: str, status: int) -> Response:
    response = jsonify({"code": code, "message": message, "data": {"status": status}})
    response.status_code = status
    return response


class WooStandin:
    """Orders, notes and webhooks of one stand-in site; thread-safe."""

    def __init__(self, keys: dict[str, str] | None, strip_authorization: bool):
        self.keys = dict(DEFAULT_KEYS if keys is None else keys)
        self.strip_authorization = strip_authorization
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """No orders, notes or webhooks."""
        with self.lock:
            self.orders: dict[int, dict[str, Any]] = {}
            self.notes: dict[int, list[dict[str, Any]]] = {}
            self.webhooks: dict[int, dict[str, Any]] = {}
            self._next = 500

    def next_id(self) -> int:
        """A fresh id for a note, meta entry or webhook."""
        self._next += 1
        return self._next

    def add_order(self, order: dict[str, Any]) -> None:
        """Keep ``order`` (webhook JSON); ``date_modified_gmt`` is kept as given."""
        with self.lock:
            copy = json.loads(json.dumps(order))
            copy.setdefault("meta_data", [])
            copy.setdefault("date_modified_gmt", _gmt(datetime.now(UTC)))
            self.orders[int(copy["id"])] = copy
            self.notes.setdefault(int(copy["id"]), [])

    def touch(self, order: dict[str, Any]) -> None:
        """The order changed now: ``date_modified(_gmt)`` move (second resolution, never backwards)."""
        now = datetime.now(UTC).replace(microsecond=0)
        before = _parse_gmt(order.get("date_modified_gmt"))
        if before is not None and before >= now:
            now = before + timedelta(seconds=1)
        order["date_modified_gmt"] = _gmt(now)
        order["date_modified"] = _gmt(now)

    def authorised(self) -> Response | None:
        """None when the request carries a known key and its secret; else WooCommerce's 401."""
        key = secret = None
        header = "" if self.strip_authorization else request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                key = secret = None
        if key is None:
            key, secret = request.args.get("consumer_key"), request.args.get("consumer_secret")
        if not key:
            return _error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
        known = self.keys.get(key)
        if known is None:
            return _error("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        if not secrets.compare_digest(known, secret or ""):
            return _error("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
        return None

    def public_webhook(self, hook: dict[str, Any]) -> dict[str, Any]:
        """A webhook as WooCommerce answers it: without its secret."""
        return {k: v for k, v in hook.items() if k != "secret"}


def _page_args() -> tuple[int, int] | Response:
    try:
        per_page = int(request.args.get("per_page", 10))
        page = int(request.args.get("page", 1))
    except ValueError:
        return _error("rest_invalid_param", "Invalid parameter(s): per_page, page", 400)
    if not 1 <= per_page <= 100:
        return _error("rest_invalid_param", "Invalid parameter(s): per_page (per_page must be between 1 and 100)", 400)
    if page < 1:
        return _error("rest_invalid_param", "Invalid parameter(s): page", 400)
    return per_page, page


def _paged(items: list[Any]) -> Response:
    args = _page_args()
    if isinstance(args, Response):
        return args
    per_page, page = args
    total = len(items)
    pages = (total + per_page - 1) // per_page
    if page > 1 and page > pages:
        return _error("rest_post_invalid_page_number",
                      "The page number requested is larger than the number of pages available.", 400)
    response = jsonify(json.loads(json.dumps(items[(page - 1) * per_page: page * per_page])))
    response.headers["X-WP-Total"] = str(total)
    response.headers["X-WP-TotalPages"] = str(pages)
    return response


def create_woocommerce_standin(*, keys: dict[str, str] | None = None, strip_authorization: bool = False,
                               **faults: Any) -> Flask:
    """A Flask app that answers like a WooCommerce site's REST API v3; keyword arguments set faults."""
    site = WooStandin(keys, strip_authorization)
    gate = FaultGate(faults)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["woocommerce_standin"] = site
    app.extensions["shop_faults"] = gate
    register_control_routes(app, gate, site.reset)

    def guard(operation: str) -> Response | None:
        return gate.enter(operation) or site.authorised()

    def written(body: Any, status: int = 200) -> Response:
        stall = gate.take_lost_reply()
        if stall is not None:
            return drop_connection(stall)
        response = jsonify(body)
        response.status_code = status
        return response

    def no_order() -> Response:
        return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)

    @app.get(f"{PREFIX}/orders")
    def list_orders():
        refused = guard("GET orders")
        if refused is not None:
            return refused
        after = _parse_gmt(request.args.get("modified_after"))
        if request.args.get("modified_after") and after is None:
            return _error("rest_invalid_param", "Invalid parameter(s): modified_after", 400)
        with site.lock:
            rows = [o for o in site.orders.values()
                    if after is None or (_parse_gmt(o.get("date_modified_gmt")) or after) > after]
            key = {"modified": lambda o: (o.get("date_modified_gmt") or "", o["id"]), "id": lambda o: o["id"]}.get(
                request.args.get("orderby", "date"), lambda o: (o.get("date_created_gmt") or "", o["id"]))
            rows.sort(key=key, reverse=request.args.get("order", "desc") == "desc")
            return _paged(rows)

    @app.get(f"{PREFIX}/orders/<int:order_id>")
    def get_order(order_id: int):
        refused = guard("GET order")
        if refused is not None:
            return refused
        with site.lock:
            order = site.orders.get(order_id)
            return jsonify(order) if order is not None else no_order()

    @app.put(f"{PREFIX}/orders/<int:order_id>")
    def put_order(order_id: int):
        refused = guard("PUT order")
        if refused is not None:
            return refused
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error("rest_invalid_json", "Invalid JSON body passed.", 400)
        with site.lock:
            order = site.orders.get(order_id)
            if order is None:
                return no_order()
            status = body.get("status")
            if status is not None and status not in STATUSES:
                return _error("rest_invalid_param", f"Invalid parameter(s): status (status is not one of "
                              f"{', '.join(STATUSES)}.)", 400)
            for entry in body.get("meta_data") or []:
                if not isinstance(entry, dict) or not entry.get("key"):
                    return _error("rest_invalid_param", "Invalid parameter(s): meta_data", 400)
                same = next((m for m in order["meta_data"] if m.get("key") == entry["key"]), None)
                if same is not None:
                    same["value"] = entry.get("value")
                else:
                    order["meta_data"].append({"id": site.next_id(), "key": entry["key"], "value": entry.get("value")})
            if status is not None:
                order["status"] = status
            site.touch(order)
            return written(json.loads(json.dumps(order)))

    @app.get(f"{PREFIX}/orders/<int:order_id>/notes")
    def get_notes(order_id: int):
        refused = guard("GET notes")
        if refused is not None:
            return refused
        with site.lock:
            if order_id not in site.orders:
                return no_order()
            return jsonify(list(reversed(site.notes[order_id])))  # newest first, as WooCommerce lists them

    @app.post(f"{PREFIX}/orders/<int:order_id>/notes")
    def post_note(order_id: int):
        refused = guard("POST note")
        if refused is not None:
            return refused
        body = request.get_json(silent=True) or {}
        if not str(body.get("note") or "").strip():
            return _error("rest_missing_callback_param", "Missing parameter(s): note", 400)
        with site.lock:
            if order_id not in site.orders:
                return no_order()
            now = datetime.now(UTC)
            note = {"id": site.next_id(), "author": "WooCommerce", "date_created": _gmt(now),
                    "date_created_gmt": _gmt(now), "note": str(body["note"]),
                    "customer_note": bool(body.get("customer_note")), "added_by_user": False}
            site.notes[order_id].append(note)
            return written(note, 201)

    @app.get(f"{PREFIX}/webhooks")
    def list_webhooks():
        refused = guard("GET webhooks")
        if refused is not None:
            return refused
        with site.lock:
            return _paged([site.public_webhook(h) for h in site.webhooks.values()])

    @app.post(f"{PREFIX}/webhooks")
    def create_webhook():
        refused = guard("POST webhook")
        if refused is not None:
            return refused
        body = request.get_json(silent=True) or {}
        topic, url = body.get("topic"), str(body.get("delivery_url") or "")
        if topic not in WEBHOOK_TOPICS:
            return _error("rest_invalid_param", "Invalid parameter(s): topic (Webhook topic is invalid)", 400)
        if not url.startswith(("http://", "https://")):
            return _error("rest_invalid_param", "Invalid parameter(s): delivery_url", 400)
        with site.lock:
            hook_id = site.next_id()
            resource, _, event = topic.partition(".")
            now = _gmt(datetime.now(UTC))
            site.webhooks[hook_id] = {
                "id": hook_id, "name": body.get("name") or f"Webhook created on {now}",
                "status": body.get("status") or "active", "topic": topic, "resource": resource, "event": event,
                "hooks": [f"woocommerce_{resource}_{event}"], "delivery_url": url,
                "secret": body.get("secret") or secrets.token_urlsafe(24), "date_created_gmt": now,
                "date_modified_gmt": now}
            return written(site.public_webhook(site.webhooks[hook_id]), 201)

    @app.put(f"{PREFIX}/webhooks/<int:hook_id>")
    def update_webhook(hook_id: int):
        refused = guard("PUT webhook")
        if refused is not None:
            return refused
        body = request.get_json(silent=True) or {}
        with site.lock:
            hook = site.webhooks.get(hook_id)
            if hook is None:
                return _error("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
            if "status" in body and body["status"] not in ("active", "paused", "disabled"):
                return _error("rest_invalid_param", "Invalid parameter(s): status", 400)
            for key in ("name", "status", "secret", "delivery_url"):
                if key in body:
                    hook[key] = body[key]
            hook["date_modified_gmt"] = _gmt(datetime.now(UTC))
            return written(site.public_webhook(hook))

    @app.get("/_standin/state")
    def standin_state():
        with site.lock:
            return jsonify({"orders": list(site.orders.values()),
                            "notes": {str(k): v for k, v in site.notes.items()},
                            "webhooks": list(site.webhooks.values())})

    @app.post("/_standin/orders")
    def standin_add_orders():
        payload = request.get_json(silent=True)
        items = payload if isinstance(payload, list) else [payload]
        if not all(isinstance(o, dict) and "id" in o for o in items):
            return jsonify({"error": "send an order (webhook JSON) or a list of them"}), 400
        for order in items:
            site.add_order(order)
        return jsonify({"added": len(items)})

    @app.post("/_standin/webhooks/<int:hook_id>/disable")
    def standin_disable(hook_id: int):
        with site.lock:
            hook = site.webhooks.get(hook_id)
            if hook is None:
                return jsonify({"error": "no such webhook"}), 404
            hook["status"] = "disabled"  # what WooCommerce does after more than five failed deliveries
        return jsonify({"disabled": hook_id})

    return app
