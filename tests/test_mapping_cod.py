"""The COD rule: YES and the amount the courier collects for COD orders, NO and no amount otherwise."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from integration.mapping import load_mapping

NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "cod.yaml"
    path.write_text(textwrap.dedent("""\
        vars:
          is_cod: "contains_i(order.payment_gateway_names, 'Cash on Delivery (COD)') && order.financial_status == 'pending'"
        rules:
          cod:
            when: vars.is_cod
            amount: "order.total_price_set.shop_money.amount || order.total_price"
        """), encoding="utf-8")
    return load_mapping(path)


def order(**extra):
    base = {"payment_gateway_names": ["Cash on Delivery (COD)"], "financial_status": "pending",
            "total_price": "185000.00",
            "total_price_set": {"shop_money": {"amount": "185000.00", "currency_code": "IDR"}}}
    base.update(extra)
    return base


def test_cod_order_collects_the_total_in_whole_rupiah(mapping):
    result = mapping.apply(order(), {}, {"topic": "orders/create"}, NOW)
    assert result.fields == {"COD_FLAG": "YES", "COD_AMOUNT": "185000"}
    assert "COD_FLAG" not in result.errors and "COD_AMOUNT" not in result.errors


def test_shop_money_is_preferred_over_the_presentment_total(mapping):
    o = order(total_price="12.50", total_price_set={"shop_money": {"amount": "150000.50"}})
    assert mapping.apply(o, {}, {}, NOW).fields["COD_AMOUNT"] == "150001"


def test_prepaid_order_is_no_and_has_no_amount(mapping):
    result = mapping.apply(order(payment_gateway_names=["Midtrans"], financial_status="paid"), {}, {}, NOW)
    assert result.fields == {"COD_FLAG": "NO"}


def test_cod_order_already_marked_paid_is_not_collected_again(mapping):
    assert mapping.apply(order(financial_status="paid"), {}, {}, NOW).fields == {"COD_FLAG": "NO"}


@pytest.mark.parametrize("total,needle", [
    ("0.00", "needs an amount above 0"), (None, "no amount to collect"), ("gratis", "not an amount of money"),
])
def test_cod_without_a_positive_amount_is_an_error(mapping, total, needle):
    o = order(total_price=total, total_price_set=None)
    result = mapping.apply(o, {}, {}, NOW)
    assert result.fields == {"COD_FLAG": "YES"}
    (message,) = result.errors["COD_AMOUNT"]
    assert needle in message
    assert not message.startswith("COD_AMOUNT")  # the key is the dict's; the message does not repeat it
    assert "(rule rules.cod in cod.yaml:4)" in message
