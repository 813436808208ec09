"""Mapping.apply: fields only with values, messages naming the rule, vars/when/default, never raising."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from integration.jne.fields import FIELD_NAMES
from integration.mapping import MappingResult, load_mapping

NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)
STORE = {"order_prefix": "TC", "pickup": {"timezone": "Asia/Jakarta", "cutoff": "15:00", "time": "16:00",
                                          "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}}


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(textwrap.dedent("""\
        vars:
          to: order.shipping_address
          name: "vars.to.name || trim(concat(vars.to.first_name, ' ', vars.to.last_name))"
        fields:
          ORDER_ID: {value: "concat(store.order_prefix, order.order_number)", then: [alnum_upper, {max_bytes: 20}]}
          RECEIVER_NAME: {value: vars.name, then: [strip_unsupported, upper, {max_bytes: 30}]}
          RECEIVER_PHONE: {value: "vars.to.phone || order.phone", then: [phone]}
          SPECIAL_INS: {value: order.note, then: [strip_unsupported, {max_bytes: 60}], default: "-"}
          LAT: {value: vars.to.latitude, when: "vars.to.latitude != null"}
          GOODS_DESC: "order.line_items[].name"
          PICKUP_DATE: pickup.date
          PICKUP_TIME: pickup.time
          AWB: order.awb
        """), encoding="utf-8")
    return load_mapping(path)


ORDER = {"order_number": 1042, "note": None, "phone": "081234567890",
         "shipping_address": {"first_name": "Siti", "last_name": "Rahmawati", "phone": None, "latitude": -6.26},
         "line_items": [{"name": "Kopi"}]}


def test_fields_in_document_order_only_with_values(mapping):
    result = mapping.apply(ORDER, STORE, {"topic": "orders/paid"}, NOW)
    assert list(result.fields) == [n for n in FIELD_NAMES if n in result.fields]
    assert result.fields["ORDER_ID"] == "TC1042"
    assert result.fields["RECEIVER_NAME"] == "SITI RAHMAWATI"
    assert result.fields["RECEIVER_PHONE"] == "+6281234567890"
    assert result.fields["SPECIAL_INS"] == "-"
    assert result.fields["LAT"] == "-6.26"
    assert (result.fields["PICKUP_DATE"], result.fields["PICKUP_TIME"]) == ("14-03-2025", "16:00")
    assert "AWB" not in result.fields  # optional and blank: absent, not ""


def test_when_false_leaves_the_field_out(mapping):
    order = {**ORDER, "shipping_address": {**ORDER["shipping_address"], "latitude": None}}
    assert "LAT" not in mapping.apply(order, STORE, {}, NOW).fields


def test_a_list_where_one_value_is_needed_is_an_error_naming_the_rule(mapping):
    order = {**ORDER, "line_items": [{"name": "Kopi"}, {"name": "Teh"}]}
    result = mapping.apply(order, STORE, {}, NOW)
    (message,) = result.errors["GOODS_DESC"]
    assert message.startswith("got a list '[\"Kopi\",\"Teh\"]', expected one value")
    assert message.endswith("(rule fields.GOODS_DESC in shop.yaml:10)")


def test_transform_errors_name_field_value_and_rule(mapping):
    result = mapping.apply({**ORDER, "phone": "abc"}, STORE, {}, NOW)
    assert result.errors["RECEIVER_PHONE"] == [
        "'abc' is not a phone number (rule fields.RECEIVER_PHONE in shop.yaml:7)"]
    assert "RECEIVER_PHONE" not in result.fields


def test_a_required_field_without_value_says_which_expression_was_blank(mapping):
    result = mapping.apply({**ORDER, "shipping_address": None, "phone": None}, STORE, {}, NOW)
    assert result.errors["RECEIVER_NAME"] == [
        "no value: vars.name is blank (rule fields.RECEIVER_NAME in shop.yaml:6)"]
    assert "RECEIVER_PHONE" in result.errors


def test_a_broken_store_pickup_block_is_reported_under_pickup(mapping):
    result = mapping.apply(ORDER, {**STORE, "pickup": {"timezone": "Mars/Base"}}, {}, NOW)
    assert result.errors["pickup"] == ["pickup.timezone 'Mars/Base' is not a time zone (e.g. Asia/Jakarta)"]
    assert "PICKUP_DATE" in result.errors and "PICKUP_DATE" not in result.fields


def test_vars_see_earlier_vars_and_errors_in_vars_are_reported(tmp_path):
    path = tmp_path / "v.yaml"
    path.write_text(textwrap.dedent("""\
        vars:
          a: "starts_with(order.x, 'A')"
          b: "vars.a || 'fallback'"
        fields:
          GOODS_DESC: vars.b
        """), encoding="utf-8")
    result = load_mapping(path).apply({"x": 5}, {}, {}, NOW)
    assert result.fields["GOODS_DESC"] == "fallback"
    assert result.errors["vars.a"][0].startswith("the expression failed on this order: starts_with() got number")


def test_outside_batam_customs_fields_are_dropped_even_if_a_field_rule_makes_them(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("fields:\n  DESTINATION_CODE: order.dest\n  NPWP: {const: '01.234'}\n", encoding="utf-8")
    mapping = load_mapping(path)
    assert "NPWP" not in mapping.apply({"dest": "CGK10000"}, {}, {}, NOW).fields
    assert mapping.apply({"dest": "BTH10000"}, {}, {}, NOW).fields["NPWP"] == "01.234"


@pytest.mark.parametrize("order", [
    None, [], [1, 2], "order", 42, True, {}, {"shipping_address": "Jl. Kemang"},
    {"order_number": {"a": 1}, "note": ["x"], "phone": 6281234567890, "shipping_address": {"latitude": "x" * 10**6}},
    {"line_items": "nope", "shipping_address": [None]}, {"order_number": float("inf")},
])
def test_garbage_never_raises(mapping, order):
    result = mapping.apply(order, STORE, {"topic": "orders/paid"}, NOW)
    assert isinstance(result, MappingResult)
    assert all(isinstance(v, str) and v.strip() for v in result.fields.values())
    assert all(isinstance(m, str) for ms in result.errors.values() for m in ms)


@pytest.mark.parametrize("store,event,now", [
    (None, None, NOW), ([], "x", NOW), ({"pickup": "x"}, {"topic": 5}, NOW), (STORE, {}, "2025-03-14"),
    (STORE, {}, datetime(2025, 3, 14, 1, 0)),
])
def test_odd_store_event_and_clock_never_raise(mapping, store, event, now):
    assert isinstance(mapping.apply(ORDER, store, event, now), MappingResult)
