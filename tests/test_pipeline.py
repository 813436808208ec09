"""pipeline.prepare: the trigger, the mapping and JNE's schema together, on real fixture orders."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integration.config import load_config
from integration.pipeline import prepare

ROOT = Path(__file__).resolve().parents[1]
ORDERS = ROOT / "tests" / "fixtures" / "orders"
NOW = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo():
    return load_config(None, env={})


def order(platform: str, name: str) -> dict:
    return json.loads((ORDERS / platform / f"{name}.json").read_text(encoding="utf-8"))["order"]


@pytest.mark.parametrize("topic", ["orders/paid", "orders/updated", "orders/create"])
def test_paid_shopify_order_books_whichever_topic_brings_it(demo, topic):
    # orders/updated routinely arrives right after orders/paid and replaces the stored snapshot;
    # a paid order must still book from it.
    result = prepare(demo.stores["demo"], topic, order("shopify", "prepaid_jakarta"), NOW)
    assert result.book and result.errors == {}
    assert result.fields["COD_FLAG"] == "NO" and "COD_AMOUNT" not in result.fields


def test_pending_prepaid_order_is_skipped_until_paid(demo):
    pending = order("shopify", "prepaid_on_create_skipped")
    result = prepare(demo.stores["demo"], "orders/updated", pending, NOW)
    assert not result.book and result.skip_reason
    paid = copy.deepcopy(pending)
    paid["financial_status"] = "paid"
    assert prepare(demo.stores["demo"], "orders/updated", paid, NOW).book


def test_skipped_order_carries_a_reason_and_no_errors(demo):
    broken = order("shopify", "test_order")
    broken["shipping_address"]["phone"] = "tidak ada"
    broken["phone"] = broken["customer"]["phone"] = None
    result = prepare(demo.stores["demo"], "orders/paid", broken, NOW)
    assert not result.book and "test" in result.skip_reason
    assert result.errors == {}


def test_schema_errors_join_mapping_errors_once_per_field(demo):
    too_long = order("shopify", "address_too_long")
    result = prepare(demo.stores["demo"], "orders/paid", too_long, NOW)
    assert result.book and "RECEIVER_ADDR" in result.errors
    # the rule's message covers the lines it fills; no second "RECEIVER_ADDR1 is required"
    assert not any(k.startswith("RECEIVER_ADDR") and k != "RECEIVER_ADDR" for k in result.errors)


def test_schema_catches_what_a_mapping_lets_through(demo, tmp_path):
    # a store block can hold values the mapping passes on untouched: the schema still has a say
    result = prepare(demo.stores["demo"], "orders/paid", order("shopify", "prepaid_jakarta"), NOW)
    assert result.errors == {}
    from dataclasses import replace

    facts = copy.deepcopy(demo.stores["demo"].facts)
    facts["account"]["branch"] = "CGK0000"  # 7 bytes; JNE takes 6
    store = replace(demo.stores["demo"], facts=facts)
    result = prepare(store, "orders/paid", order("shopify", "prepaid_jakarta"), NOW)
    assert "BRANCH" in result.errors
    assert "6" in result.errors["BRANCH"][0]


def _store_with_child_mapping(demo, tmp_path, child: str, **fact_changes):
    """The demo store with a mapping that extends the shipped shopify.yaml (a copy beside it)."""
    from dataclasses import replace

    from integration.mapping import load_mapping

    for f in (ROOT / "mappings").iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "child.yaml").write_text("extends: shopify.yaml\n" + child, encoding="utf-8")
    facts = copy.deepcopy(demo.stores["demo"].facts)
    for path, value in fact_changes.items():
        block, key = path.split("__")
        facts[block][key] = value
    return replace(demo.stores["demo"], mapping=load_mapping(tmp_path / "child.yaml"), facts=facts)


def test_a_mapping_problem_on_pickup_pic_does_not_hide_the_schema_on_pickup_pic_phone(demo, tmp_path):
    # fields match by exact name: PICKUP_PIC is not a prefix that covers PICKUP_PIC_PHONE
    store = _store_with_child_mapping(demo, tmp_path, "fields:\n  PICKUP_PIC_PHONE: store.pickup.phone\n",
                                      pickup__pic=["ALI", "BUDI"], pickup__phone="0812 3456 7890 ext. 12345678901")
    result = prepare(store, "orders/paid", order("shopify", "prepaid_jakarta"), NOW)
    assert result.errors["PICKUP_PIC"][0].startswith("got a list")            # the mapping's, naming its rule
    assert result.errors["PICKUP_PIC_PHONE"] == [                              # JNE's byte limit, still reported
        "PICKUP_PIC_PHONE is 31 bytes; JNE accepts at most 30: '0812 3456 7890 ext. 12345678901'"]
    # the schema's "PICKUP_PIC is required" is covered by the mapping's own problem on that field
    assert len(result.errors["PICKUP_PIC"]) == 1


def test_a_mapping_problem_on_type_does_not_hide_the_schema_on_item_type(demo, tmp_path):
    # a Batam booking (origin BTH) with an item type JNE refuses, and a TYPE the mapping cannot use
    store = _store_with_child_mapping(demo, tmp_path, "", pickup__type=["PICKUP"], account__origin_code="BTH10000",
                                      batam__item_type="9")
    shipped = order("shopify", "prepaid_jakarta")
    for line in shipped["line_items"]:
        line["properties"] = [{"name": "HS Code", "value": "0901.21"}]
    result = prepare(store, "orders/paid", shipped, NOW)
    assert result.errors["TYPE"][0].startswith("got a list")
    assert result.errors["ITEM_TYPE"] == ["ITEM_TYPE is '9'; JNE accepts 1, 2, 3, 4 or 5"]
    assert [p.code for p in result.problems if p.key == "ITEM_TYPE"] == ["jne.accepts.ITEM_TYPE"]


def test_the_address_rule_key_covers_exactly_the_lines_it_fills(demo):
    store = demo.stores["demo"]
    assert store.mapping.covered([]) == set()
    from integration.problems import Problem

    assert store.mapping.covered([Problem("RECEIVER_ADDR", "rule.address.too_long")]) == {
        "RECEIVER_ADDR", "RECEIVER_ADDR1", "RECEIVER_ADDR2", "RECEIVER_ADDR3"}
    assert store.mapping.covered([Problem("PICKUP_PIC", "value.list_not_one")]) == {"PICKUP_PIC"}
