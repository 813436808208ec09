"""Trigger rules: named skips first, then book_when; every non-booking carries its reason."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from integration.mapping import load_mapping
from integration.problems import render

NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent("""\
        vars:
          is_cod: "contains_i(order.payment_gateway_names, 'Cash on Delivery (COD)') && order.financial_status == 'pending'"
        trigger:
          status: order.financial_status
          book_when: "event.topic == 'orders/paid' || (vars.is_cod && event.topic == 'orders/create')"
          skip_when:
            test order: "order.test == `true`"
            cancelled: "order.cancelled_at != null"
            no shipping address: "!order.shipping_address"
        fields:
          ORDER_ID: {value: "concat('TC', order.order_number)", then: [alnum_upper]}
        """), encoding="utf-8")
    return load_mapping(path)


def order(**extra):
    base = {"order_number": 1042, "financial_status": "paid", "payment_gateway_names": ["Midtrans"],
            "test": False, "cancelled_at": None, "shipping_address": {"city": "Bandung"}}
    base.update(extra)
    return base


def test_prepaid_books_on_paid(mapping):
    result = mapping.apply(order(), {}, {"topic": "orders/paid"}, NOW)
    assert (result.book, result.skip_reason) == (True, None)


def test_cod_books_on_create(mapping):
    o = order(financial_status="pending", payment_gateway_names=["Cash on Delivery (COD)"])
    assert mapping.apply(o, {}, {"topic": "orders/create"}, NOW).book is True


def test_not_a_booking_event_names_topic_and_status(mapping):
    result = mapping.apply(order(financial_status="pending"), {}, {"topic": "orders/create"}, NOW)
    assert (result.book, result.skip_reason) == (False, "not a booking event: orders/create/pending")


@pytest.mark.parametrize("extra,reason", [
    ({"test": True}, "test order"),
    ({"cancelled_at": "2025-03-14T10:00:00+07:00"}, "cancelled"),
    ({"shipping_address": None}, "no shipping address"),
])
def test_named_skips_carry_their_name(mapping, extra, reason):
    # the reason is the condition's name, once: whoever shows it says "skipped" (never "skipped: skipped: ...")
    result = mapping.apply(order(**extra), {}, {"topic": "orders/paid"}, NOW)
    assert (result.book, result.skip_reason) == (False, reason)
    assert result.skip is not None and result.skip.key == "trigger" and render(result.skip, "id") == reason


def test_the_first_matching_skip_wins(mapping):
    result = mapping.apply(order(test=True, cancelled_at="x"), {}, {"topic": "orders/paid"}, NOW)
    assert result.skip_reason == "test order"


def test_a_skipped_order_is_still_mapped_for_the_preview(mapping):
    result = mapping.apply(order(test=True), {}, {"topic": "orders/paid"}, NOW)
    assert result.fields == {"ORDER_ID": "TC1042"}


def test_no_trigger_books_every_delivery(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("fields: {INSURANCE_FLAG: {const: N}}\n", encoding="utf-8")
    result = load_mapping(path).apply({}, {}, {}, NOW)
    assert (result.book, result.skip_reason) == (True, None)


def test_a_condition_that_fails_on_the_order_needs_attention_instead_of_hiding_it(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent("""\
        trigger:
          book_when: "starts_with(order.name, '#')"
          skip_when:
            wholesale: "starts_with(order.tags, 'grosir')"
        """), encoding="utf-8")
    result = load_mapping(path).apply({"name": 1042, "tags": None}, {}, {"topic": "orders/paid"}, NOW)
    # book stays "yes, this needs handling"; the errors keep it from being booked (needs attention)
    assert (result.book, result.skip_reason) == (True, None)
    wholesale, book_when = result.errors["trigger"]
    assert "skip_when 'wholesale' failed on this order: starts_with() got null" in wholesale
    assert "book_when failed on this order: starts_with() got number" in book_when and "m.yaml:2" in book_when


def test_garbage_event_and_order(mapping):
    result = mapping.apply(["not", "an", "order"], None, "orders/paid", NOW)
    assert (result.book, result.skip_reason) == (False, "no shipping address")
    result = mapping.apply({"shipping_address": {"x": 1}, "financial_status": ["?"]}, None, None, NOW)
    assert (result.book, result.skip_reason) == (False, "not a booking event: (no topic)/?")
