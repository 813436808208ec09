"""Mapping expressions: the extra JMESPath functions, the load-time check, the fast path."""

from __future__ import annotations

import jmespath
import pytest

from integration.mapping.language.expressions import (
    CUSTOM_FUNCTION_NAMES,
    ExpressionError,
    compile_expression,
)


def ev(source: str, scope: dict | None = None, **kwargs):
    expression, problems = compile_expression(source, **kwargs)
    assert problems == [], problems
    return expression.evaluate(scope or {})


def problems_of(source, **kwargs):
    expression, problems = compile_expression(source, **kwargs)
    assert expression is None
    return problems


ORDER = {"order": {
    "name": "#1042", "order_number": 1042, "tags": "grosir, VIP", "note": None,
    "payment_gateway_names": ["Cash on Delivery (COD)"],
    "note_attributes": [{"name": "Kecamatan", "value": "Coblong"}],
    "meta_data": [{"id": 1, "key": "_jne_weight_grams", "value": "1350"}, {"key": "blank", "value": ""}],
    "line_items": [{"name": "Kopi", "quantity": 2, "price": "65000.10", "requires_shipping": True},
                   {"name": None, "quantity": 1, "price": "40000.05", "requires_shipping": True},
                   {"name": "Kelas", "quantity": 1, "price": 5, "requires_shipping": False}],
    "shipping_lines": [{"title": "JNE YES (1 hari)"}],
}}


def test_text_functions_tolerate_null_and_numbers():
    assert ev("upper(order.name)", ORDER) == "#1042"
    assert ev("lower('ABC')") == "abc"
    assert ev("trim('  a   b ')") == "a b"
    assert ev("upper(order.missing)", ORDER) is None
    assert ev("concat('TC', order.order_number, order.missing)", ORDER) == "TC1042"
    assert ev("concat('x', `1.0`)") == "x1"
    assert ev("replace(order.name, '#', '')", ORDER) == "1042"
    assert ev("split(order.tags, ',')", ORDER) == ["grosir", "VIP"]
    assert ev("split(order.missing, ',')", ORDER) == []


def test_join_nonblank_skips_nulls_and_blanks():
    assert ev("join_nonblank(', ', order.line_items[].name)", ORDER) == "Kopi, Kelas"
    assert ev("join_nonblank(' ', ['a', '', `null`, ' b '])") == "a b"


def test_contains_i_is_lenient_and_case_insensitive():
    assert ev("contains_i(order.payment_gateway_names, 'cash on delivery (cod)')", ORDER) is True
    assert ev("contains_i(order.tags, 'vip')", ORDER) is True
    assert ev("contains_i(order.missing, 'x')", ORDER) is False
    assert ev("contains_i(`5`, '5')") is True


def test_property_reads_name_value_and_key_value_lists():
    assert ev("property(order.note_attributes, 'kecamatan')", ORDER) == "Coblong"
    assert ev("property(order.meta_data, ['nope', '_JNE_weight_grams'])", ORDER) == "1350"
    assert ev("property(order.meta_data, 'blank')", ORDER) is None
    assert ev("property(order.missing, 'x')", ORDER) is None


def test_sum_by_and_sum_money_add_with_decimal():
    assert ev("sum_by(order.line_items[?requires_shipping], &quantity)", ORDER) == 3
    assert ev("sum_money(order.line_items, &price)", ORDER) == "105005.15"
    assert ev("sum_by(order.missing, &quantity)", ORDER) is None
    with pytest.raises(ExpressionError, match="sum_by"):
        ev("sum_by(order.line_items, &name)", ORDER)


def test_find_word_matches_whole_words_only():
    assert ev("find_word(order.shipping_lines[0].title, ['REG', 'YES', 'OKE'])", ORDER) == "YES"
    assert ev("find_word('Reguler (2-3 hari)', ['REG', 'YES'])") is None
    assert ev("find_word('jne_oke', ['REG', 'OKE'])") == "OKE"
    assert ev("find_word('Kilat', `{\"KILAT\": \"YES\"}`)") == "YES"


def test_if_picks_a_branch_even_when_the_branch_is_falsy():
    assert ev("if(`true`, '', 'NO')") == ""
    assert ev("if(order.missing, 'YES', 'NO')", ORDER) == "NO"


def test_bare_null_true_false_mean_the_literals():
    assert ev("order.note != null", ORDER) is False
    assert ev("order.flag == true", {"order": {"flag": True}}) is True
    assert ev("order.flag == false", {"order": {"flag": False}}) is True


def test_not_applies_to_the_whole_path():
    assert ev("!order.shipping_address", ORDER) is True
    assert ev("!order.line_items[?requires_shipping]", ORDER) is False
    # plain JMESPath would read (!order).shipping_address: always null
    assert jmespath.search("!order.shipping_address", ORDER) is None


def test_fast_path_agrees_with_jmespath():
    scope = {"order": {"a": {"b": "x"}, "c": "", "d": [], "e": 0}, "vars": {"v": None}}
    for source in ("order.a.b", "order.a", "order.c || order.a.b", "order.c || order.d || 'z'",
                   "order.e || 'z'", "vars.v || order.missing", "order.a.b.c"):
        expression, _ = compile_expression(source)
        assert expression.plain, source
        assert expression.evaluate(scope) == jmespath.search(source, scope), source
    expression, _ = compile_expression("order.a | b")
    assert not expression.plain


def test_load_time_check_finds_unknown_functions_arity_names_and_vars():
    assert "unknown function nope()" in problems_of("nope(order.a)")[0]
    assert "join() takes 2 argument(s), got 1" in problems_of("join(order.a)")[0]
    assert "concat() takes at least 1 argument(s), got 0" in problems_of("concat()")[0]
    assert "unknown name 'ordr', did you mean 'order'?" in problems_of("ordr.a")[0]
    assert "unknown variable 'vars.b' (known: a)" in problems_of("vars.b", var_names=["a"])[0]
    assert "bad expression" in problems_of("order.[")[0]
    assert "non-empty text" in problems_of("  ")[0]
    assert "non-empty text" in problems_of(5)[0]


def test_names_inside_projections_and_filters_are_not_roots():
    assert compile_expression("order.line_items[?requires_shipping].name")[1] == []
    assert compile_expression("sort_by(order.items, &price)[0].name")[1] == []
    assert compile_expression("order.items | [0].sku")[1] == []
    assert compile_expression("{zip: order.zip, city: order.city}")[1] == []
    assert "unknown name 'zip'" in compile_expression("{zip: zip}")[1][0]


def test_line_scope_adds_a_root():
    assert compile_expression("line.sku", roots=("order", "line"))[1] == []
    assert "unknown name 'line'" in compile_expression("line.sku")[1][0]


def test_type_errors_become_expression_errors_not_exceptions():
    with pytest.raises(ExpressionError, match=r"starts_with\(\) got number"):
        ev("starts_with(order.order_number, '1')", ORDER)


def test_custom_functions_are_registered():
    assert {"buyer_collects", "concat", "contains_i", "find_word", "if", "in_indonesia", "jne_service",
            "join_nonblank", "lower", "other_courier", "property", "replace", "split", "sum_by", "sum_money",
            "trim", "upper"} == set(CUSTOM_FUNCTION_NAMES)


def test_the_shared_jmespath_cache_is_not_rewritten():
    compile_expression("!order.test")
    assert jmespath.compile("!order.test").parsed["type"] == "subexpression"
