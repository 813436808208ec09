"""JMESPath expressions of a mapping: the extra functions, the load-time check, fast evaluation.

JMESPath reports an unknown function or a wrong number of arguments only when the expression runs,
so ``compile_expression`` walks the parsed tree at load time and reports those (and names that are
not one of the scope's roots such as ``order`` or ``vars.x`` that was never defined) with the rule
that holds them. Each expression is parsed once at load and compiled into Python closures
(``compiled.py``); plain paths such as ``order.a.b`` and fallback chains of them get a tighter
getter still, because most rules are exactly that.
"""

from __future__ import annotations

import copy
import difflib
import functools
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import jmespath
from jmespath import exceptions as jexc
from jmespath import functions as jfun
from jmespath import visitor as jvis

from integration.mapping.language.budget import (
    MAX_TEXT,
    MAX_VALUE,
    VALUE_TOO_BIG,
    OverBudget,
    check_text_size,
    weight,
)
from integration.mapping.language.compiled import CompareError, compile_tree, var_reader
from integration.mapping.language.values import decimal_text, is_blank, text_of
from integration.problems import define

log = logging.getLogger(__name__)
ROOT_NAMES = ("order", "store", "event", "pickup", "vars")
ALL_VARS = "*"  # in Expression.var_reads: ``vars`` read as a whole
_BARE_LITERALS = {"null": None, "true": True, "false": False}

# Filed when an expression fails on one order ({error} is JMESPath's own explanation).
EXPRESSION_FAILED = define("expression.failed", en="the expression failed on this order: {error}",
                           id="ekspresi gagal pada pesanan ini: {error}")
EXPRESSION_FAILED_IN = define("expression.failed_named",
                              en="the expression {expression} failed on this order: {error}",
                              id="ekspresi {expression} gagal pada pesanan ini: {error}")


class ExpressionError(Exception):
    """An expression could not be evaluated on this order (caught by the engine, filed as a problem)."""


def _as_text(value: Any) -> str:
    return "" if value is None else text_of(value)


def _to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and value.strip():
        try:
            got = Decimal(value.strip())
        except InvalidOperation:
            return None
        return got if got.is_finite() else None
    return None


_WORD_CHARS = "A-Za-z0-9"


class MappingFunctions(jfun.Functions):
    """JMESPath's built-in functions plus the ones mappings need; all tolerate null and odd types."""

    @jfun.signature({"types": []})
    def _func_lower(self, value: Any) -> Any:
        return None if value is None else _as_text(value).lower()

    @jfun.signature({"types": []})
    def _func_upper(self, value: Any) -> Any:
        return None if value is None else _as_text(value).upper()

    @jfun.signature({"types": []})
    def _func_trim(self, value: Any) -> Any:
        return None if value is None else " ".join(_as_text(value).split())

    # The functions that can make a text longer than their inputs (join, concat, replace, map)
    # check the size of what they would make before making it (see budget.py).

    @jfun.signature({"types": [], "variadic": True})
    def _func_concat(self, *values: Any) -> str:
        texts = [_as_text(v) for v in values if not isinstance(v, list | dict)]
        if len(texts) > 1:
            check_text_size(sum(map(len, texts)))
        return "".join(texts)

    @jfun.signature({"types": []}, {"types": []})
    def _func_join_nonblank(self, separator: Any, values: Any) -> str:
        if not isinstance(values, list):
            values = [values]
        parts = [text for v in values if not isinstance(v, list | dict) and (text := " ".join(_as_text(v).split()))]
        return _joined(_as_text(separator), parts)

    @jfun.signature({"types": ["string"]}, {"types": ["array-string"]})
    def _func_join(self, separator: str, array: list[str]) -> str:
        return _joined(separator, array)

    @jfun.signature({"types": ["expref"]}, {"types": ["array"]})
    def _func_map(self, expref: Any, array: list[Any]) -> list[Any]:
        out: list[Any] = []
        total = 0
        for element in array:
            got = expref.visit(expref.expression, element)
            total += weight(got, MAX_VALUE - total) + 1
            if total > MAX_VALUE:
                raise OverBudget(VALUE_TOO_BIG, bound=MAX_VALUE)
            out.append(got)
        return out

    @jfun.signature({"types": []})
    def _func_to_string(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if weight(value, MAX_TEXT) > MAX_TEXT:  # its JSON text is at least that long
            raise OverBudget(VALUE_TOO_BIG, bound=MAX_TEXT)
        return super()._func_to_string(value)

    @jfun.signature({"types": []}, {"types": []})
    def _func_split(self, value: Any, separator: Any) -> list[str]:
        if value is None or isinstance(value, list | dict):
            return []
        sep = _as_text(separator)
        parts = _as_text(value).split(sep) if sep else _as_text(value).split()
        return [p.strip() for p in parts if p.strip()]

    @jfun.signature({"types": []}, {"types": []}, {"types": []})
    def _func_replace(self, value: Any, old: Any, new: Any) -> Any:
        if value is None or isinstance(value, list | dict):
            return value
        old_text, text = _as_text(old), _as_text(value)
        if not old_text:
            return text
        new_text = _as_text(new)
        if len(new_text) > len(old_text):
            check_text_size(len(text) + text.count(old_text) * (len(new_text) - len(old_text)))
        return text.replace(old_text, new_text)

    @jfun.signature({"types": []}, {"types": []})
    def _func_contains_i(self, subject: Any, search: Any) -> bool:
        needle = _as_text(search).casefold()
        if isinstance(subject, list):
            return any(not isinstance(s, list | dict) and _as_text(s).casefold() == needle for s in subject)
        if subject is None or isinstance(subject, dict):
            return False
        return needle in _as_text(subject).casefold()

    @jfun.signature({"types": []}, {"types": []})
    def _func_property(self, entries: Any, names: Any) -> Any:
        # Shopify line properties / note_attributes are [{name, value}], WooCommerce meta_data is
        # [{key, value}]: the same lookup serves both. Names match case- and space-insensitively.
        if not isinstance(entries, list):
            return None
        wanted = [_norm_name(n) for n in (names if isinstance(names, list) else [names])]
        for name in wanted:
            for entry in entries:
                if isinstance(entry, dict):
                    key = entry.get("name", entry.get("key"))
                    if key is not None and not isinstance(key, list | dict) and _norm_name(key) == name:
                        value = entry.get("value")
                        if not is_blank(value):
                            return value
        return None

    @jfun.signature({"types": []}, {"types": ["expref"]})
    def _func_sum_by(self, values: Any, expref: Any) -> Any:
        total = self._decimal_sum(values, expref)
        if total is None:
            return None
        return int(total) if total == total.to_integral_value() else float(total)

    @jfun.signature({"types": []}, {"types": ["expref"]})
    def _func_sum_money(self, values: Any, expref: Any) -> Any:
        total = self._decimal_sum(values, expref)
        return None if total is None else decimal_text(total)

    def _decimal_sum(self, values: Any, expref: Any) -> Decimal | None:
        # Decimal, not float: money must add up exactly.
        if not isinstance(values, list):
            return None
        total = Decimal(0)
        whole = 0  # quantities are plain ints: add those without Decimal
        for item in values:
            got = expref.visit(expref.expression, item)
            if type(got) is int:
                whole += got
                continue
            if got is None or (isinstance(got, str) and not got.strip()):
                continue
            number = _to_decimal(got)
            if number is None:
                raise jexc.JMESPathTypeError("sum_by", got, type(got).__name__, ["number"])
            total += number
        return total + whole

    @jfun.signature({"types": []}, {"types": []})
    def _func_find_word(self, text: Any, words: Any) -> Any:
        # "JNE YES (1 hari)" names YES; "Reguler" does not name REG. An object maps word -> answer.
        if text is None or isinstance(text, list | dict):
            return None
        subject = _as_text(text)
        choices = words.items() if isinstance(words, dict) else (
            (w, w) for w in (words if isinstance(words, list) else [words]))
        for word, answer in choices:
            pattern = _word_pattern(_as_text(word).strip())
            if pattern is not None and pattern.search(subject):
                return answer
        return None

    @jfun.signature({"types": []}, {"types": []}, {"types": []})
    def _func_if(self, condition: Any, then: Any, otherwise: Any) -> Any:
        return otherwise if is_false(condition) else then

    # Shipping lines and addresses, read by integration.couriers and integration.destinations.

    @jfun.signature({"types": []}, {"types": []}, {"types": []})
    def _func_jne_service(self, title: Any, default: Any, ctc_as: Any) -> Any:
        # "JNE - OKE" -> OKE; a neutral title -> the default; another courier's line -> null
        return _shipping(title, default, ctc_as).service

    @jfun.signature({"types": []})
    def _func_other_courier(self, title: Any) -> Any:
        # "SICEPAT - REG" -> "SiCepat"; a JNE or neutral title (or the buyer collecting) -> null
        choice = _shipping(title)
        return choice.courier if choice.skip_reason and choice.courier != "none" else None

    @jfun.signature({"types": []})
    def _func_buyer_collects(self, title: Any) -> bool:
        # "Local pickup", "Ambil di toko": nothing is shipped
        return _shipping(title).courier == "none"

    @jfun.signature({"types": []})
    def _func_in_indonesia(self, address: Any) -> Any:
        # true, false (abroad) or null (the address does not say)
        from integration.destinations.country import address_country

        return address_country(address).inside


def _joined(separator: str, parts: list[str]) -> str:
    if parts:
        check_text_size(sum(map(len, parts)) + len(separator) * (len(parts) - 1))
    return separator.join(parts)


def _shipping(title: Any, default: Any = None, ctc_as: Any = None) -> Any:
    from integration.couriers import read_shipping_line

    text = "" if title is None or isinstance(title, list | dict) else _as_text(title)
    service = _as_text(default).strip().upper() if isinstance(default, str | int) else ""
    mode = _as_text(ctc_as).strip().lower() if isinstance(ctc_as, str) else ""
    return read_shipping_line(text[:200], service or "REG", mode or "named")


@functools.lru_cache(maxsize=256)
def _word_pattern(word: str) -> re.Pattern[str] | None:
    if not word:
        return None
    return re.compile(rf"(?<![{_WORD_CHARS}]){re.escape(word)}(?![{_WORD_CHARS}])", re.IGNORECASE)


def _norm_name(value: Any) -> str:
    return " ".join(_as_text(value).split()).casefold()


def is_false(value: Any) -> bool:
    """JMESPath's notion of false: null, false, "", [], {} (0 is true)."""
    return value is None or value is False or value == "" or value == [] or value == {}


FUNCTIONS = MappingFunctions()
_OPTIONS = jmespath.Options(custom_functions=FUNCTIONS)
_INTERPRETER = jvis.TreeInterpreter(_OPTIONS)
CUSTOM_FUNCTION_NAMES = tuple(sorted(
    name for name in MappingFunctions.FUNCTION_TABLE if name not in jfun.Functions.FUNCTION_TABLE))
FUNCTION_NAMES = tuple(sorted(MappingFunctions.FUNCTION_TABLE))


@dataclass(frozen=True)
class Expression:
    """A compiled JMESPath expression; ``evaluate`` raises ExpressionError, never anything else."""

    source: str
    ast: dict[str, Any] = field(repr=False)
    run: Callable[[Any], Any] = field(repr=False)
    plain: bool = False  # a path or a fallback chain of paths: cannot fail, needs no guard
    roots: frozenset[str] = field(repr=False, default=frozenset())  # order, store, pickup... it reads
    store_paths: frozenset[tuple[str, ...]] = field(repr=False, default=frozenset())  # store.a.b it reads
    # The vars it reads by name (vars.x, vars.x.y, vars.x[0]), once per mention; ALL_VARS when it
    # reads ``vars`` as a whole (vars.*, keys(vars)). The engine works vars out only when read.
    var_reads: tuple[str, ...] = field(repr=False, default=())
    whole_var_reads: tuple[str, ...] = field(repr=False, default=())  # vars.x itself, once per mention

    def __post_init__(self) -> None:
        if self.plain:  # a path cannot fail: evaluate is the getter itself (no frame in between)
            object.__setattr__(self, "evaluate", self.run)

    def evaluate(self, scope: dict[str, Any]) -> Any:
        """The value of the expression over ``scope`` (order, store, event, pickup, vars...)."""
        try:
            return self.run(scope)
        except jexc.JMESPathError as exc:
            raise ExpressionError(_explain(exc)) from None
        except CompareError as exc:
            raise ExpressionError(str(exc)) from None
        except RecursionError:
            raise ExpressionError("the order's data is nested too deeply to read") from None
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError,
                ArithmeticError) as exc:
            # Python's own words ("'>' not supported between instances of 'str' and 'int'") mean
            # nothing to a store owner: say what to check, keep the detail for the log.
            log.info("expression %r failed: %s: %s", self.source, type(exc).__name__, exc)
            raise ExpressionError("a value in it has a type the expression cannot use (text where a "
                                  "number is needed, or a list where one value is needed); convert "
                                  "text with to_number(...) or pick one element with [0]") from None


def _explain(exc: jexc.JMESPathError) -> str:
    if isinstance(exc, jexc.JMESPathTypeError):
        text = (f"{exc.function_name}() got {exc.actual_type} {text_of(exc.current_value)[:40]!r}, "
                f"expected {' or '.join(exc.expected_types)}")
        if exc.actual_type == "string" and "number" in exc.expected_types:
            text += "; write to_number(...) around the text to use it as a number"
        return text
    return str(exc).splitlines()[0]


def compile_expression(source: Any, roots: Iterable[str] = ROOT_NAMES,
                       var_names: Iterable[str] | None = None) -> tuple[Expression | None, list[str]]:
    """Parse and check ``source``; return the expression or None plus the problems found.

    ``var_names`` are the vars it may read; a set is used as it is (no copy per expression, which
    made loading 20,000 vars quadratic).
    """
    if not isinstance(source, str) or not source.strip():
        return None, [f"an expression must be a non-empty text, got {text_of(source)[:40]!r}"]
    try:
        parsed = jmespath.compile(source)
    except jexc.JMESPathError as exc:
        return None, [f"bad expression: {_syntax_message(exc)}\n{caret(source, getattr(exc, 'lex_position', None))}"]
    ast = _hoist_not(copy.deepcopy(parsed.parsed))  # jmespath caches parsed trees: rewrite a copy
    problems: list[str] = []
    used: set[str] = set()
    paths: set[tuple[str, ...]] = set()
    reads: list[tuple[str, bool]] = []
    known = None if var_names is None else var_names if isinstance(var_names, set | frozenset) else set(var_names)
    _check(ast, True, tuple(roots), known, problems, used, paths, reads)
    if problems:
        return None, [f"{p} in {source!r}" for p in dict.fromkeys(problems)]
    var_reads = tuple(name for name, _ in reads)
    whole = tuple(name for name, is_whole in reads if is_whole)
    fast = _fast_path(ast)
    if fast is not None:
        return Expression(source, ast, fast, True, frozenset(used), frozenset(paths), var_reads, whole), []
    return Expression(source, ast, compile_tree(ast, FUNCTIONS, _INTERPRETER), False, frozenset(used),
                      frozenset(paths), var_reads, whole), []


CARET_INDENT = "    "


def caret(source: str, position: Any) -> str:
    """The line of ``source`` holding ``position`` and a caret under it, indented, for a message."""
    if not isinstance(position, int):
        return CARET_INDENT + " ".join(source.split())
    position = max(0, min(position, len(source)))
    start = source.rfind("\n", 0, position) + 1
    end = source.find("\n", position)
    line = source[start:] if end < 0 else source[start:end]
    column = position - start
    # A tab would move the caret away from the character it points at: show it as one space.
    line = line.replace("\t", " ").rstrip()
    return f"{CARET_INDENT}{line}\n{CARET_INDENT}{' ' * column}^"


_LEFT_FIRST = ("subexpression", "index_expression", "projection", "value_projection", "filter_projection",
               "flatten")


def _hoist_not(node: dict[str, Any]) -> dict[str, Any]:
    """Read ``!order.test`` as ``!(order.test)``.

    Plain JMESPath binds ``!`` tighter than ``.``, so ``!order.test`` is ``(!order).test``: a field
    of a boolean, always null. Nobody means that; every store owner means the negated path.
    """
    children = node.get("children") or []
    for index, child in enumerate(children):
        if isinstance(child, dict):
            children[index] = _hoist_not(child)
    if node.get("type") in _LEFT_FIRST and children and children[0].get("type") == "not_expression":
        inner = dict(node)
        inner["children"] = [children[0]["children"][0], *children[1:]]
        return {"type": "not_expression", "children": [inner]}
    return node


def _syntax_message(exc: jexc.JMESPathError) -> str:
    msg = str(getattr(exc, "msg", None) or str(exc)).splitlines()[0]
    token = getattr(exc, "token_value", None)
    if isinstance(exc, jexc.IncompleteExpressionError) or getattr(exc, "token_type", None) == "eof":
        what = "the expression ends too early (a value, a closing bracket or quote is missing)"
    elif msg.lower().startswith("invalid jmespath expression"):
        what = "this is not a valid expression here"
    else:
        what = msg[0].lower() + msg[1:] if msg else "not a valid expression"
    near = f" near {token!r}" if token not in (None, "") else ""
    hint = ""
    if isinstance(token, str) and token in ("'", '"') or "quote" in msg.lower():
        hint = " (texts are written in single quotes: 'orders/paid')"
    return f"{what}{near}{hint}; the caret shows where"


def _check(node: dict[str, Any], at_root: bool, roots: tuple[str, ...], var_names: set[str] | frozenset[str] | None,
           problems: list[str], used: set[str], paths: set[tuple[str, ...]], reads: list[tuple[str, bool]]) -> None:
    kind = node["type"]
    children = [c for c in node.get("children", []) if isinstance(c, dict)]  # a slice holds plain ints
    if kind == "field" and at_root and node["value"] in _BARE_LITERALS:
        # JMESPath reads a bare null/true/false as a field of that name (always null): store
        # owners mean the literal, as the DESIGN's own example `order.cancelled_at != null` does.
        literal = _BARE_LITERALS[node["value"]]
        node.clear()
        node.update({"type": "literal", "value": literal, "children": []})
        return
    if kind == "field":
        if at_root:
            used.add(node["value"])
            if node["value"] == "vars":
                reads.append((ALL_VARS, True))
        if at_root and node["value"] not in roots:
            close = difflib.get_close_matches(node["value"], roots, n=1, cutoff=0.6)
            hint = f", did you mean {close[0]!r}?" if close else ""
            problems.append(f"unknown name {node['value']!r}{hint} (expressions start with one of: "
                            f"{', '.join(roots)})")
        return
    if kind == "subexpression":
        first, rest = children[0], children[1:]
        if at_root and first["type"] == "field" and first["value"] == "store":
            paths.add(_store_path(rest))
        named = _var_named(first, rest) if at_root else None
        if named is not None:
            reads.append((named, len(rest) == 1 and rest[0]["type"] == "field"))
        _check(first, at_root, roots, var_names, problems, used, paths, reads if named is None else [])
        if (at_root and var_names is not None and first["type"] == "field" and first["value"] == "vars"
                and rest and rest[0]["type"] == "field" and rest[0]["value"] not in var_names):
            problems.append(f"unknown variable 'vars.{rest[0]['value']}' (known: {_known(var_names)})")
        for child in rest:
            _check(child, False, roots, var_names, problems, used, paths, reads)
        return
    if kind in ("index_expression", "projection", "value_projection", "filter_projection", "pipe"):
        _check(children[0], at_root, roots, var_names, problems, used, paths, reads)
        for child in children[1:]:
            _check(child, False, roots, var_names, problems, used, paths, reads)
        return
    if kind == "expref":
        for child in children:
            _check(child, False, roots, var_names, problems, used, paths, reads)
        return
    if kind == "function_expression":
        name = node["value"]
        spec = MappingFunctions.FUNCTION_TABLE.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, FUNCTION_NAMES, n=1, cutoff=0.6)
            hint = f", did you mean {close[0]}()?" if close else ""
            problems.append(f"unknown function {name}(){hint} (known: {', '.join(FUNCTION_NAMES)})")
        else:
            signature = spec["signature"]
            variadic = bool(signature) and signature[-1].get("variadic")
            if (variadic and len(children) < len(signature)) or (not variadic and len(children) != len(signature)):
                want = f"at least {len(signature)}" if variadic else str(len(signature))
                problems.append(f"{name}() takes {want} argument(s), got {len(children)}")
    # flatten, comparators, and/or/not, multiselects, key_val_pair, function arguments: same context
    for child in children:
        _check(child, at_root, roots, var_names, problems, used, paths, reads)


def _var_named(first: dict[str, Any], rest: list[dict[str, Any]]) -> str | None:
    """The var that ``vars.x...`` names (first is the root field, rest what follows), or None."""
    if first["type"] != "field" or first["value"] != "vars" or not rest:
        return None
    head = rest[0]
    if head["type"] == "index_expression" and head["children"]:
        head = head["children"][0]
    return head["value"] if head["type"] == "field" else None


def _known(var_names: set[str] | frozenset[str]) -> str:
    """The known vars for a message: all of a usual mapping's, a count beyond that."""
    if not var_names:
        return "none defined"
    names = sorted(var_names)
    return ", ".join(names) if len(names) <= 40 else f"{', '.join(names[:40])} and {len(names) - 40} more"


def _store_path(rest: list[dict[str, Any]]) -> tuple[str, ...]:
    """The keys of ``store.a.b[0]...`` after ``store``, up to the first step that is not a plain key."""
    keys: list[str] = []
    for child in rest:
        if child["type"] == "field":
            keys.append(child["value"])
            continue
        if child["type"] == "index_expression" and child["children"] and child["children"][0]["type"] == "field":
            keys.append(child["children"][0]["value"])
        break
    return tuple(keys)


def _fast_path(ast: dict[str, Any]) -> Callable[[Any], Any] | None:
    """A plain-Python evaluator for ``a.b.c`` and ``a.b || c.d || 'x'``; None for anything else."""
    chain = _path_of(ast)
    if chain is not None:
        return _path_getter(chain)
    if ast["type"] == "or_expression":
        options: list[Callable[[Any], Any]] = []
        stack = [ast]
        flat: list[dict[str, Any]] = []
        while stack:  # a || b || c parses left-nested; flatten in order
            node = stack.pop()
            if node["type"] == "or_expression":
                stack.extend(reversed(node["children"]))
            else:
                flat.append(node)
        for node in flat:
            chain = _path_of(node)
            if chain is not None:
                options.append(_path_getter(chain))
            elif node["type"] == "literal":
                options.append(_constant(node["value"]))
            else:
                return None

        def first_true(scope: Any) -> Any:
            got = None
            for option in options:
                got = option(scope)
                if not is_false(got):
                    return got
            return got

        return first_true
    return None


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda scope: value


def _path_of(node: dict[str, Any]) -> tuple[str, ...] | None:
    if node["type"] == "field":
        return (node["value"],)
    if node["type"] == "subexpression" and all(c["type"] == "field" for c in node["children"]):
        return tuple(c["value"] for c in node["children"])
    return None


def _path_getter(chain: tuple[str, ...]) -> Callable[[Any], Any]:
    if len(chain) >= 2 and chain[0] == "vars":  # a var, worked out on first read
        return var_reader(chain[1], keys=chain[2:])

    def get(scope: Any) -> Any:
        value = scope
        for key in chain:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return get
