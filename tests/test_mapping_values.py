"""Value helpers: blanks, text forms, Decimal parsing of amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integration.mapping.language.values import (
    NotANumber,
    decimal_text,
    is_blank,
    parse_decimal,
    shown,
    text_of,
    whole_rupiah,
)


def test_is_blank():
    assert all(is_blank(v) for v in (None, "", "  \t", [], {}))
    assert not any(is_blank(v) for v in ("-", 0, False, [0], {"a": 1}))


def test_text_of_json_values():
    assert text_of(1042) == "1042"
    assert text_of(1042.0) == "1042"
    assert text_of(-6.2607) == "-6.2607"
    assert text_of(True) == "true"
    assert text_of(None) == ""
    assert text_of({"a": [1]}) == '{"a":[1]}'


def test_decimal_text_never_uses_exponents():
    assert decimal_text(Decimal("1E+5")) == "100000"
    assert decimal_text(Decimal("1.350")) == "1.35"
    assert decimal_text(Decimal("0.00001")) == "0.00001"
    assert decimal_text(Decimal("-0.00")) == "0"
    assert len(decimal_text(Decimal("1e308"))) == 309


@pytest.mark.parametrize("raw,want", [("185000.00", "185000.00"), (185000, "185000"), ("Rp185.000", "185000"),
                                      ("IDR 1.250.000,50", "1250000.50"), (" 12 ", "12")])
def test_parse_decimal(raw, want):
    assert parse_decimal(raw) == Decimal(want)


@pytest.mark.parametrize("raw", ["", "1.2.3", "185.000", "12,345", float("nan"), float("inf"), None, True, "x" * 50])
def test_parse_decimal_refuses(raw):
    with pytest.raises(NotANumber):
        parse_decimal(raw)


def test_whole_rupiah_rounds_half_up_even_for_huge_values():
    assert whole_rupiah(Decimal("0.5")) == 1
    assert whole_rupiah(Decimal("2.5")) == 3
    assert whole_rupiah(Decimal("9" * 40 + ".5")) == Decimal("1" + "0" * 40)


def test_shown_shortens_long_values():
    assert shown("abc") == "'abc'"
    assert shown("x" * 500).endswith("... (500 characters)'")
