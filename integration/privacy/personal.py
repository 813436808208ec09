"""What is personal in a stored order, and erasing it: platform payloads and JNE fields, as data.

Personal here means what identifies or reaches a person: names, phones, e-mails, street addresses,
precise positions, free-text notes, network addresses and browser details. It is removed from:

- the raw delivery (the order as the shop sent it): the keys of ``ORDER_PERSONAL_KEYS`` for its
  platform at the top level, and ``NESTED_PERSONAL_KEYS`` at any depth (line item properties,
  WooCommerce meta data, addresses inside fulfillments or refunds...);
- the fields sent to JNE (``JNE_PERSONAL_FIELDS``): the receiver's name, contact, phone, address
  lines, position and the special instruction (the order's note);
- every free text kept about the order (the owner's error words, JNE's reasons and replies, stored
  headers): the values found above are searched for and replaced wherever they appear, in any
  case, URL-encoded, and phones in their other spellings (0812..., 62812..., +62812...), as whole
  words (a first name "Andi" is not cut out of "Bandung").

What stays is what says what happened to the order: ids and numbers, ORDER_ID, cnote, status,
amounts, dates, products, the shipping service, and the place as far as the tariff goes: city,
district, region, postal code, country and JNE destination code. Those are kept on purpose: a
postal code or a kecamatan covers thousands of households, so it points at no one, and it is what
explains a destination choice, a tariff or a label after the fact. Values shorter than
``MIN_VALUE_CHARS`` are not searched for in free text (a two-letter name would erase every word
holding those letters); the fields and keys that hold them are removed all the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

ERASED = "[erased]"
MIN_VALUE_CHARS = 3

# Top-level keys of each platform's order payload that hold personal data or lead to it (session
# tokens, status URLs with the order's secret key, landing pages with e-mails in their query).
ORDER_PERSONAL_KEYS: dict[str, frozenset[str]] = {
    "shopify": frozenset({
        "customer", "billing_address", "shipping_address", "email", "contact_email", "phone", "note",
        "note_attributes", "client_details", "browser_ip", "landing_site", "landing_site_ref",
        "referring_site", "cart_token", "checkout_token", "token", "order_status_url", "payment_details",
        "company", "user_id", "device_id",
    }),
    "woocommerce": frozenset({
        "billing", "shipping", "customer_note", "customer_ip_address", "customer_user_agent", "meta_data",
        "payment_url", "order_key", "transaction_id",
    }),
}
# Removed wherever they appear, in both platforms' payloads (line items, fulfillments, refunds...).
NESTED_PERSONAL_KEYS = frozenset({
    "properties", "meta_data", "destination_location", "default_address", "addresses", "email", "phone",
    "first_name", "last_name", "address1", "address2", "address_1", "address_2", "company", "latitude",
    "longitude", "note", "customer_note", "billing_address", "shipping_address", "billing", "shipping",
    "customer", "client_details", "browser_ip", "user_agent",
})
# Inside a removed part, the leaves whose values are searched for in free text elsewhere. Places
# (city, province, zip, country) are not: they are kept on purpose (see the module docstring).
VALUE_KEYS = frozenset({
    "name", "first_name", "last_name", "company", "address1", "address2", "address_1", "address_2",
    "phone", "email", "contact_email", "note", "customer_note", "value", "latitude", "longitude",
    "browser_ip", "customer_ip_address", "user_agent", "customer_user_agent", "key",
})
# JNE booking fields about the receiver as a person (the shipper and pickup are the shop's own).
JNE_PERSONAL_FIELDS = frozenset({
    "RECEIVER_NAME", "RECEIVER_ADDR1", "RECEIVER_ADDR2", "RECEIVER_ADDR3", "RECEIVER_CONTACT",
    "RECEIVER_PHONE", "SPECIAL_INS", "LAT", "LON",
})
# JNE fields kept although they describe the receiver's place: the tariff's granularity.
JNE_KEPT_PLACE_FIELDS = frozenset({
    "RECEIVER_CITY", "RECEIVER_ZIP", "RECEIVER_REGION", "RECEIVER_COUNTRY", "DESTINATION_CODE",
})
_ALL_ORDER_KEYS = frozenset().union(*ORDER_PERSONAL_KEYS.values())


def personal_keys(platform: str) -> frozenset[str]:
    """The top-level order keys removed for ``platform`` (both platforms' for an unknown one)."""
    return ORDER_PERSONAL_KEYS.get(platform, _ALL_ORDER_KEYS)


def personal_parts(order: Any, platform: str) -> dict[str, Any]:
    """The personal parts of ``order`` (what :func:`erase_order` removes), keyed by where they were.

    Nested parts are keyed by their path (``line_items[0].properties``); this is what a customer's
    data request is answered with.
    """
    found: dict[str, Any] = {}
    if not isinstance(order, dict):
        return found
    top = personal_keys(platform)
    for key, value in order.items():
        if key in top or key in NESTED_PERSONAL_KEYS:
            if _present(value):
                found[key] = value
        else:
            _nested_parts(value, key, found)
    return found


def _nested_parts(value: Any, path: str, found: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in NESTED_PERSONAL_KEYS:
                if _present(item):
                    found[where] = item
            else:
                _nested_parts(item, where, found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _nested_parts(item, f"{path}[{i}]", found)


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def without_personal(order: Any, platform: str) -> Any:
    """A copy of ``order`` without its personal keys (top level for ``platform``, nested anywhere)."""
    if not isinstance(order, dict):
        return order
    top = personal_keys(platform)
    return {k: _strip(v) for k, v in order.items() if k not in top and k not in NESTED_PERSONAL_KEYS}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in NESTED_PERSONAL_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def order_values(order: Any, platform: str) -> set[str]:
    """The personal values in ``order``: what must not be left in any free text about it."""
    values: set[str] = set()
    for key, part in personal_parts(order, platform).items():
        leaf = key.rsplit(".", 1)[-1]
        _collect(part, leaf in VALUE_KEYS or leaf in _ALL_ORDER_KEYS or leaf in NESTED_PERSONAL_KEYS, values)
    return values


def _collect(value: Any, wanted: bool, values: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect(item, key in VALUE_KEYS, values)
    elif isinstance(value, list):
        for item in value:
            _collect(item, wanted, values)
    elif wanted and isinstance(value, str | float) and not isinstance(value, bool):
        values.add(str(value))


def request_values(fields: Any) -> set[str]:
    """The personal values among JNE booking ``fields`` (an attempt's request)."""
    if not isinstance(fields, dict):
        return set()
    return {str(v) for k, v in fields.items() if k in JNE_PERSONAL_FIELDS and v not in (None, "", ERASED)}


def erase_request(fields: Any) -> Any:
    """JNE booking ``fields`` with the personal ones replaced by ``ERASED`` (which fields were sent stays)."""
    if not isinstance(fields, dict):
        return fields
    return {k: (ERASED if k in JNE_PERSONAL_FIELDS and v not in (None, "") else v) for k, v in fields.items()}


def _variants(value: str) -> Iterator[str]:
    """``value`` as it may appear elsewhere: as is, URL-encoded, and a phone in its other spellings."""
    value = value.strip()
    if len(value) < MIN_VALUE_CHARS:
        return
    yield value
    yield quote_plus(value)
    yield quote(value, safe="")
    yield json.dumps(value)[1:-1]  # as escaped inside a JSON text (quotes, non-ASCII, slashes)
    digits = re.sub(r"[\s().+-]", "", value)
    if digits.isdigit() and len(digits) >= 8:
        national = digits[2:] if digits.startswith("62") else digits[1:] if digits.startswith("0") else digits
        yield from (digits, national, "0" + national, "62" + national, "+62" + national)


class Scrubber:
    """Replaces known personal values in text and in JSON-like trees with ``ERASED``."""

    def __init__(self, values: Iterable[str], keep: Iterable[str] = ()):
        kept = {k.strip().lower() for k in keep if isinstance(k, str)}
        forms = {form for v in values for form in _variants(v) if form.lower() not in kept}
        forms = {f for f in forms if len(f) >= MIN_VALUE_CHARS}
        # Longest first, so a value holding another is replaced whole; whole words only, so a first
        # name "Andi" does not take a bite out of "Bandung" (punctuation and "_" are boundaries).
        ordered = sorted(forms, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, ordered))
        self._pattern = (re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)
                         if ordered else None)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str | None) -> str | None:
        """``text`` with every known value replaced."""
        if not text or self._pattern is None:
            return text
        return self._pattern.sub(ERASED, text)

    def tree(self, value: Any) -> Any:
        """A copy of a JSON-like ``value`` with every string (keys too) scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.tree(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.tree(v) for v in value]
        return value


def kept_places(fields: Any) -> set[str]:
    """The place values among JNE ``fields`` that are kept (never searched for as personal values)."""
    if not isinstance(fields, dict):
        return set()
    return {str(v) for k, v in fields.items() if k in JNE_KEPT_PLACE_FIELDS and v}


def erase_body(body: bytes, platform: str, scrubber: Scrubber) -> bytes:
    """A stored delivery body without personal data: JSON rewritten without it; anything else emptied."""
    try:
        order = json.loads(body)
    except (ValueError, RecursionError):
        return b""  # not an order we can read, so nothing in it can be told apart: all of it goes
    cleaned = scrubber.tree(without_personal(order, platform))
    return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def body_values(body: bytes, platform: str) -> set[str]:
    """The personal values of a stored delivery body (none when it is not JSON)."""
    try:
        return order_values(json.loads(body), platform)
    except (ValueError, RecursionError):
        return set()
