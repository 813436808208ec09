"""JMESPath syntax trees compiled once into Python closures, with the interpreter's exact semantics.

jmespath's TreeInterpreter dispatches on the node type of every node on every evaluation; a mapping
evaluates a few hundred expressions per order, and that dispatch was a third of the mapping's time.
Each node type below mirrors ``jmespath.visitor.TreeInterpreter.visit_<type>`` (reusing its helpers
for equality and truth); a node type not listed falls back to the interpreter, so the result never
differs, only the speed. tests/test_mapping_expressions.py checks the two agree. One deliberate
difference: comparisons read number-like text as the number it is (``ordered_compare``), because
platforms send money as text and an owner writes ``order.total_price > `500000```.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from jmespath import functions as jfun
from jmespath import visitor as jvis

from integration.mapping.language.budget import (
    MAX_ITEMS,
    MAX_VALUE,
    OVER,
    TOO_MANY_ITEMS,
    VALUE_TOO_BIG,
    OverBudget,
    ReadsOverBudget,
    bounded,
    charge,
    weight,
)

Compiled = Callable[[Any], Any]


class CompareError(ValueError):
    """An ordering comparison of a number with text that is not a number; the message is the owner's."""


def number_of(value: Any) -> Decimal | None:
    """``value`` as a number when it is one, or text that reads as one (``"185000.00"``); else None.

    Shopify sends money as text and WooCommerce sends some quantities as text: a mapping compares
    them with numbers as the numbers they are.
    """
    kind = type(value)
    if kind is int or kind is float:
        return Decimal(value) if kind is int else Decimal(repr(value))
    if kind is str and value.strip():
        try:
            got = Decimal(value.strip())
        except InvalidOperation:
            return None
        return got if got.is_finite() else None
    return None


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def ordered_compare(compare: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """``a < b`` (or another ordering) as a mapping means it: numbers and number-like text as numbers.

    Two numbers, or a number and number-like text, or two number-like texts compare as numbers
    ("9" < "10"); two other texts compare as text (ISO dates order correctly); anything else is
    null as in JMESPath, except text that is not a number against a number, which is an error
    saying so rather than a silent "no".
    """
    x, y = number_of(a), number_of(b)
    if x is not None and y is not None and type(a) is not bool and type(b) is not bool:
        return compare(x, y)
    if type(a) is str and type(b) is str:
        return compare(a, b)
    if jvis._is_actual_number(a) and type(b) is str or jvis._is_actual_number(b) and type(a) is str:
        text = a if type(a) is str else b
        raise CompareError(f"cannot compare the text {_shown(text)} with a number: it is not a number "
                           "(to_number(...) turns number-like text into a number; null when it is not one)")
    return None


def equal_compare(compare: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """``a == b`` (or ``!=``): a number and number-like text are equal when their numbers are."""
    ta, tb = type(a), type(b)
    if (ta is str and (tb is int or tb is float)) or (tb is str and (ta is int or ta is float)):
        x, y = number_of(a), number_of(b)
        if x is not None and y is not None:
            return compare(x, y)
    return compare(a, b)


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
        var = _var_read(node)
        if var is not None:
            return self._var_then(*var)
        steps = [self.build(child) for child in node["children"]]
        if len(steps) == 2:
            first, second = steps
            return lambda value: second(first(value))

        def chained(value: Any) -> Any:
            for step in steps:
                value = step(value)
            return value

        return chained

    def _var_then(self, name: str, rest: list[dict[str, Any]]) -> Compiled:
        """``vars.NAME`` and what follows it (``.a.b``, ``[0]``...)."""
        return var_reader(name, [self.build(child) for child in rest])

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
            def equal(value: Any) -> Any:
                a, b = left(value), right(value)
                ta, tb = type(a), type(b)
                if ta is tb:  # the usual case (a topic, a status): nothing to convert
                    return compare(a, b)
                return equal_compare(compare, a, b)

            return equal

        def ordered(value: Any) -> Any:
            a, b = left(value), right(value)
            if (type(a) is int or type(a) is float) and (type(b) is int or type(b) is float):
                return compare(a, b)
            return ordered_compare(compare, a, b)

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
        makes = _makes_values(node["children"][1])

        def projected(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            out = []
            made = _Meter() if makes else None
            for item in items:
                got = each(item)
                if got is not None:
                    if made is not None:
                        made.add(got)
                    out.append(got)
            return out

        return projected

    def _value_projection(self, node: dict[str, Any]) -> Compiled:
        base, each = (self.build(child) for child in node["children"])
        makes = _makes_values(node["children"][1])

        def projected(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, dict):
                return None
            out = []
            made = _Meter() if makes else None
            for item in items.values():
                got = each(item)
                if got is not None:
                    if made is not None:
                        made.add(got)
                    out.append(got)
            return out

        return projected

    def _filter_projection(self, node: dict[str, Any]) -> Compiled:
        base, each, condition = (self.build(child) for child in node["children"])
        is_true = self.interpreter._is_true
        makes = _makes_values(node["children"][1])

        def filtered(value: Any) -> Any:
            items = base(value)
            if not isinstance(items, list):
                return None
            out = []
            made = _Meter() if makes else None
            for item in items:
                if is_true(condition(item)):
                    got = each(item)
                    if got is not None:
                        if made is not None:
                            made.add(got)
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

    # A multi-select wraps values it did not make: [vars.a, vars.a] read twice by the next var is a
    # doubling that costs little memory but 2**n items to walk or print. ``bounded`` stops it.

    def _multi_select_dict(self, node: dict[str, Any]) -> Compiled:
        pairs = [(child["value"], self.build(child["children"][0])) for child in node["children"]]
        return lambda value: None if value is None else bounded({key: get(value) for key, get in pairs})

    def _multi_select_list(self, node: dict[str, Any]) -> Compiled:
        items = [self.build(child) for child in node["children"]]
        return lambda value: None if value is None else bounded([get(value) for get in items])

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

            def untyped(value: Any) -> Any:
                got = function(owner, *[arg(value) for arg in args])
                # the usual result, a short text or a flag, needs no further look
                return got if type(got) is str and len(got) < _SHORT or type(got) is bool else bounded(got)

            return untyped
        if len(args) == 1:
            (only,) = args
            return lambda value: bounded(call(name, [only(value)]))
        return lambda value: bounded(call(name, [arg(value) for arg in args]))


def _var_read(node: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """(NAME, the nodes after it) when ``node`` is ``vars.NAME...`` or ``vars.NAME[...]...``; else None."""
    children = node["children"]
    if node["type"] != "subexpression" or len(children) < 2:
        return None
    first, second = children[0], children[1]
    if first["type"] != "field" or first["value"] != "vars":
        return None
    if second["type"] == "field":
        return second["value"], children[2:]
    if second["type"] == "index_expression" and second["children"] and second["children"][0]["type"] == "field":
        return second["children"][0]["value"], second["children"][1:] + children[2:]
    return None


def var_reader(name: str, steps: list[Compiled] = (), keys: tuple[str, ...] = ()) -> Compiled:  # type: ignore[assignment]
    """``scope.vars.NAME`` then ``steps`` (compiled nodes) or ``keys`` (plain fields), as JMESPath reads it.

    A subscript, not ``.get``: an order's vars (variables.LazyVars) work a var out in
    ``__missing__`` the first time it is read and answer like a plain dict after that. Written
    out here rather than calling helpers: about thirty reads per order.
    """
    def read(scope: Any) -> Any:
        variables = scope.get("vars") if isinstance(scope, dict) else None
        if not isinstance(variables, dict):
            return None
        try:
            value = variables[name]
        except KeyError:
            return None
        if value is OVER:
            raise ReadsOverBudget(name)
        for step in steps:
            value = step(value)
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return read


_SHORT = 1024  # below every bound of budget.py, and not charged to the order there either
_MAKERS = frozenset({"function_expression", "multi_select_list", "multi_select_dict"})


class _Meter:
    """The size of what a projection makes, item by item (only where its items are made, not read)."""

    __slots__ = ("total", "items")

    def __init__(self) -> None:
        self.total = 0
        self.items = 0

    def add(self, item: Any) -> None:
        """Count one item; raise OverBudget once the list made so far is past one value's bounds."""
        self.items += 1
        if self.items > MAX_ITEMS:
            raise OverBudget(TOO_MANY_ITEMS, size=self.items, bound=MAX_ITEMS)
        size = weight(item, MAX_VALUE - self.total) + 1
        self.total += size
        if self.total > MAX_VALUE:
            raise OverBudget(VALUE_TOO_BIG, bound=MAX_VALUE)
        charge(size)


def _makes_values(node: dict[str, Any]) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.get("type") in _MAKERS:
            return True
        stack.extend(child for child in current.get("children", ()) if isinstance(child, dict))
    return False
