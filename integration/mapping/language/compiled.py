"""JMESPath syntax trees compiled once into Python closures, with the interpreter's exact semantics.

jmespath's TreeInterpreter dispatches on the node type of every node on every evaluation; a mapping
evaluates a few hundred expressions per order, and that dispatch was a third of the mapping's time.
Each node type below mirrors ``jmespath.visitor.TreeInterpreter.visit_<type>`` (reusing its helpers
for equality and truth); a node type not listed falls back to the interpreter, so the result never
differs, only the speed. tests/test_mapping_expressions.py checks the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jmespath import functions as jfun
from jmespath import visitor as jvis

Compiled = Callable[[Any], Any]


class _Expression(jvis._Expression):
    """An ``&expr`` argument, named like jmespath's so its type checks (``expref``) accept it."""

    def __init__(self, expression: dict[str, Any], interpreter: jvis.TreeInterpreter, fn: Compiled):
        super().__init__(expression, interpreter)
        self._fn = fn

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        if node is self.expression and args:
            return self._fn(args[0])
        return self.interpreter.visit(node, *args, **kwargs)


def compile_tree(node: dict[str, Any], functions: jfun.Functions, interpreter: jvis.TreeInterpreter) -> Compiled:
    """A closure computing ``interpreter.visit(node, value)``."""
    return _Compiler(functions, interpreter).build(node)


class _Compiler:
    def __init__(self, functions: jfun.Functions, interpreter: jvis.TreeInterpreter):
        self.functions = functions
        self.interpreter = interpreter

    def build(self, node: dict[str, Any]) -> Compiled:
        method = getattr(self, f"_{node['type']}", None)
        if method is None:
            interpreter = self.interpreter
            return lambda value: interpreter.visit(node, value)
        return method(node)

    def _chain(self, node: dict[str, Any]) -> Compiled:
        steps = [self.build(child) for child in node["children"]]
        if len(steps) == 2:
            first, second = steps
            return lambda value: second(first(value))

        def chained(value: Any) -> Any:
            for step in steps:
                value = step(value)
            return value

        return chained

    _subexpression = _chain
    _index_expression = _chain
    _pipe = _chain

    def _field(self, node: dict[str, Any]) -> Compiled:
        key = node["value"]
        return lambda value: value.get(key) if isinstance(value, dict) else None

    def _index(self, node: dict[str, Any]) -> Compiled:
        index = node["value"]

        def at(value: Any) -> Any:
            if not isinstance(value, list):
                return None
            try:
                return value[index]
            except IndexError:
                return None

        return at

    def _slice(self, node: dict[str, Any]) -> Compiled:
        part = slice(*node["children"])
        return lambda value: value[part] if isinstance(value, list) else None

    def _literal(self, node: dict[str, Any]) -> Compiled:
        constant = node["value"]
        return lambda value: constant

    def _current(self, node: dict[str, Any]) -> Compiled:
        return lambda value: value

    _identity = _current

    def _comparator(self, node: dict[str, Any]) -> Compiled:
        left, right = (self.build(child) for child in node["children"])
        compare = jvis.TreeInterpreter.COMPARATOR_FUNC[node["value"]]
        if node["value"] in jvis.TreeInterpreter._EQUALITY_OPS:
            return lambda value: compare(left(value), right(value))

        def ordered(value: Any) -> Any:
            a, b = left(value), right(value)
            if not (jvis._is_comparable(a) and jvis._is_comparable(b)):
                return None
            return compare(a, b)

        return ordered

    def _or_expression(self, node: dict[str, Any]) -> Compiled:
        left, right = (self.build(child) for child in node["children"])
        is_false = self.interpreter._is_false

        def either(value: Any) -> Any:
            matched = left(value)
            return right(value) if is_false(matched) else matched

        return either

    def _and_expression(self, node: dict[str, Any]) -> Compiled:
        left, right = (self.build(child) for child in node["children"])
        is_false = self.interpreter._is_false

        def both(value: Any) -> Any:
            matched = left(value)
            return matched if is_false(matched) else right(value)

        return both

    def _not_expression(self, node: dict[str, Any]) -> Compiled:
        inner = self.build(node["children"][0])

        def negated(value: Any) -> Any:
            result = inner(value)
            if jvis._is_actual_number(result) and result == 0:
                return False  # JMESPath: !0 is false
            return not result

        return negated

    def _projection(self, node: dict[str, Any]) -> Compiled:
        base, each = (self.build(child) for child in node["children"])

        def projected(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            out = []
            for item in items:
                got = each(item)
                if got is not None:
                    out.append(got)
            return out

        return projected

    def _value_projection(self, node: dict[str, Any]) -> Compiled:
        base, each = (self.build(child) for child in node["children"])

        def projected(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, dict):
                return None
            out = []
            for item in items.values():
                got = each(item)
                if got is not None:
                    out.append(got)
            return out

        return projected

    def _filter_projection(self, node: dict[str, Any]) -> Compiled:
        base, each, condition = (self.build(child) for child in node["children"])
        is_true = self.interpreter._is_true

        def filtered(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            out = []
            for item in items:
                if is_true(condition(item)):
                    got = each(item)
                    if got is not None:
                        out.append(got)
            return out

        return filtered

    def _flatten(self, node: dict[str, Any]) -> Compiled:
        base = self.build(node["children"][0])

        def flattened(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            out: list[Any] = []
            for item in items:
                if isinstance(item, list):
                    out.extend(item)
                else:
                    out.append(item)
            return out

        return flattened

    def _multi_select_dict(self, node: dict[str, Any]) -> Compiled:
        pairs = [(child["value"], self.build(child["children"][0])) for child in node["children"]]
        return lambda value: None if value is None else {key: get(value) for key, get in pairs}

    def _multi_select_list(self, node: dict[str, Any]) -> Compiled:
        items = [self.build(child) for child in node["children"]]
        return lambda value: None if value is None else [get(value) for get in items]

    def _expref(self, node: dict[str, Any]) -> Compiled:
        body = node["children"][0]
        ref = _Expression(body, self.interpreter, self.build(body))
        return lambda value: ref

    def _function_expression(self, node: dict[str, Any]) -> Compiled:
        name = node["value"]
        args = [self.build(child) for child in node["children"]]
        call = self.functions.call_function
        spec = type(self.functions).FUNCTION_TABLE.get(name)
        if spec is not None and not any(arg["types"] for arg in spec["signature"]):
            # Untyped (our own, null-tolerant) functions: the argument count was checked at load,
            # so skip jmespath's per-call validation.
            function, owner = spec["function"], self.functions
            return lambda value: function(owner, *[arg(value) for arg in args])
        if len(args) == 1:
            (only,) = args
            return lambda value: call(name, [only(value)])
        return lambda value: call(name, [arg(value) for arg in args])
