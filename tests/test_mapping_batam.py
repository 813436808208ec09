"""The Batam rule: HS codes grouped per code, at most five, TAX_VALUE/ITEM_TYPE/NPWP; none outside Batam."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import UTC, datetime

import pytest

from integration.mapping import load_mapping

NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)
STORE = {"account": {"origin_code": "CGK10000"}, "batam": {"item_type": "1", "npwp": "01.234.567.8-901.000"}}


@pytest.fixture
def mapping(tmp_path):
    (tmp_path / "hs_codes.csv").write_text(
        "sku,hs_code\nKOPI-1,0901.21\nKOPI-2,0901.21\nFP-350,7013.37\nTEH-1,0902.10\n", encoding="utf-8")
    path = tmp_path / "batam.yaml"
    path.write_text(textwrap.dedent("""\
        tables:
          hs_codes: {file: hs_codes.csv}
        fields:
          ORIGIN_CODE: store.account.origin_code
          DESTINATION_CODE: order.destination
        rules:
          batam:
            lines: "order.line_items[?requires_shipping != `false`]"
            hs_code: "property(line.properties, ['HS Code', 'hs_code'])"
            sku: line.sku
            sku_table: hs_codes
            line_name: "line.title || line.name"
            price: line.price
            quantity: line.quantity
            tax: order.total_tax
        """), encoding="utf-8")
    return load_mapping(path)


def line(title, sku, price, qty, hs=None, ships=True):
    props = [{"name": "HS Code", "value": hs}] if hs else []
    return {"title": title, "sku": sku, "price": price, "quantity": qty, "properties": props,
            "requires_shipping": ships}


def batam_order(lines, destination="BTH10000", tax="43450.00"):
    return {"destination": destination, "line_items": lines, "total_tax": tax}


def test_lines_are_grouped_by_hs_code_in_order_of_first_appearance(mapping):
    lines = [line("Kopi Gayo", "KOPI-1", "65000.00", 2),
             line("French Press", "FP-350", "40000.00", 1),
             line("Kopi Toraja", "KOPI-2", "75000.00", 1),
             line("Teh", None, "35000.00", 3, hs="0902.10")]
    result = mapping.apply(batam_order(lines), STORE, {}, NOW)
    assert result.errors == {}
    assert result.fields["HS_CODE"] == "205000;3;0901.21,40000;1;7013.37,105000;3;0902.10"
    assert result.fields["TAX_VALUE"] == "43450"
    assert result.fields["ITEM_TYPE"] == "1"
    assert result.fields["NPWP"] == "01.234.567.8-901.000"


def test_the_line_property_wins_over_the_sku_table(mapping):
    result = mapping.apply(batam_order([line("Kopi", "KOPI-1", "10000", 1, hs="0901.11")]), STORE, {}, NOW)
    assert result.fields["HS_CODE"] == "10000;1;0901.11"


def test_origin_in_batam_applies_the_rule_too(mapping):
    store = {**STORE, "account": {"origin_code": "BTH10000"}}
    result = mapping.apply(batam_order([line("Kopi", "KOPI-1", "10000", 1)], destination="CGK10000"), store, {}, NOW)
    assert result.fields["HS_CODE"] == "10000;1;0901.21"


def test_lines_that_do_not_ship_are_not_declared(mapping):
    lines = [line("Kopi", "KOPI-1", "10000", 1), line("Kelas barista", None, "500000", 1, ships=False)]
    assert mapping.apply(batam_order(lines), STORE, {}, NOW).fields["HS_CODE"] == "10000;1;0901.21"


def test_five_codes_are_fine_and_six_are_an_error_naming_the_lines(mapping):
    codes = ["0901.11", "0901.12", "0901.21", "0901.22", "0902.10", "0902.20"]
    five = [line(f"Barang {i}", None, "1000", 1, hs=c) for i, c in enumerate(codes[:5])]
    assert mapping.apply(batam_order(five), STORE, {}, NOW).fields["HS_CODE"].count(",") == 4
    six = [line(f"Barang {i}", None, "1000", 1, hs=c) for i, c in enumerate(codes)]
    result = mapping.apply(batam_order(six), STORE, {}, NOW)
    assert "HS_CODE" not in result.fields
    (message,) = result.errors["HS_CODE"]
    assert "6 different HS codes, JNE takes at most 5" in message
    assert "'Barang 5'" in message and "0902.20" in message
    assert message.endswith("(rule rules.batam in batam.yaml:7)")


def test_a_line_without_hs_code_is_an_error_naming_it(mapping):
    lines = [line("Kopi", "KOPI-1", "10000", 1), line("Tumbler Stainless 500ml", "TMB-SS-500", "90000", 1),
             line("Gantungan", None, "5000", 1)]
    result = mapping.apply(batam_order(lines), STORE, {}, NOW)
    (message,) = result.errors["HS_CODE"]
    assert "'Tumbler Stainless 500ml' (sku TMB-SS-500)" in message
    assert "'Gantungan' (sku -)" in message  # no sku: shown the same in every language
    assert "hs_codes.csv" in message
    assert result.fields["TAX_VALUE"] == "43450"  # the other customs fields are still produced


def test_not_an_hs_code(mapping):
    result = mapping.apply(batam_order([line("Kopi", None, "1000", 1, hs="kopi;1")]), STORE, {}, NOW)
    assert "is not an HS code" in result.errors["HS_CODE"][0]


def test_a_declaration_longer_than_the_byte_limit_is_an_error(mapping):
    # Five codes of at most 10 digits and plausible amounts stay under JNE's 300 bytes, so the
    # limit is shown with a smaller one on the same rule.
    smaller = dataclasses.replace(mapping.rule("batam"), max_bytes=40)
    small = dataclasses.replace(mapping, rules=tuple(smaller if r.name == "batam" else r for r in mapping.rules))
    lines = [line(f"Barang {i}", None, "123456", 1, hs=f"0901.1{i}") for i in range(3)]
    result = small.apply(batam_order(lines), STORE, {}, NOW)
    (message,) = result.errors["HS_CODE"]
    assert "is 50 bytes, JNE takes at most 40" in message


def test_no_tax_is_zero_and_a_missing_item_type_is_an_error(mapping):
    store = {**STORE, "batam": {"item_type": "", "npwp": ""}}
    result = mapping.apply(batam_order([line("Kopi", "KOPI-1", "10000", 1)], tax=None), store, {}, NOW)
    assert result.fields["TAX_VALUE"] == "0"
    assert "NPWP" not in result.fields
    assert "no item type" in result.errors["ITEM_TYPE"][0]


def test_outside_batam_none_of_the_four_fields_is_produced(mapping):
    result = mapping.apply(batam_order([line("Tanpa kode", None, "1000", 1)], destination="CGK10000"), STORE, {}, NOW)
    assert result.errors == {}
    assert not {"HS_CODE", "TAX_VALUE", "ITEM_TYPE", "NPWP"} & set(result.fields)


def test_woocommerce_meta_data_keys_work_with_the_default_expression(tmp_path):
    path = tmp_path / "woo.yaml"
    path.write_text("fields: {DESTINATION_CODE: {const: BTH10000}}\nrules: {batam: {lines: order.line_items}}\n",
                    encoding="utf-8")
    mapping = load_mapping(path)
    order = {"line_items": [{"name": "Teh", "sku": "", "price": 35000, "quantity": 2,
                             "meta_data": [{"key": "hs_code", "value": "0902.10"}]}], "total_tax": "0.00"}
    result = mapping.apply(order, {"batam": {"item_type": "2"}}, {}, NOW)
    assert result.fields["HS_CODE"] == "70000;2;0902.10"
    assert result.fields["ITEM_TYPE"] == "2"


def test_an_implausible_amount_is_an_error_not_a_crash(mapping):
    result = mapping.apply(batam_order([line("Emas", None, "9" * 40, 10 ** 30, hs="7108.12")]), STORE, {}, NOW)
    assert "Emas" in result.errors["HS_CODE"][0]
