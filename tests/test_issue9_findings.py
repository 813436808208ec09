"""Issue 9's findings, each as a test over the product's own path (``pipeline.prepare``, the CLI, the
served app), on the built-in demo: its stores resolve against the embedded sandbox's JNE list.

(The ledger that disappears under a running server is in test_webhooks.py, the corpus in
test_real_orders_product.py, destination choices in test_destination_choice.py.)
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import app_helpers
import pytest
import requests
from app_helpers import SHOPIFY_SECRET, SHOPIFY_SHOP, store_block, write_config
from click.testing import CliRunner
from fixtures.expect import ORDERS, load
from fixtures.sign import shopify_headers

from integration.cli import main
from integration.config import load_config
from integration.pipeline import prepare

NOW = datetime(2026, 3, 13, 3, 0, tzinfo=UTC)  # Friday 10:00 in Jakarta, no holiday
served_app = app_helpers.served_app


@pytest.fixture
def demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the demo's overrides are looked for in the working directory
    return load_config(None, env={})


def fixture(platform: str, name: str) -> tuple[dict, str]:
    fx = load(ORDERS / platform / f"{name}.json")
    return copy.deepcopy(fx.order), fx.topic


def test_a_us_address_in_an_idr_shop_is_outside_indonesia_never_tangerang(demo):
    order, _ = fixture("shopify", "prepaid_jakarta")
    order["shipping_address"].update(address1="92 Chestnut Street", city="Brownsville", zip="15417",
                                     province="Pennsylvania", province_code="PA", country="United States",
                                     country_code="US", phone="724-555-0100")
    result = prepare(demo.stores["demo"], "orders/paid", order, NOW)
    assert [(p.key, p.code) for p in result.problems] == [("RECEIVER_COUNTRY", "address.outside_indonesia")]
    assert "outside Indonesia (United States US)" in result.errors["RECEIVER_COUNTRY"][0]
    for field in ("DESTINATION_CODE", "RECEIVER_REGION", "RECEIVER_CITY", "RECEIVER_COUNTRY", "RECEIVER_PHONE"):
        assert field not in result.fields, field  # no Tangerang code, no PAPUA, no +627245550100


def test_a_mapping_may_skip_addresses_abroad_instead(tmp_path, demo):
    import shutil

    shutil.copy(demo.stores["demo"].mapping_path, tmp_path / "shopify.yaml")
    shutil.copy(demo.stores["demo"].mapping_path.with_name("hs_codes.csv"), tmp_path / "hs_codes.csv")
    shutil.copy(demo.stores["demo"].mapping_path.with_name("regions.csv"), tmp_path / "regions.csv")
    own = tmp_path / "abroad.yaml"
    own.write_text("extends: shopify.yaml\ntrigger:\n  skip_when:\n"
                   "    shipped abroad: \"in_indonesia(vars.to) == `false`\"\n", encoding="utf-8")
    from integration.mapping import load_mapping

    order, _ = fixture("shopify", "prepaid_jakarta")
    order["shipping_address"].update(country="Malaysia", country_code="MY", city="Kuching", zip="93050")
    result = load_mapping(own).apply(order, demo.stores["demo"].facts, {"topic": "orders/paid"}, NOW)
    assert (result.book, result.skip_reason) == (False, "shipped abroad")  # skipped: nothing to fix


@pytest.mark.parametrize(("title", "service"), [
    ("JNE - CTC", "CTC"), ("JNE - CTCYES", "CTCYES"), ("jne yes", "YES"), ("JNE OKE (3-4 hari)", "OKE"),
    ("JNE Trucking", "JTR"), ("Flat Rate", "REG"), ("FREE SHIPPING", "REG")])
def test_the_shipping_line_picks_the_jne_service(demo, title, service):
    order, topic = fixture("shopify", "prepaid_jakarta")
    order["shipping_lines"][0]["title"] = title
    result = prepare(demo.stores["demo"], topic, order, NOW)
    assert result.fields["SERVICE_CODE"] == service and result.problems == []


def test_ctc_as_base_books_ctc_as_reg_and_ctcyes_as_yes(tmp_path):
    stores = {"toko-shopify": store_block("shopify", SHOPIFY_SHOP, SHOPIFY_SECRET, ctc_as="base")}
    store = load_config(write_config(tmp_path, "sqlite:///l.db", stores)).stores["toko-shopify"]
    order, topic = fixture("shopify", "prepaid_jakarta")
    for title, service in (("JNE - CTC", "REG"), ("JNE - CTCYES", "YES"), ("JNE YES", "YES")):
        order["shipping_lines"][0]["title"] = title
        assert prepare(store, topic, order, NOW).fields["SERVICE_CODE"] == service


@pytest.mark.parametrize(("title", "reason"), [
    ("SICEPAT - REG", "shipped with SiCepat, not JNE"), ("J&T Express", "shipped with J&T, not JNE"),
    ("AnterAja Reguler", "shipped with AnterAja, not JNE"), ("GoSend Same Day", "shipped with GoSend, not JNE"),
    ("Ambil di toko", "collected by the buyer at the store")])
def test_a_line_of_another_courier_is_skipped_naming_it(demo, title, reason):
    for platform, store in (("shopify", "demo"), ("woocommerce", "demo-woo")):
        order, topic = fixture(platform, "prepaid_jakarta")
        order["shipping_lines"][0]["title" if platform == "shopify" else "method_title"] = title
        result = prepare(demo.stores[store], topic, order, NOW)
        assert (result.book, result.skip_reason) == (False, reason), platform


def test_woocommerce_entities_are_decoded_in_every_text_field(demo):
    order, topic = fixture("woocommerce", "prepaid_jakarta")
    order["line_items"][0]["name"] = "Ship Your Idea &ndash; Color: Black"
    order["line_items"] = order["line_items"][:1] + [{**order["line_items"][0], "name": "Kopi &amp Teh"}]
    order["shipping"]["address_1"] = "Jl. Kopi &amp; Teh No. 5"
    order["customer_note"] = "Titip di pos satpam &ndash; terima kasih"
    fields = prepare(demo.stores["demo-woo"], topic, order, NOW).fields
    assert fields["GOODS_DESC"] == "Ship Your Idea - Color Black, Kopi & Teh"
    assert fields["RECEIVER_ADDR1"] == "JL. KOPI & TEH NO. 5"
    assert fields["SPECIAL_INS"] == "Titip di pos satpam - terima kasih"
    assert not any("&amp" in v or "&ndash" in v for v in fields.values())


@pytest.mark.parametrize(("city", "postal", "expected"), [
    ("Kota Administrasi Jakarta Utara", "14240", "JAKARTA UTARA"),
    ("Kota Tangerang Selatan", "15310", "TANGERANG SELATAN"),
    ("Kabupaten Pangkajene dan Kepulauan", "90611", "PANGKAJENE"),
    ("Kab. Bandung", "40375", "KAB. BANDUNG")])
def test_receiver_city_comes_from_the_regions_and_is_never_cut_inside_a_word(demo, city, postal, expected):
    order, topic = fixture("shopify", "prepaid_jakarta")
    order["shipping_address"].update(city=city, zip=postal, province=None, province_code=None)
    fields = prepare(demo.stores["demo"], topic, order, NOW).fields
    assert fields["RECEIVER_CITY"] == expected
    assert len(fields["RECEIVER_CITY"].encode()) <= 20


def test_an_address_anywhere_in_indonesia_gets_its_code_without_a_sample_table(demo):
    assert "destinations" not in demo.stores["demo"].lookups  # the demo names no sample table
    order, topic = fixture("shopify", "prepaid_jakarta")
    order["shipping_address"].update(city="Wamena", zip="99511", province="Papua Pegunungan", province_code=None)
    result = prepare(demo.stores["demo"], topic, order, NOW)
    assert result.problems == []
    assert (result.fields["RECEIVER_CITY"], result.fields["RECEIVER_REGION"]) == ("JAYAWIJAYA", "PAPUA PEGUNUNGAN")
    assert result.fields["DESTINATION_CODE"].endswith(tuple("0123456789"))


def test_cod_partly_paid_by_gift_card_is_booked_and_the_courier_collects_what_is_owed(demo):
    order, topic = fixture("shopify", "cod_jakarta_example")
    order.update(financial_status="partially_paid", total_outstanding="135000.00",
                 payment_gateway_names=["gift_card", "Cash on Delivery (COD)"])
    result = prepare(demo.stores["demo"], topic, order, NOW)
    assert result.book and result.problems == []
    assert (result.fields["COD_FLAG"], result.fields["COD_AMOUNT"]) == ("YES", "135000")
    order.update(financial_status="pending", total_outstanding="185000.00", payment_gateway_names=[
        "Cash on Delivery (COD)"])
    assert prepare(demo.stores["demo"], topic, order, NOW).fields["COD_AMOUNT"] == "185000"


def test_pickups_skip_public_holidays_and_preview_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    order, topic = fixture("shopify", "prepaid_jakarta")
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order), encoding="utf-8")
    # Monday 17 August 2026, Independence Day: collected on Tuesday
    result = CliRunner().invoke(main, ["preview", "--store", "demo", "--topic", topic, "--now",
                                       "2026-08-17T09:00", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "pickup moved past 17-08-2026 Proklamasi Kemerdekaan (public holiday)" in result.output
    assert any(line.split() == ["PICKUP_DATE", "18-08-2026"] for line in result.output.splitlines())


def test_holidays_are_not_skipped_when_the_store_says_so(demo):
    store = demo.stores["demo"]
    facts = copy.deepcopy(store.facts)
    facts["pickup"]["skip_holidays"] = False
    order, topic = fixture("shopify", "prepaid_jakarta")
    now = datetime(2026, 8, 17, 2, 0, tzinfo=UTC)
    assert store.mapping.apply(order, facts, {"topic": topic}, now).fields["PICKUP_DATE"] == "17-08-2026"
    assert store.mapping.apply(order, store.facts, {"topic": topic}, now).fields["PICKUP_DATE"] == "18-08-2026"


def test_a_shopify_order_previewed_under_a_woocommerce_store_names_the_mismatch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for store, platform in (("demo-woo", "shopify"), ("demo", "woocommerce")):
        result = CliRunner().invoke(main, ["preview", "--store", store, "--json",
                                           str(ORDERS / platform / "prepaid_jakarta.json")], catch_exceptions=False)
        doc = json.loads(result.stdout)
        assert result.exit_code == 1 and doc["outcome"] == "needs_attention"
        (message,) = doc["errors"]["order"]
        named = {"shopify": "Shopify", "woocommerce": "WooCommerce"}
        assert f"looks like a {named[platform]} order" in message and f"store {store} is a" in message
        assert "no shipping address" not in json.dumps(doc)


def test_an_order_wrapped_in_order_is_taken_by_the_receiver_as_preview_takes_it(served_app, tmp_path):
    order, topic = fixture("shopify", "prepaid_jakarta")
    body = json.dumps({"order": order}).encode("utf-8")  # Shopify REST / WooCommerce legacy API v3 shape
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    served = served_app(config)
    answer = requests.post(f"{served}/webhooks/shopify", data=body, timeout=10,
                           headers=shopify_headers(body, SHOPIFY_SECRET, SHOPIFY_SHOP, topic))
    assert (answer.status_code, answer.json()["status"], answer.json()["order"]) == (200, "accepted", str(order["id"]))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_bytes(body)
    result = CliRunner().invoke(main, ["--config", str(config), "preview", "--store", "toko-shopify", "--topic",
                                       topic, "--json", str(wrapped)], catch_exceptions=False)
    doc = json.loads(result.stdout)
    assert (doc["outcome"], doc["fields"]["ORDER_ID"]) == ("book", f"T{order['order_number']}")
