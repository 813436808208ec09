"""A loaded mapping and what it does with one order: ``Mapping.apply`` -> ``MappingResult``.

``apply`` never raises, whatever JSON arrives: every problem becomes a store-owner message in
``errors``, keyed by the JNE field (or the rule) and naming the rule to fix with its file and line.
Order of work: pickup slot, vars, trigger, fields in file order, then the multi-field rules
(address, COD, Batam). A field with an error is left out of ``fields``; ``fields`` holds only
fields that have a value.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from integration.jne.fields import BATAM_FIELDS, BY_NAME, FIELD_NAMES, is_batam
from integration.mapping.files.source import Origin
from integration.mapping.language.expressions import Expression, ExpressionError, is_false
from integration.mapping.language.transforms import Reject, Step, run_memoized, run_pipeline
from integration.mapping.language.values import is_blank, shown, text_of
from integration.mapping.rules import batam as batam_rule
from integration.mapping.rules import cod as cod_rule
from integration.mapping.rules.address import AddressTooLong, spread
from integration.mapping.rules.pickup import SlotError, pickup_slot
from integration.mapping.rules.trigger import Decision, Trigger, decide

log = logging.getLogger(__name__)
_STORE_ONLY = frozenset({"store"})


@dataclass
class MappingResult:
    """What a mapping made of one order: book or skip (why), the JNE fields, the problems."""

    book: bool
    skip_reason: str | None
    fields: dict[str, str]
    errors: dict[str, list[str]]


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
        """The raw result (None when ``when`` is false); raises ExpressionError or Reject."""
        if self.when is not None and is_false(self.when.evaluate(scope)):
            return None
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


@dataclass(frozen=True)
class AddressRule:
    """The address rule: parts (expressions) spread over ``into`` lines of ``max_bytes``."""

    origin: Origin
    parts: tuple[Expression, ...]
    into: tuple[str, ...]
    max_bytes: int
    steps: tuple[Step, ...]
    filler: str = "-"


@dataclass(frozen=True)
class PickupRule:
    """Where the pickup block comes from (``store.pickup`` unless the mapping says otherwise)."""

    origin: Origin
    source: Expression


@dataclass(frozen=True)
class Mapping:
    """A loaded, checked mapping file; apply it to orders."""

    path: Path
    platform: str | None
    vars: tuple[ValueRule, ...]
    fields: tuple[ValueRule, ...]
    trigger: Trigger
    pickup: PickupRule | None = None
    address: AddressRule | None = None
    cod: cod_rule.CodRule | None = None
    batam: batam_rule.BatamRule | None = None
    tables: dict[str, Any] = field(default_factory=dict, repr=False)
    uses_pickup: bool = True
    # id(store) -> (snapshot of the store, its fields, their errors): see _store_fields
    _store_cache: dict[int, tuple[dict[str, Any], dict[str, str], dict[str, list[str]]]] = field(
        default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        store_only = tuple(rule for rule in self.fields if rule.reads_only_store)
        object.__setattr__(self, "_store_rules", store_only)
        object.__setattr__(self, "_order_rules", tuple(r for r in self.fields if not r.reads_only_store))

    def apply(self, order: Any, store: Any, event: Any, now: datetime) -> MappingResult:
        """Map one order; never raises (every problem is an entry in ``errors``)."""
        try:
            return self._apply(order, store, event, now)
        except Exception as exc:  # the last line of defence: a bug must not kill the worker
            log.exception("mapping %s failed on an order", self.path)
            # Not "skipped": an order nobody looked at must not vanish among skipped ones. The
            # error keeps it from being booked and in front of a person.
            return MappingResult(True, None, {},
                                 {"mapping": [f"mapping: internal error {type(exc).__name__}: "
                                              f"{text_of(str(exc))[:200]} ({self.path.name})"]})

    def _apply(self, order: Any, store: Any, event: Any, now: datetime) -> MappingResult:
        errors: dict[str, list[str]] = {}
        fail = _reporter(errors)
        store = store if isinstance(store, dict) else {}
        event = event if isinstance(event, dict) else {}
        scope: dict[str, Any] = {"order": order, "store": store, "event": event, "pickup": {}, "vars": {}}
        if self.uses_pickup:
            self._slot(scope, now, fail)

        variables: dict[str, Any] = {}
        scope["vars"] = variables
        for rule in self.vars:
            variables[rule.name] = self._run(rule, scope, f"vars.{rule.name}", fail)

        decision = decide(self.trigger, scope)
        if decision.problems:
            errors.setdefault("trigger", []).extend(decision.problems)

        store_values, store_errors = self._store_fields(store, scope)
        values = dict(store_values)
        for key, messages in store_errors.items():
            errors.setdefault(key, []).extend(messages)
        self._fields(self._order_rules, scope, values, fail)

        if self.address is not None:
            self._address(scope, values, fail)
        if self.cod is not None:
            self._cod(scope, values, errors, fail)
        if self.batam is not None:
            self._batam(scope, values, errors, fail)
        if not is_batam(values):
            for name in BATAM_FIELDS:  # JNE rule: outside Batam the customs fields are not sent
                values.pop(name, None)
                errors.pop(name, None)
        return self._result(decision, values, errors)

    def _fields(self, rules: tuple[ValueRule, ...], scope: dict[str, Any], values: dict[str, str],
                fail: Any) -> None:
        for rule in rules:  # the hot loop: about thirty rules per order
            try:
                raw = rule.compute(scope)
            except ExpressionError as exc:
                fail(rule.name, f"the expression failed on this order: {exc}", rule.origin)
                continue
            except Reject as exc:
                fail(rule.name, str(exc), rule.origin)
                continue
            if type(raw) is str and (text := raw.strip()):
                values[rule.name] = text
            elif (text := self._as_field(rule, raw, fail)) is not None:
                values[rule.name] = text

    def _store_fields(self, store: dict[str, Any], scope: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
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
        errors: dict[str, list[str]] = {}
        self._fields(self._store_rules, scope, values, _reporter(errors))
        try:
            snapshot = copy.deepcopy(store)
        except (RecursionError, TypeError, copy.Error):
            return values, errors
        if len(self._store_cache) >= 32:
            self._store_cache.clear()
        self._store_cache[key] = (snapshot, values, errors)
        return values, errors

    @staticmethod
    def _result(decision: Decision, values: dict[str, str], errors: dict[str, list[str]]) -> MappingResult:
        ordered = {name: values[name] for name in FIELD_NAMES if name in values and name not in errors}
        return MappingResult(decision.book, decision.reason, ordered, errors)

    def _slot(self, scope: dict[str, Any], now: datetime, fail: Any) -> None:
        source = self.pickup.source if self.pickup is not None else None
        origin = self.pickup.origin if self.pickup is not None else None
        try:
            block = source.evaluate(scope) if source is not None else scope["store"].get("pickup")
            if not isinstance(now, datetime):
                raise SlotError("no current time given")
            scope["pickup"] = pickup_slot(block, now).as_scope()
        except (SlotError, ExpressionError) as exc:
            fail("pickup", str(exc), origin)

    @staticmethod
    def _run(rule: ValueRule, scope: dict[str, Any], key: str, fail: Any) -> Any:
        try:
            return rule.compute(scope)
        except ExpressionError as exc:
            fail(key, f"the expression failed on this order: {exc}", rule.origin)
        except Reject as exc:
            fail(key, str(exc), rule.origin)
        return None

    @staticmethod
    def _as_field(rule: ValueRule, raw: Any, fail: Any) -> str | None:
        if isinstance(raw, list | dict):
            fail(rule.name, f"got {'a list' if isinstance(raw, list) else 'an object'} {shown(raw)}, "
                            "expected one value (pick an element or join them)", rule.origin)
            return None
        text = text_of(raw).strip()
        if text:
            return text
        spec = BY_NAME.get(rule.name)
        if spec is not None and spec.required and rule.when is None:
            where = f"{rule.value.source} is blank" if rule.value is not None else "the constant is blank"
            fail(rule.name, f"no value: {where}", rule.origin)
        return None

    def _address(self, scope: dict[str, Any], values: dict[str, str], fail: Any) -> None:
        rule = self.address
        assert rule is not None
        first = _error_key(rule.into)
        parts: list[str] = []
        for expression in rule.parts:
            try:
                raw = expression.evaluate(scope)
                items = raw if isinstance(raw, list) else [raw]
                for item in items:
                    if isinstance(item, list | dict):
                        fail(first, f"address part {expression.source} is not text: {shown(item)}", rule.origin)
                        return
                    text = run_pipeline(item, rule.steps) if rule.steps else item
                    if not is_blank(text):
                        parts.append(text_of(text))
            except ExpressionError as exc:
                fail(first, f"the expression {expression.source} failed on this order: {exc}", rule.origin)
                return
            except Reject as exc:
                fail(first, str(exc), rule.origin)
                return
        if not parts:
            fail(first, "no address: " + ", ".join(e.source for e in rule.parts) + " are all blank", rule.origin)
            return
        try:
            lines = spread(parts, len(rule.into), rule.max_bytes)
        except AddressTooLong as exc:
            fail(first, str(exc), rule.origin)
            return
        for index, name in enumerate(rule.into):
            if index < len(lines):
                values[name] = lines[index]
            elif BY_NAME[name].required:
                values[name] = rule.filler  # JNE refuses a blank mandatory line; "-" is the honest filler

    def _cod(self, scope: dict[str, Any], values: dict[str, str], errors: dict[str, list[str]], fail: Any) -> None:
        rule = self.cod
        assert rule is not None
        try:
            produced, problems = cod_rule.collect(rule, scope)
        except ExpressionError as exc:
            fail("COD_FLAG", f"the expression failed on this order: {exc}", rule.origin)
            return
        values.update(produced)
        for key, messages in problems.items():
            for message in messages:
                fail(key, message, rule.origin)

    def _batam(self, scope: dict[str, Any], values: dict[str, str], errors: dict[str, list[str]], fail: Any) -> None:
        rule = self.batam
        assert rule is not None
        try:
            if not batam_rule.applies(rule, scope, values):
                return
        except ExpressionError as exc:
            fail("HS_CODE", f"the batam 'when' expression failed on this order: {exc}", rule.origin)
            return
        produced, problems = batam_rule.declare(rule, scope)
        values.update(produced)
        for key, messages in problems.items():
            for message in messages:
                fail(key, message, rule.origin)


def _reporter(errors: dict[str, list[str]]) -> Callable[[str, str, Origin | None], None]:
    """A function that files a store-owner message under a field or rule name."""
    def fail(key: str, message: str, origin: Origin | None) -> None:
        suffix = f" ({origin})" if origin is not None else ""
        errors.setdefault(key, []).append(f"{key}: {message}{suffix}")

    return fail


def _error_key(into: tuple[str, ...]) -> str:
    """Where address problems are reported: RECEIVER_ADDR for RECEIVER_ADDR1..3 (no single line is wrong)."""
    stems = {name.rstrip("0123456789") for name in into}
    return stems.pop() if len(stems) == 1 else into[0]
