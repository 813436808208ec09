"""Write a booked order's cnote to the shop exactly once: look first, then write.

``write_back(client, order_ref, cnote, settings, may_have_written=...)`` is a pure operation over a
client: it keeps no state, so whoever calls it (the worker, with a ledger row per shipment and leases,
attempts and backoff like bookings) decides when to call it again. The result says what to do next:

- ``done``: the shop shows the cnote (``wrote`` tells whether this call wrote it, or found it there);
- ``retry``: a fault that may pass (429, THROTTLED, 5xx, a lost reply); ``retry_after_s`` is the shop's
  own wait when it gave one, else the caller's backoff applies. The next call looks first, so a write
  whose reply was lost is found, not repeated;
- ``refused``: the shop said no (``userErrors``, 401/403/404, a cancelled order...): ``shop_words`` are
  its own words, for the owner. The booking stays booked whatever happens here.

Shopify (one query, then one ``fulfillmentCreate`` per location): the order's fulfillment orders and
fulfillments come in one query. A fulfillment with this tracking number and nothing left open: done.
Otherwise every open fulfillment order is fulfilled with ``trackingInfo {company, number, url}`` and
``notifyCustomer``. Steady state: 2 calls.

WooCommerce (a note, then the order update): the note names the cnote (a customer note, e-mailed, when
``notify_customer``); then meta ``jne_cnote`` (and status ``completed`` when ``complete_order``) is
written in one ``PUT``. The meta is written last, so it marks "note written too". The look (``GET``
the order, and its notes) is needed only when an earlier attempt may have written
(``may_have_written``), or before ``complete_order`` changes the status, so a cancelled order is never
marked completed. Steady state: 2 calls (3 with ``complete_order``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from integration.shop.errors import ShopRefused, ShopRetryable
from integration.shop.settings import WritebackSettings, tracking_url
from integration.shop.shopify import ShopifyClient, Tracking
from integration.shop.woocommerce import WooCommerceClient

__all__ = ["META_KEY", "WritebackResult", "note_text", "write_back"]

log = logging.getLogger("integration.shop.writeback")

META_KEY = "jne_cnote"
WOO_CLOSED = ("cancelled", "refunded", "failed", "trash", "checkout-draft")

Outcome = Literal["done", "retry", "refused"]


@dataclass(frozen=True)
class WritebackResult:
    """What one write-back attempt came to (see the module docstring)."""

    outcome: Outcome
    reason: str
    shop_words: tuple[str, ...] = ()
    retry_after_s: float | None = None
    wrote: bool = False   # this attempt wrote to the shop (False: found it already written, or failed)
    calls: int = 0        # HTTP requests this attempt made (counted in the calling thread)
    http_status: int | None = None  # the status of the shop's answer that decided it; None: no answer

    @property
    def done(self) -> bool:
        """The shop shows the cnote."""
        return self.outcome == "done"


def write_back(client: ShopifyClient | WooCommerceClient, order_ref: str | int, cnote: str,
               settings: WritebackSettings, *, may_have_written: bool = True) -> WritebackResult:
    """Write ``cnote`` to order ``order_ref`` unless the shop already shows it; never raises for shop faults.

    ``may_have_written`` False promises that no earlier attempt for this order can have reached the
    shop (the ledger knows: no attempt was ever begun); it lets WooCommerce skip the look. When in
    doubt pass True: looking costs a call, writing twice costs the customer a second e-mail.
    """
    cnote = cnote.strip()
    if not cnote:
        raise ValueError("cnote is empty")
    before = client.transport.thread_calls()
    status: int | None = None
    try:
        if isinstance(client, ShopifyClient):
            result = _shopify(client, order_ref, cnote, settings)
        else:
            result = _woocommerce(client, order_ref, cnote, settings, may_have_written)
    except ShopRetryable as exc:
        result = WritebackResult("retry", exc.reason, exc.shop_words, retry_after_s=exc.retry_after_s)
        status = exc.http_status
    except ShopRefused as exc:
        result = WritebackResult("refused", exc.reason, exc.shop_words)
        status = exc.http_status
    calls = client.transport.thread_calls() - before
    # The answer that decided the outcome is the attempt's last one: the write's, the look's that found
    # the cnote there, or the error's (a GraphQL refusal comes with 200; a timeout with none).
    if status is None and calls:
        status = client.transport.thread_status()
    result = WritebackResult(result.outcome, result.reason, result.shop_words, result.retry_after_s,
                             result.wrote, calls, status)
    level = logging.INFO if result.done else logging.WARNING
    log.log(level, "%s order %s cnote %s write-back %s (%d calls): %s%s", client.platform, order_ref, cnote,
            result.outcome, result.calls, result.reason,
            f" [{'; '.join(result.shop_words)}]" if result.shop_words else "")
    return result


def note_text(cnote: str, settings: WritebackSettings) -> str:
    """The order note naming the cnote (the look searches notes for the cnote itself)."""
    url = tracking_url(settings.tracking_url, cnote)
    text = f"Dikirim dengan {settings.tracking_company}, no. resi (cnote): {cnote}"
    return f"{text}. Lacak: {url}" if url else text


def _shopify(client: ShopifyClient, order_ref: str | int, cnote: str,
             settings: WritebackSettings) -> WritebackResult:
    state = client.order_fulfillment(order_ref)
    ours = [f for f in state.fulfillments if f.has_number(cnote) and f.status.upper() not in ("CANCELLED", "ERROR",
                                                                                              "FAILURE")]
    open_orders = state.open_fulfillment_orders
    if not open_orders:
        if ours:
            return WritebackResult("done", f"Shopify already shows {state.name or order_ref} fulfilled with cnote {cnote}")
        if state.cancelled_at:
            return WritebackResult("refused", f"the order {state.name or order_ref} is cancelled in Shopify; "
                                   f"cnote {cnote} was not written (cancel the JNE pickup if it is not needed)")
        others = sorted({t.number for f in state.fulfillments for t in f.tracking if t.number})
        if others:
            return WritebackResult("refused", f"Shopify shows {state.name or order_ref} already fulfilled with "
                                   f"tracking {', '.join(others)}, not cnote {cnote}")
        held = sorted({fo.status for fo in state.fulfillment_orders if fo.status in ("ON_HOLD", "SCHEDULED")})
        if held:
            return WritebackResult("refused", f"the fulfillment orders of {state.name or order_ref} are "
                                   f"{'/'.join(held)}; release them in Shopify, then replay the write-back")
        return WritebackResult("refused", f"{state.name or order_ref} has nothing left to fulfil in Shopify "
                               f"(fulfilled by hand without a tracking number?); cnote {cnote} not written")
    if state.cancelled_at:
        return WritebackResult("refused", f"the order {state.name or order_ref} is cancelled in Shopify; "
                               f"cnote {cnote} was not written")
    # fulfillmentCreate takes fulfillment orders of one location at a time.
    by_location: dict[str | None, list[str]] = defaultdict(list)
    for fo in open_orders:
        by_location[fo.location_id].append(fo.id)
    tracking = Tracking(company=settings.tracking_company, number=cnote,
                        url=tracking_url(settings.tracking_url, cnote))
    for ids in by_location.values():
        client.create_fulfillment(ids, tracking, settings.notify_customer)
    return WritebackResult("done", f"fulfilled {state.name or order_ref} in Shopify with cnote {cnote}"
                           + (" (customer notified)" if settings.notify_customer else ""), wrote=True)


def _woocommerce(client: WooCommerceClient, order_ref: str | int, cnote: str, settings: WritebackSettings,
                 may_have_written: bool) -> WritebackResult:
    note_there = False
    if may_have_written or settings.complete_order:
        order = client.order(order_ref)
        status = str(order.get("status") or "")
        meta = {m.get("key"): m.get("value") for m in order.get("meta_data") or [] if isinstance(m, dict)}
        if str(meta.get(META_KEY) or "").strip() == cnote and (not settings.complete_order or status == "completed"):
            return WritebackResult("done", f"WooCommerce order {order_ref} already shows cnote {cnote}")
        if status in WOO_CLOSED:
            return WritebackResult("refused", f"WooCommerce order {order_ref} is {status}; cnote {cnote} was not "
                                   "written (cancel the JNE pickup if it is not needed)")
        if may_have_written:
            note_there = any(cnote in str(n.get("note") or "") for n in client.order_notes(order_ref))
    if not note_there:
        client.add_order_note(order_ref, note_text(cnote, settings), customer_note=settings.notify_customer)
    client.update_order(order_ref, meta={META_KEY: cnote}, status="completed" if settings.complete_order else None)
    return WritebackResult("done", f"WooCommerce order {order_ref}: note and meta {META_KEY} = {cnote}"
                           + (", status completed" if settings.complete_order else ""), wrote=True)
