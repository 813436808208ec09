"""Types in mappings: money and quantities compare as numbers whatever the platform sends, and no Python.

Shopify sends money as text ("185000.00"), WooCommerce sends line prices as numbers and totals as
text. A mapping that compares either with a number works on both; text that is not a number gets a
message saying so and naming the fix (to_number), never Python's "TypeError: '>' not supported
between instances of 'str' and 'int'". A syntax error shows the expression with a caret.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integration.config import load_config
from integration.errors import ConfigError
from integration.mapping import load_mapping
from integration.mapping.language.expressions import compile_expression

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "fixtures" / "examples"
DEMO = load_config(None, env={"DATABASE_URL": "sqlite://"})
NOW = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)

SHOPIFY = """extends: shopify.yaml
fields:
  SPECIAL_INS: {value: "order.total_price > `100000` && 'BIG ORDER' || 'SMALL ORDER'"}
  INSURANCE_FLAG: {value: "order.line_items[0].price >= `65000` && order.line_items[0].quantity > '1' && 'Y' || 'N'"}
"""
WOOCOMMERCE = """extends: woocommerce.yaml
fields:
  SPECIAL_INS: {value: "order.total > `100000` && 'BIG ORDER' || 'SMALL ORDER'"}
  INSURANCE_FLAG: {value: "order.line_items[0].price >= `65000` && order.line_items[0].quantity > '1' && 'Y' || 'N'"}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    return tmp_path / "mappings"


def mapped(folder: Path, text: str, platform: str, order: dict, topic: str):
    (folder / "toko.yaml").write_text(text, encoding="utf-8")
    mapping = load_mapping(folder / "toko.yaml", {"destinations": str(folder / "jne_destinations.csv")})
    store = DEMO.stores["demo" if platform == "shopify" else "demo-woo"]
    return mapping.apply(order, store.facts, {"topic": topic, "received_at": NOW.isoformat()}, NOW)


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.body").read_bytes())


def test_money_as_text_and_as_numbers_compares_as_numbers_on_both_platforms(folder):
    shopify = example("shopify_cod")
    assert isinstance(shopify["total_price"], str) and isinstance(shopify["line_items"][0]["price"], str)
    result = mapped(folder, SHOPIFY, "shopify", shopify, "orders/create")
    assert result.problems == []
    assert (result.fields["SPECIAL_INS"], result.fields["INSURANCE_FLAG"]) == ("BIG ORDER", "Y")
    woo = example("woocommerce_cod")
    assert isinstance(woo["total"], str) and isinstance(woo["line_items"][0]["price"], int)
    result = mapped(folder, WOOCOMMERCE, "woocommerce", woo, "order.created")
    assert result.problems == []
    assert (result.fields["SPECIAL_INS"], result.fields["INSURANCE_FLAG"]) == ("BIG ORDER", "Y")
    # "9" < "10" as numbers, not as text
    shopify["total_price"] = "99999.00"
    assert mapped(folder, SHOPIFY, "shopify", shopify, "orders/create").fields["SPECIAL_INS"] == "SMALL ORDER"


def test_text_that_is_not_a_number_gets_a_message_with_the_fix_and_no_python(folder):
    order = example("shopify_cod")
    order["total_price"] = "seratus ribu"
    result = mapped(folder, SHOPIFY, "shopify", order, "orders/create")
    [message] = result.messages()["SPECIAL_INS"]
    assert "cannot compare the text 'seratus ribu' with a number: it is not a number" in message
    assert "to_number(" in message and "toko.yaml:3" in message
    for python in ("TypeError", "not supported between", "instances of", "Traceback"):
        assert python not in message


def test_number_like_text_equals_the_number(folder):
    expression, problems = compile_expression("order.total_price == `185000`")
    assert problems == []
    assert expression.evaluate({"order": {"total_price": "185000.00"}}) is True
    assert expression.evaluate({"order": {"total_price": "185000.50"}}) is False
    # two texts stay texts: a postal code "01234" is not "1234"
    text_only, _ = compile_expression("order.zip == '1234'")
    assert text_only.evaluate({"order": {"zip": "01234"}}) is False


def test_a_function_that_needs_numbers_names_to_number(folder):
    expression, _ = compile_expression("abs(order.total_price)")
    with pytest.raises(Exception) as err:
        expression.evaluate({"order": {"total_price": "185000.00"}})
    assert "write to_number(...) around the text to use it as a number" in str(err.value)


@pytest.mark.parametrize("source", [
    "order.total_price >> `5`",
    "order.line_items[?price > `10`.name",
    "contains(order.tags, 'vip'",
])
def test_a_syntax_error_shows_the_expression_with_a_caret_under_the_position(source):
    import jmespath

    try:
        jmespath.compile(source)
    except jmespath.exceptions.JMESPathError as exc:
        position = exc.lex_position
    _, [problem] = compile_expression(source)
    first, shown, caret = problem.split("\n")
    assert first.startswith("bad expression: ") and first.endswith("the caret shows where")
    assert shown == f"    {source}"
    assert caret == "    " + " " * position + "^"
    assert "Invalid jmespath expression at position" not in problem


def test_a_caret_in_a_multi_line_expression_points_into_its_own_line(folder):
    source = "order.financial_status == 'paid'\n  || order.total_price >> `5`"
    _, [problem] = compile_expression(source)
    _, shown, caret = problem.split("\n")
    assert shown == "      || order.total_price >> `5`"
    assert shown[caret.index("^")] == ">"


def test_check_shows_the_caret_under_the_line_of_the_file(folder):
    (folder / "toko.yaml").write_text('extends: shopify.yaml\nfields:\n  SPECIAL_INS: {value: "order.note ||"}\n',
                                      encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_mapping(folder / "toko.yaml")
    [problem] = err.value.problems
    assert problem.startswith(f"{folder / 'toko.yaml'}:3: fields.SPECIAL_INS: bad expression: the expression ends too "
                              "early")
    assert problem.endswith("\n    order.note ||\n                 ^")
