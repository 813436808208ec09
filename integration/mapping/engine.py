"""A loaded mapping and what it does with one order: ``Mapping.apply`` -> ``MappingResult``.

``apply`` never raises, whatever JSON arrives: every problem becomes a
:class:`~integration.problems.Problem` in ``problems``, filed under the JNE field (or the rule) and
naming the rule to fix with its file and line. Order of work: the rules that provide a scope root
(the pickup slot), trigger, fields in file order, then the other rules of ``rules.registry.RULES``
(address, COD, Batam); a var is worked out when one of them first reads it (variables.py). A field
with a problem is left out of ``fields``; ``fields`` holds only fields that have a value. Each
order runs under a budget (language/budget.py): a value or the order over a bound is a problem
under the rule that was working.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from integration.jne.fields import BATAM_FIELDS, BY_NAME, FIELD_NAMES, is_batam
from integration.mapping.language.budget import OrderAbandoned, OverBudget, check_time, order_budget
from integration.mapping.language.expressions import (
    ALL_VARS,
    EXPRESSION_FAILED,
    Expression,
    ExpressionError,
    is_false,
)
from integration.mapping.language.transforms import Reject, Step, run_memoized, run_pipeline
from integration.mapping.language.values import is_blank, shown, text_of
from integration.mapping.rules.base import ConfiguredRule
from integration.mapping.rules.trigger import Decision, Trigger, decide
from integration.mapping.variables import LazyVars
from integration.privacy.logs import exc_info_for_log
from integration.problems import DEFAULT_LANGUAGE, Origin, Problem, define, messages, render

log = logging.getLogger(__name__)
_STORE_ONLY = frozenset({"store"})

# No Python text in the words: the class and message are in the log, with the traceback.
INTERNAL_ERROR = define("mapping.internal_error",
                        en="the mapping {file} stopped on this order with an internal error (the service's "
                           "log has the details); replay it after an update, and report it if it repeats",
                        id="mapping {file} berhenti pada pesanan ini karena kesalahan internal (detailnya "
                           "ada di log layanan); replay setelah pembaruan, dan laporkan bila terulang")
GOT_LIST = define("value.list_not_one", en="got a list {value}, expected one value (pick an element or join them)",
                  id="berisi sebuah daftar {value}, padahal yang diharapkan satu nilai (pilih satu elemen "
                     "atau gabungkan)")
GOT_OBJECT = define("value.object_not_one",
                    en="got an object {value}, expected one value (pick an element or join them)",
                    id="berisi sebuah objek {value}, padahal yang diharapkan satu nilai (pilih satu elemen "
                       "atau gabungkan)")
BLANK_EXPRESSION = define("value.blank", en="no value: {expression} is blank",
                          id="tidak ada nilai: {expression} kosong")
BLANK_CONSTANT = define("value.blank_constant", en="no value: the constant is blank",
                        id="tidak ada nilai: konstantanya kosong")


@dataclass
class MappingResult:
    """What a mapping made of one order: book or skip (why), the JNE fields, the problems."""

    book: bool
    skip_reason: str | None          # the reason in English, as the ledger keeps it
    fields: dict[str, str]
    problems: list[Problem]
    skip: Problem | None = None      # the reason as a problem (``render(skip, language)``)
    mapping_version: str = ""        # which files made it (a short hash; the worker records it)

    @property
    def errors(self) -> dict[str, list[str]]:
        """The problems in English, as the contract's ``{FIELD or rule: [message, ...]}``."""
        return messages(self.problems)

    def messages(self, language: str = DEFAULT_LANGUAGE) -> dict[str, list[str]]:
        """The problems in ``language`` (en or id), as ``{FIELD or rule: [message, ...]}``."""
        return messages(self.problems, language)


@dataclass(frozen=True)
class ValueRule:
    """One field or variable: an expression or a constant, a condition, a pipeline, a default."""

    name: str
    origin: Origin
    value: Expression | None
    const: Any
    when: Expression | None
    steps: tuple[Step, ...]
    default: str | None
    memo: dict[tuple[Any, ...], tuple[bool, Any]] = field(default_factory=dict, init=False, compare=False,
                                                         repr=False)
    reads_only_store: bool = field(init=False, default=False, compare=False)

    def __post_init__(self) -> None:
        # True when the result depends on ``store.*`` alone (or on nothing: a constant)
        object.__setattr__(self, "reads_only_store",
                           all(e is None or e.roots <= _STORE_ONLY for e in (self.value, self.when)))

    def compute(self, scope: dict[str, Any]) -> Any:
        """The raw result (``OFF`` when ``when`` is false); raises ExpressionError or Reject."""
        if self.when is not None and is_false(self.when.evaluate(scope)):
            return OFF
        value = self.const if self.value is None else self.value.evaluate(scope)
        if self.steps:
            # Store facts repeat on every order: remember their transformed form. Order data is
            # not memoized, so what an order costs does not depend on having seen it before.
            if self.reads_only_store:
                value = run_memoized(value, self.steps, self.memo)
            else:
                value = run_pipeline(value, self.steps)
        if self.default is not None and is_blank(value):
            value = self.default
        return value


Fail = Callable[[str, str, dict[str, Any], Origin | None], None]
# What a rule whose ``when`` is false gives: no value and, unlike a blank value, no problem either.
OFF: Any = type("Off", (), {"__repr__": lambda self: "OFF", "__bool__": lambda self: False})()


@dataclass(frozen=True)
class Mapping:
    """A loaded, checked mapping file; apply it to orders."""

    path: Path
    platform: str | None
    vars: tuple[ValueRule, ...]
    fields: tuple[ValueRule, ...]
    trigger: Trigger
    rules: tuple[ConfiguredRule, ...] = ()   # in registry order
    tables: dict[str, Any] = field(default_factory=dict, repr=False)
    version: str = field(default="", compare=False)  # short hash of the files it was loaded from
    # True when an expression reads ``vars`` as a whole (vars.*, keys(vars)): then every var is
    # worked out for every order, as a plain dict; otherwise each only when read (variables.py)
    eager_vars: bool = field(default=False, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)  # ``check`` prints them; loading succeeds
    # id(store) -> (snapshot of the store, its fields, their problems): see _store_fields
    _store_cache: dict[int, tuple[dict[str, Any], dict[str, str], list[Problem]]] = field(
        default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_store_rules", tuple(rule for rule in self.fields if rule.reads_only_store))
        set_(self, "_order_rules", tuple(r for r in self.fields if not r.reads_only_store))
        set_(self, "_scope_rules", tuple((r, r.provides) for r in self.rules if r.provides))
        set_(self, "_field_rules", tuple(r for r in self.rules if not r.provides))
        covers: dict[str, frozenset[str]] = {}
        for rule in self.rules:
            for key, names in rule.covers.items():
                covers[key] = covers.get(key, frozenset()) | frozenset(names)
        set_(self, "_covers", covers)
        names = tuple(rule.name for rule in self.vars)
        index = {name: i for i, name in enumerate(names)}
        reads = tuple(tuple(sorted({index[n] for e in (r.value, r.when) if e is not None for n in e.var_reads
                                    if n in index and index[n] < i}))
                      for i, r in enumerate(self.vars))
        set_(self, "_var_plan", (index, reads))
        set_(self, "_eager", self.eager_vars or any(
            ALL_VARS in e.var_reads for r in (*self.vars, *self.fields) for e in (r.value, r.when) if e is not None))

    def rule(self, name: str) -> ConfiguredRule | None:
        """The configured rule of that name (``address``, ``cod``...), or None."""
        return next((r for r in self.rules if r.name == name), None)

    def covered(self, problems: Iterable[Problem]) -> set[str]:
        """The JNE fields these problems are about: each key, and what a rule-level key stands for.

        ``RECEIVER_ADDR`` of the address rule covers exactly the lines that rule fills; every other
        key covers itself only (``PICKUP_PIC`` does not cover ``PICKUP_PIC_PHONE``).
        """
        covers: AbcMapping[str, frozenset[str]] = self._covers  # type: ignore[attr-defined]
        found: set[str] = set()
        for problem in problems:
            found.add(problem.key)
            found.update(covers.get(problem.key, ()))
        return found

    def apply(self, order: Any, store: Any, event: Any, now: datetime) -> MappingResult:
        """Map one order; never raises (every problem is an entry in ``problems``)."""
        try:
            with order_budget():
                result = self._apply(order, store, event, now)
            result.mapping_version = self.version
            return result
        except Exception as exc:  # the last line of defence: a bug must not kill the worker
            log.error("mapping %s failed on an order", self.path, exc_info=exc_info_for_log(exc))
            # Not "skipped": an order nobody looked at must not vanish among skipped ones. The
            # problem keeps it from being booked and in front of a person.
            return MappingResult(True, None, {}, [Problem("mapping", INTERNAL_ERROR, {
                "error": type(exc).__name__, "file": self.path.name})], mapping_version=self.version)

    def _apply(self, order: Any, store: Any, event: Any, now: datetime) -> MappingResult:
        problems: list[Problem] = []
        try:
            return self._map(order, store, event, now, problems)
        except OrderAbandoned:
            # Over the order's time or size: the rule that found it filed the problem; the rest
            # of the rules are not run (each would only say the same), nothing is booked.
            return MappingResult(True, None, {}, problems)

    def _map(self, order: Any, store: Any, event: Any, now: datetime, problems: list[Problem]) -> MappingResult:
        fail = _reporter(problems)
        store = store if isinstance(store, dict) else {}
        event = event if isinstance(event, dict) else {}
        scope: dict[str, Any] = {"order": order, "store": store, "event": event, "pickup": {}, "vars": {}}
        values: dict[str, str] = {}
        for rule, root in self._scope_rules:  # type: ignore[attr-defined]
            produced, found = _apply_rule(rule, scope, values, now)
            scope[root] = produced
            problems += found

        variables = LazyVars(self.vars, *self._var_plan, scope, fail, OFF)  # type: ignore[attr-defined]
        scope["vars"] = variables  # the vars being worked out read the ones above them through it
        if self._eager:  # type: ignore[attr-defined]
            scope["vars"] = variables.work_out_all()

        decision = decide(self.trigger, scope)
        problems += decision.problems

        store_values, store_problems = self._store_fields(store, scope)
        values.update(store_values)
        problems += store_problems
        self._fields(self._order_rules, scope, values, fail)  # type: ignore[attr-defined]

        for rule in self._field_rules:  # type: ignore[attr-defined]
            produced, found = _apply_rule(rule, scope, values, now)
            values.update(produced)
            problems += found
        if not is_batam(values):
            for name in BATAM_FIELDS:  # JNE rule: outside Batam the customs fields are not sent
                values.pop(name, None)
            if problems:
                problems = [p for p in problems if p.key not in BATAM_FIELDS]
        return self._result(decision, values, problems)

    def _fields(self, rules: tuple[ValueRule, ...], scope: dict[str, Any], values: dict[str, str],
                fail: Fail) -> None:
        for index, rule in enumerate(rules):  # the hot loop: about thirty rules per order
            try:
                if not index & 7:  # each rule's values are bounded: the clock every 8 rules will do
                    check_time()
                raw = rule.compute(scope)
            except ExpressionError as exc:
                fail(rule.name, EXPRESSION_FAILED, {"error": str(exc)}, rule.origin)
                continue
            except (Reject, OverBudget) as exc:
                fail(rule.name, exc.code, exc.params, rule.origin)
                continue
            if type(raw) is str and (text := raw.strip()):
                values[rule.name] = text
            elif raw is not OFF and (text := self._as_field(rule, raw, fail)) is not None:
                values[rule.name] = text

    def _store_fields(self, store: dict[str, Any], scope: dict[str, Any]) -> tuple[dict[str, str], list[Problem]]:
        """The fields that read nothing but the store's facts, worked out once per store.

        Half the rules (pickup, shipper, account, return) depend on the store block alone, which is
        the same for every order of the store. The cache is keyed by the store object and checked
        against a snapshot of its content, so a changed store dict is never served stale answers.
        """
        key = id(store)
        entry = self._store_cache.get(key)
        if entry is not None and entry[0] == store:
            return entry[1], entry[2]
        values: dict[str, str] = {}
        problems: list[Problem] = []
        self._fields(self._store_rules, scope, values, _reporter(problems))  # type: ignore[attr-defined]
        try:
            snapshot = copy.deepcopy(store)
        except (RecursionError, TypeError, copy.Error):
            return values, problems
        if len(self._store_cache) >= 32:
            self._store_cache.clear()
        self._store_cache[key] = (snapshot, values, problems)
        return values, problems

    @staticmethod
    def _result(decision: Decision, values: dict[str, str], problems: list[Problem]) -> MappingResult:
        if problems:
            wrong = {p.key for p in problems}
            ordered = {name: values[name] for name in FIELD_NAMES if name in values and name not in wrong}
        else:
            ordered = {name: values[name] for name in FIELD_NAMES if name in values}
        reason = decision.reason
        return MappingResult(decision.book, None if reason is None else render(reason), ordered, problems, reason)

    @staticmethod
    def _as_field(rule: ValueRule, raw: Any, fail: Fail) -> str | None:
        if isinstance(raw, list | dict):
            fail(rule.name, GOT_LIST if isinstance(raw, list) else GOT_OBJECT, {"value": shown(raw)}, rule.origin)
            return None
        text = text_of(raw).strip()
        if text:
            return text
        spec = BY_NAME.get(rule.name)
        if spec is not None and spec.required:  # a false ``when`` never gets here (OFF)
            if rule.value is not None:
                fail(rule.name, BLANK_EXPRESSION, {"expression": rule.value.source}, rule.origin)
            else:
                fail(rule.name, BLANK_CONSTANT, {}, rule.origin)
        return None


def _apply_rule(rule: ConfiguredRule, scope: dict[str, Any], values: dict[str, str], now: datetime) -> Any:
    """``rule.apply``, with a value or the order over a bound filed under the rule's key."""
    try:
        check_time()
        return rule.apply(scope, values, now)
    except OverBudget as exc:
        key = next(iter(rule.covers), None) or (rule.outputs[0] if rule.outputs else rule.name)
        return {}, [exc.problem(key, rule.origin)]


def _reporter(problems: list[Problem]) -> Fail:
    """A function that files a problem under a field or rule name."""
    def fail(key: str, code: str, params: dict[str, Any], origin: Origin | None) -> None:
        problems.append(Problem(key, code, params, origin))

    return fail
