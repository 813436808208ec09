"""A small client for the WooCommerce REST API v3 (``{url}/wp-json/wc/v3``).

Authentication: HTTP Basic with the consumer key and secret (WooCommerce accepts Basic over HTTPS).
Some hosts strip the ``Authorization`` header before PHP sees it; ``query_string_auth=True`` sends
``consumer_key``/``consumer_secret`` as query parameters instead (again HTTPS only at a real shop).

Errors arrive as ``{"code": "...", "message": "...", "data": {"status": N}}``; the code and message
are kept as the shop's words. 401/403/404 are refusals (keys have no renewal), 429 is waited out
(``Retry-After``), 5xx and network faults are retried for reads and handed to the caller for writes.
Lists page with ``per_page``/``page`` and the ``X-WP-Total`` / ``X-WP-TotalPages`` headers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from integration.shop.errors import ShopAuthRefused, ShopNotFound, ShopRefused, ShopRetryable
from integration.shop.http import Secret, Transport, retry_after_seconds

__all__ = ["API_PREFIX", "WooCommerceClient"]

PLATFORM = "woocommerce"
API_PREFIX = "/wp-json/wc/v3"
PER_PAGE = 100  # WooCommerce's maximum page size


class WooCommerceClient:
    """One WooCommerce site's REST API; thread-safe; writes never resent after an unknown outcome."""

    platform = PLATFORM

    def __init__(self, url: str, consumer_key: str, consumer_secret: str, *, query_string_auth: bool = False,
                 timeout_s: float = 15.0, max_wait_s: float = 30.0, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"WooCommerce api.url must be the site URL (https://...), got {url[:100]!r}")
        if not consumer_key or not consumer_secret:
            raise ValueError("WooCommerce needs api.consumer_key and api.consumer_secret")
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.base = self.url + API_PREFIX
        self.consumer_key = consumer_key
        self._secret = Secret(consumer_secret)
        self.query_string_auth = query_string_auth
        self.transport = Transport(PLATFORM, timeout_s=timeout_s, max_wait_s=max_wait_s,
                                   secrets=lambda: [self._secret.reveal(), self.consumer_key],
                                   session=session, sleep=sleep, base_url=self.url)

    def __repr__(self) -> str:
        return f"WooCommerceClient(url={self.url!r}, query_string_auth={self.query_string_auth})"

    @property
    def calls(self) -> int:
        """HTTP requests sent so far."""
        return self.transport.calls

    def close(self) -> None:
        """Close the pooled connections."""
        self.transport.session.close()

    # -- operations ------------------------------------------------------------------------

    def order(self, order_id: str | int) -> dict[str, Any]:
        """``GET orders/<id>``: the order as webhooks deliver it."""
        return self.request("GET", f"orders/{_id(order_id)}", what="order")

    def order_notes(self, order_id: str | int) -> list[dict[str, Any]]:
        """``GET orders/<id>/notes``: every note (private and customer notes)."""
        return self.request("GET", f"orders/{_id(order_id)}/notes", what="order notes")

    def add_order_note(self, order_id: str | int, note: str, *, customer_note: bool) -> dict[str, Any]:
        """``POST orders/<id>/notes``; ``customer_note`` True also e-mails the note to the customer."""
        return self.request("POST", f"orders/{_id(order_id)}/notes", write=True, what="order note",
                            json={"note": note, "customer_note": bool(customer_note)})

    def update_order(self, order_id: str | int, *, meta: dict[str, str] | None = None,
                     status: str | None = None) -> dict[str, Any]:
        """``PUT orders/<id>`` with meta keys to set (added or replaced by key) and/or a new status."""
        body: dict[str, Any] = {}
        if meta:
            body["meta_data"] = [{"key": k, "value": v} for k, v in meta.items()]
        if status:
            body["status"] = status
        return self.request("PUT", f"orders/{_id(order_id)}", write=True, what="order update", json=body)

    def orders_modified_after(self, since: datetime, per_page: int = PER_PAGE) -> Iterator[list[dict[str, Any]]]:
        """Pages of orders modified after ``since`` (UTC), newest change first, until the last page.

        Ordered by ``modified`` descending: an order changed while we page moves to the front, so later
        pages shift towards us (a repeat, never a gap); the next pass, starting from before this one,
        sees the moved order.
        """
        params = {"modified_after": _iso(since), "dates_are_gmt": "true", "per_page": per_page,
                  "orderby": "modified", "order": "desc"}
        page, total = 1, 1
        while page <= total:
            response = self.request("GET", "orders", what="orders modified after", raw=True,
                                    params={**params, "page": page})
            total = _int_header(response, "X-WP-TotalPages", default=page)
            yield response.json()
            page += 1

    def webhooks(self) -> list[dict[str, Any]]:
        """``GET webhooks``, every page: ``{id, name, status, topic, delivery_url, ...}``."""
        found: list[dict[str, Any]] = []
        page, total = 1, 1
        while page <= total:
            response = self.request("GET", "webhooks", what="webhooks", raw=True,
                                    params={"per_page": PER_PAGE, "page": page})
            total = _int_header(response, "X-WP-TotalPages", default=page)
            found += response.json()
            page += 1
        return found

    def create_webhook(self, *, name: str, topic: str, delivery_url: str, secret: str) -> dict[str, Any]:
        """``POST webhooks``, active, signed with ``secret``."""
        return self.request("POST", "webhooks", write=True, what="webhook create", json={
            "name": name, "topic": topic, "delivery_url": delivery_url, "secret": secret, "status": "active"})

    def update_webhook(self, webhook_id: int | str, **changes: Any) -> dict[str, Any]:
        """``PUT webhooks/<id>`` with ``changes`` (e.g. status="active", secret=...)."""
        return self.request("PUT", f"webhooks/{_id(webhook_id)}", write=True, what="webhook update", json=changes)

    # -- the HTTP exchange -------------------------------------------------------------------

    def request(self, method: str, path: str, *, write: bool = False, what: str = "request", raw: bool = False,
                params: dict[str, Any] | None = None, json: Any = None) -> Any:
        """One REST call (relative ``path``) with the rate-limit loop; the decoded JSON (or the response)."""
        return self.transport.run(lambda: self._exchange(method, path, write, what, raw, params, json), what=what)

    def _exchange(self, method: str, path: str, write: bool, what: str, raw: bool,
                  params: dict[str, Any] | None, body: Any) -> Any:
        query = dict(params or {})
        kwargs: dict[str, Any] = {"headers": {"Accept": "application/json"}}
        if self.query_string_auth:
            query.update(consumer_key=self.consumer_key, consumer_secret=self._secret.reveal())
        else:
            kwargs["auth"] = (self.consumer_key, self._secret.reveal())
        if body is not None:
            kwargs["json"] = body
        response = self.transport.send(method, f"{self.base}/{path}", write=write, params=query, **kwargs)
        status = response.status_code
        if 200 <= status < 300:
            if raw:
                return response
            try:
                return response.json()
            except ValueError:
                raise ShopRetryable(f"WooCommerce answered {what} with a body that is not JSON (a cache or "
                                    "security plugin page?)", platform=PLATFORM, http_status=status,
                                    maybe_done=write) from None
        words = self._words(response)
        if status == 429:
            raise ShopRetryable(f"WooCommerce rate limit (HTTP 429) on {what}", platform=PLATFORM, http_status=429,
                                shop_words=words, throttled=True,
                                retry_after_s=retry_after_seconds(response.headers.get("Retry-After")) or 1.0)
        if status >= 500:
            raise ShopRetryable(f"WooCommerce answered HTTP {status} on {what}", platform=PLATFORM,
                                http_status=status, shop_words=words, maybe_done=write)
        if status in (401, 403):
            hint = ("check api.consumer_key/consumer_secret and that the key has Read/Write permission; if the "
                    "host strips the Authorization header, set api.query_string_auth: true")
            raise ShopAuthRefused(f"WooCommerce refused {what} (HTTP {status}): {hint}", platform=PLATFORM,
                                  http_status=status, shop_words=words)
        if status == 404:
            raise ShopNotFound(f"WooCommerce has no {what} at {path} (HTTP 404)", platform=PLATFORM,
                               http_status=404, shop_words=words)
        raise ShopRefused(f"WooCommerce refused {what} (HTTP {status})", platform=PLATFORM, http_status=status,
                          shop_words=words)

    def _words(self, response: requests.Response) -> list[str]:
        """``code: message`` of a WooCommerce error body (masked), else the start of the body."""
        mask = self.transport.mask
        try:
            payload = response.json()
        except ValueError:
            text = " ".join(response.text.split())
            return [mask(text)[:300]] if text else []
        if isinstance(payload, dict) and ("code" in payload or "message" in payload):
            return [mask(f"{payload.get('code', '')}: {payload.get('message', '')}".strip(": "))[:500]]
        return [mask(str(payload))[:300]]


def _id(value: str | int) -> str:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"not a WooCommerce id: {text[:80]!r}")
    return text


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _int_header(response: requests.Response, name: str, default: int) -> int:
    try:
        return max(int(response.headers.get(name, "")), 0)
    except ValueError:
        return default
