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
