"""The compiled closures give exactly what jmespath's interpreter gives, node type by node type."""

from __future__ import annotations

import jmespath
import pytest

from integration.mapping.language.expressions import FUNCTIONS, ExpressionError, compile_expression

EQUIVALENT = [
    "order.a", "order.a.b.c", "order.items[0]", "order.items[-1].name", "order.items[1:3]", "order.items[::-1]",
    "order.items[*].name", "order.items[].name", "order.items[?qty > `1`].name", "order.items[?name == 'x']",
    "order.items[?!gift].qty", "order.obj.*", "order.obj.*.x", "order.nested[]", "order.nested[][]",
    "order.a || order.b && order.c", "order.zero == `0`", "order.t == `true`",
    "order.a != order.b", "!(order.a)", "!(order.zero)", "order.n < `3`", "order.n >= order.m", "order.s < 'b'", "{x: order.a, y: order.n}",
    "[order.a, order.n]", "order | a", "order.items | [0]", "length(order.items)", "sort_by(order.items, &qty)",
    "max_by(order.items, &qty).name", "map(&name, order.items)", "sum(order.items[].qty)",
    "join(', ', order.items[].name)", "to_string(order.n)", "to_number('5')", "not_null(order.none, order.a)",
    "contains(order.tags, 'vip')", "starts_with(order.s, 'a')", "type(order.obj)", "keys(order.obj)",
    "concat(order.a, order.n)", "sum_by(order.items, &qty)", "join_nonblank(' ', order.items[].name)",
    "if(order.t, 'Y', 'N')", "find_word(order.title, ['REG', 'YES'])", "@.order.a", "`[1, 2]`[1]",
]
SCOPES = [
    {"order": {"a": "A", "b": "", "c": [], "n": 2, "m": 2.5, "zero": 0, "t": True, "s": "abc", "none": None,
               "tags": ["vip", "x"], "title": "JNE YES", "obj": {"k": {"x": 1}, "j": {"x": None}},
               "nested": [[1, [2]], 3], "items": [{"name": "x", "qty": 2, "gift": False},
                                                   {"name": "y", "qty": 1, "gift": True},
                                                   {"name": "z", "qty": 3}]}},
    {"order": {"a": None, "n": 0, "items": [], "obj": {}, "tags": [], "s": "", "title": "", "t": False}},
    {"order": {"a": ["list"], "items": [{"name": "solo", "qty": 5}], "obj": {"k": 1}, "tags": ["a"],
               "s": "b", "title": "x", "n": -1, "m": -1, "nested": []}},
]


@pytest.mark.parametrize("source", EQUIVALENT)
def test_compiled_expressions_agree_with_the_interpreter(source):
    expression, problems = compile_expression(source, roots=("order",))
    assert problems == []
    options = jmespath.Options(custom_functions=FUNCTIONS)
    for scope in SCOPES:
        try:
            want = jmespath.search(source, scope, options=options)
        except jmespath.exceptions.JMESPathError:
            with pytest.raises(ExpressionError):
                expression.evaluate(scope)
            continue
        assert expression.evaluate(scope) == want, (source, scope)


def test_unknown_node_types_fall_back_to_the_interpreter():
    from integration.mapping.language.compiled import compile_tree
    from integration.mapping.language.expressions import _INTERPRETER

    node = {"type": "field", "value": "a", "children": []}
    assert compile_tree(node, FUNCTIONS, _INTERPRETER)({"a": 1}) == 1
    odd = {"type": "literal", "value": 5, "children": []}
    assert compile_tree(odd, FUNCTIONS, _INTERPRETER)(None) == 5
