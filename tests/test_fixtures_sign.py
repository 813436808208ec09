"""The test fixtures themselves: sign.py reproduces the platforms' signed example deliveries, and every
order fixture is well-formed, faithful to the platform's payload shape and consistent with the tables.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from fixtures.expect import ORDERS, check, fixtures, load
from fixtures.sign import shopify_headers, woocommerce_headers, woocommerce_ping

from integration.jne.fields import FIELD_NAMES

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = FIXTURES / "examples"
SHOPIFY_SECRET = "test_shopify_client_secret"
WOO_SECRET = "test_wc_webhook_secret"

ALL = list(fixtures())
STORES = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))
RULE_KEYS = {"RECEIVER_ADDR"}
TOPICS = {"shopify": {"orders/create", "orders/paid", "orders/updated"},
          "woocommerce": {"order.created", "order.updated"}}
SHOPIFY_EXAMPLE = json.loads((EXAMPLES / "shopify_cod.body").read_bytes())
WOO_EXAMPLE = json.loads((EXAMPLES / "woocommerce_cod.body").read_bytes())


def example(name: str) -> tuple[bytes, dict[str, str]]:
    return ((EXAMPLES / f"{name}.body").read_bytes(),
            json.loads((EXAMPLES / f"{name}.headers.json").read_text(encoding="utf-8")))


def b64hmac(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# -- sign.py ------------------------------------------------------------------------------------

def test_shopify_headers_reproduce_the_signed_example():
    body, sent = example("shopify_cod")
    made = shopify_headers(body, SHOPIFY_SECRET, "toko-contoh.myshopify.com", "orders/create")
    assert made["X-Shopify-Hmac-Sha256"] == sent["X-Shopify-Hmac-Sha256"] == "I2ClvFi5KDMiaYm89z+FW5asFHpQ7GhhKXeqwsZ8FWQ="
    assert list(made) == list(sent)  # the same header set, in the same order
    same = shopify_headers(body, SHOPIFY_SECRET, "toko-contoh.myshopify.com", "orders/create",
                           event_id=sent["X-Shopify-Event-Id"], webhook_id=sent["X-Shopify-Webhook-Id"],
                           triggered_at=sent["X-Shopify-Triggered-At"])
    assert same == sent


def test_woocommerce_headers_reproduce_the_signed_example():
    body, sent = example("woocommerce_cod")
    made = woocommerce_headers(body, WOO_SECRET, "https://toko-contoh.example/", "order.created")
    assert made["X-WC-Webhook-Signature"] == sent["X-WC-Webhook-Signature"] == "01vWw1+wKJQdC3hduByrVQRzkQXC+MT9nf48mE5RnTY="
    assert list(made) == list(sent)
    same = woocommerce_headers(body, WOO_SECRET, "https://toko-contoh.example/", "order.created",
                               delivery_id=sent["X-WC-Webhook-Delivery-ID"], webhook_id="7")
    assert same == sent


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.iterdir() if not p.name.startswith(".")))
def test_the_example_copies_are_what_the_platforms_signed(name):
    # The signature recorded with each signed copy proves its body is byte for byte what the
    # platform signed; the unsigned ping is WooCommerce's literal test body.
    secrets = {"shopify_cod": (SHOPIFY_SECRET, "X-Shopify-Hmac-Sha256"),
               "woocommerce_cod": (WOO_SECRET, "X-WC-Webhook-Signature")}
    stem = name.split(".")[0]
    if stem in secrets:
        body, headers = example(stem)
        secret, header = secrets[stem]
        assert b64hmac(body, secret) == headers[header]
    else:
        assert (EXAMPLES / name).read_bytes() == b"webhook_id=7"


def test_signatures_cover_the_raw_bytes_and_the_secret():
    body, _ = example("shopify_cod")
    sig = shopify_headers(body, SHOPIFY_SECRET, "s", "orders/create")["X-Shopify-Hmac-Sha256"]
    assert shopify_headers(body + b" ", SHOPIFY_SECRET, "s", "orders/create")["X-Shopify-Hmac-Sha256"] != sig
    assert shopify_headers(body, "other", "s", "orders/create")["X-Shopify-Hmac-Sha256"] != sig
    reserialised = json.dumps(json.loads(body)).encode()
    assert shopify_headers(reserialised, SHOPIFY_SECRET, "s", "orders/create")["X-Shopify-Hmac-Sha256"] != sig


def test_shopify_delivery_ids_are_fresh_unless_given():
    body, _ = example("shopify_cod")
    one = shopify_headers(body, SHOPIFY_SECRET, "s", "orders/paid")
    two = shopify_headers(body, SHOPIFY_SECRET, "s", "orders/paid")
    assert one["X-Shopify-Event-Id"] != two["X-Shopify-Event-Id"]
    assert one["X-Shopify-Webhook-Id"] != two["X-Shopify-Webhook-Id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", one["X-Shopify-Triggered-At"])
    assert shopify_headers(body, SHOPIFY_SECRET, "s", "orders/paid", event_id="ev-1")["X-Shopify-Event-Id"] == "ev-1"


@pytest.mark.parametrize("body", [b"", b"<html>", b"[" * 10_000, b'{"id": ' + b"9" * 5000 + b"}", b"\xff\xfe",
                                  b"[1, 2]", b'{"id": true}', b'{"id": {"a": 1}}'])
def test_shopify_headers_accept_any_body(body):
    headers = shopify_headers(body, SHOPIFY_SECRET, "s", "orders/create")
    assert headers["X-Shopify-Hmac-Sha256"] == b64hmac(body, SHOPIFY_SECRET)
    assert "X-Shopify-Order-Id" not in headers


def test_woocommerce_topic_parts_and_secret_decoding():
    headers = woocommerce_headers(b"{}", "a&amp;b", "https://x.example/", "order.updated", webhook_id="12")
    assert (headers["X-WC-Webhook-Resource"], headers["X-WC-Webhook-Event"]) == ("order", "updated")
    assert headers["X-WC-Webhook-ID"] == "12"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-WC-Webhook-Delivery-ID"])
    assert headers["X-WC-Webhook-Signature"] == b64hmac(b"{}", "a&b")  # WooCommerce decodes the secret


def test_woocommerce_ping_is_the_shared_example():
    body, headers = woocommerce_ping("7")
    assert body == (EXAMPLES / "woocommerce_ping.body").read_bytes()
    assert not any(k.startswith("X-WC-") for k in headers)


# -- the order fixtures: structure ----------------------------------------------------------------

def test_there_are_enough_fixtures():
    assert len([f for f in ALL if f.platform == "shopify"]) >= 20
    assert len([f for f in ALL if f.platform == "woocommerce"]) >= 15


@pytest.mark.parametrize("fx", ALL, ids=lambda f: f.id)
def test_fixture_structure(fx):
    doc = json.loads(fx.path.read_text(encoding="utf-8"))
    assert set(doc) in ({"description", "topic", "order", "expect"}, {"description", "topic", "store", "order", "expect"})
    assert re.fullmatch(r"[a-z0-9_]+", fx.name)
    assert isinstance(fx.description, str) and fx.description.strip() and "\n" not in fx.description
    assert fx.topic in TOPICS[fx.platform]
    assert fx.store in STORES
    e = fx.expect
    assert set(e) - {"skip_reason_contains"} == {"book", "fields", "absent", "errors"}
    assert isinstance(e["book"], bool)
    assert isinstance(e["fields"], dict) and isinstance(e["absent"], list) and isinstance(e["errors"], dict)
    if "skip_reason_contains" in e:
        assert e["book"] is False and isinstance(e["skip_reason_contains"], str) and e["skip_reason_contains"]
    if not e["book"]:
        assert e["fields"] == {} and e["absent"] == [] and e["errors"] == {}
    for name, value in e["fields"].items():
        assert name in FIELD_NAMES and isinstance(value, str) and value.strip(), name
    assert all(name in FIELD_NAMES for name in e["absent"])
    assert not set(e["absent"]) & set(e["fields"])
    for key, wanted in e["errors"].items():
        assert key in FIELD_NAMES or key in RULE_KEYS, key
        assert isinstance(wanted, list) and wanted, key
        for item in wanted:
            options = [item] if isinstance(item, str) else item
            assert isinstance(options, list) and options and all(isinstance(o, str) and o for o in options)


@pytest.mark.parametrize("fx", [f for f in ALL if f.expect["book"]], ids=lambda f: f.id)
def test_booked_fixtures_carry_the_store_facts(fx):
    store = STORES[fx.store]
    fields = fx.expect["fields"]
    assert fields["ORDER_ID"] == store["order_prefix"] + (str(fx.order["order_number"]) if fx.platform == "shopify"
                                                        else fx.order["number"])
    assert re.fullmatch(r"[A-Z0-9]{1,20}", fields["ORDER_ID"])
    if fx.expect["errors"]:
        return
    facts = {"CUST_ID": store["account"]["cust_id"], "BRANCH": store["account"]["branch"],
             "MERCHANT_ID": store["account"]["merchant_id"], "ORIGIN_CODE": store["account"]["origin_code"],
             "PICKUP_NAME": store["pickup"]["name"], "PICKUP_PIC_PHONE": store["pickup"]["phone"],
             "SHIPPER_ZIP": store["shipper"]["zip"], "SHIPPER_REGION": store["shipper"]["region"],
             "TYPE": "PICKUP", "INSURANCE_FLAG": "N", "RECEIVER_COUNTRY": "INDONESIA", "SHIPPER_COUNTRY": "INDONESIA"}
    assert {k: fields.get(k) for k in facts} == facts
    batam = store["account"]["origin_code"].startswith("BTH") or fields["DESTINATION_CODE"].startswith("BTH")
    customs = {"TAX_VALUE", "ITEM_TYPE", "HS_CODE", "NPWP"}
    if batam:
        assert customs <= set(fields)
        assert fields["NPWP"] == store["batam"]["npwp"] and fields["ITEM_TYPE"] == store["batam"]["item_type"]
    else:
        assert customs <= set(fx.expect["absent"])
    assert ("COD_AMOUNT" in fields) == (fields["COD_FLAG"] == "YES") != ("COD_AMOUNT" in fx.expect["absent"])
    assert len(fields["RECEIVER_NAME"].encode()) <= 30


# -- the order fixtures: faithful payloads --------------------------------------------------------

def _money(value: str) -> Decimal:
    assert isinstance(value, str) and re.fullmatch(r"-?\d+\.\d\d", value), value
    return Decimal(value)


@pytest.mark.parametrize("fx", [f for f in ALL if f.platform == "shopify"], ids=lambda f: f.id)
def test_shopify_payloads_look_like_shopify(fx):
    o = fx.order
    assert set(o) == set(SHOPIFY_EXAMPLE) - ({"shipping_address"} if "shipping_address" not in o else set())
    assert isinstance(o["id"], int) and o["id"] > 2**32 and o["admin_graphql_api_id"].endswith(f"/{o['id']}")
    assert o["name"] == f"#{o['order_number']}" and isinstance(o["order_number"], int)
    assert isinstance(o["total_weight"], int) and isinstance(o["test"], bool) and isinstance(o["tags"], str)
    example_line = set(SHOPIFY_EXAMPLE["line_items"][0])
    for li in o["line_items"]:
        assert set(li) == example_line and isinstance(li["id"], int) and li["id"] > 2**32
        assert isinstance(li["grams"], int) and isinstance(li["quantity"], int)
        _money(li["price"])
        assert li["price_set"]["shop_money"]["amount"] == li["price"]
        assert all(set(p) == {"name", "value"} for p in li["properties"])
        assert li["sku"] is None or isinstance(li["sku"], str)
    assert o["total_weight"] == sum(li["grams"] * li["quantity"] for li in o["line_items"])
    lines = sum(_money(li["price"]) * li["quantity"] for li in o["line_items"])
    assert _money(o["total_line_items_price"]) == lines
    assert _money(o["subtotal_price"]) == lines - _money(o["total_discounts"])
    shipping = _money(o["total_shipping_price_set"]["shop_money"]["amount"])
    tax = _money(o["total_tax"]) if not o["taxes_included"] else 0
    assert _money(o["total_price"]) == _money(o["subtotal_price"]) + shipping + tax
    assert o["total_price_set"]["shop_money"] == {"amount": o["total_price"], "currency_code": o["currency"]}
    if "shipping_address" in o:
        assert set(o["shipping_address"]) == set(SHOPIFY_EXAMPLE["shipping_address"])
        assert o["shipping_lines"] and all(set(sl) == set(SHOPIFY_EXAMPLE["shipping_lines"][0])
                                           for sl in o["shipping_lines"])


@pytest.mark.parametrize("fx", [f for f in ALL if f.platform == "woocommerce"], ids=lambda f: f.id)
def test_woocommerce_payloads_look_like_woocommerce(fx):
    o = fx.order
    assert list(o) == list(WOO_EXAMPLE)
    assert isinstance(o["id"], int) and isinstance(o["number"], str)
    assert set(o["billing"]) == set(WOO_EXAMPLE["billing"]) and set(o["shipping"]) == set(WOO_EXAMPLE["shipping"])
    assert (o["date_paid"] is None) == (o["date_paid_gmt"] is None)
    if o["payment_method"] == "cod":
        assert o["date_paid"] is None and o["transaction_id"] == ""
    elif o["status"] == "processing":
        assert o["date_paid"] and o["transaction_id"]
    example_line = set(WOO_EXAMPLE["line_items"][0])
    for li in o["line_items"]:
        assert set(li) == example_line
        assert isinstance(li["price"], int | float) and not isinstance(li["price"], bool)
        assert li["sku"] is None or isinstance(li["sku"], str)
        assert all(set(m) == {"id", "key", "value", "display_key", "display_value"} for m in li["meta_data"])
        assert Decimal(str(li["price"])) * li["quantity"] == _money(li["total"])
    goods = sum(_money(li["total"]) for li in o["line_items"])
    assert _money(o["total"]) == goods + _money(o["shipping_total"]) + _money(o["total_tax"])


# -- the tables -------------------------------------------------------------------------------------

def _rows(name: str, header: list[str]) -> list[dict[str, str]]:
    with (ORDERS / name).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == header
        return list(reader)


def test_the_destination_table_covers_every_fixture():
    rows = _rows("jne_destinations_test.csv", ["zip", "city", "district", "code"])
    by_zip = {r["zip"]: r["code"] for r in rows}
    assert len(by_zip) == len(rows) and all(re.fullmatch(r"\d{5}", z) for z in by_zip)
    assert all(re.fullmatch(r"[A-Z]{3}\d{5}", r["code"]) for r in rows)
    codes_per_city: dict[str, set[str]] = {}
    for r in rows:
        codes_per_city.setdefault(r["city"], set()).add(r["code"])
    assert all(len(codes) == 1 for codes in codes_per_city.values())  # the city fallback is unambiguous
    for fx in ALL:
        expected = fx.expect["fields"].get("DESTINATION_CODE")
        zip_ = fx.expect["fields"].get("RECEIVER_ZIP")
        if expected and zip_:
            assert by_zip.get(zip_) == expected, fx.id
        if "DESTINATION_CODE" in fx.expect["errors"]:
            assert zip_ and zip_ not in by_zip, fx.id


def test_the_hs_code_table():
    rows = _rows("hs_codes_test.csv", ["sku", "hs_code"])
    assert len({r["sku"] for r in rows}) == len(rows)
    assert all(re.fullmatch(r"\d{8}", r["hs_code"]) for r in rows)
    assert "TMB-SS-500" not in {r["sku"] for r in rows}  # the line without HS code stays without one


# -- expect.check ----------------------------------------------------------------------------------

EXPECT = {"book": True, "fields": {"ORDER_ID": "TC1", "COD_FLAG": "NO"}, "absent": ["COD_AMOUNT"],
          "errors": {}}


def result(**overrides):
    base = {"store": "toko-contoh", "book": True, "skip_reason": None,
            "fields": {"ORDER_ID": "TC1", "COD_FLAG": "NO", "QTY": "1"}, "errors": {}}
    base.update(overrides)
    return base


def test_check_accepts_a_matching_result():
    assert check(result(), EXPECT) == []
    assert check(result(fields={"ORDER_ID": "TC1", "COD_FLAG": "NO", "COD_AMOUNT": None}), EXPECT) == []


@pytest.mark.parametrize("res, problem", [
    (result(book=False, skip_reason="test order"), "book"),
    (result(fields={"ORDER_ID": "TC2", "COD_FLAG": "NO"}), "ORDER_ID"),
    (result(fields={"COD_FLAG": "NO"}), "not produced"),
    (result(fields={"ORDER_ID": "TC1", "COD_FLAG": "NO", "COD_AMOUNT": ""}), "must not be produced"),
    (result(errors={"RECEIVER_PHONE": ["bad"]}), "expected none"),
])
def test_check_reports_each_mismatch(res, problem):
    problems = check(res, EXPECT)
    assert problems and problem in problems[0]


def test_check_skips_and_error_alternatives():
    skip = {"book": False, "skip_reason_contains": "Cancel", "fields": {}, "absent": [], "errors": {}}
    assert check(result(book=False, skip_reason="skip_when cancelled"), skip) == []
    assert check(result(book=False, skip_reason="test order"), skip)
    errs = {**EXPECT, "fields": {}, "absent": [], "errors": {"HS_CODE": [["five", "5"], "HS"]}}
    assert check(result(errors={"HS_CODE": ["6 HS codes, at most 5 allowed"], "OTHER": ["x"]}), errs) == []
    assert check(result(errors={"HS_CODE": "more than FIVE hs codes"}), errs) == []
    assert check(result(errors={"HS_CODE": ["too many codes"]}), errs)
    assert check(result(errors={"DESTINATION_CODE": ["x"]}), errs)


def test_load_matches_fixtures():
    first = ALL[0]
    assert load(first.path) == first
    assert json.loads(first.body()) == first.order
