"""An order's vars, each worked out the first time something reads it, then remembered for the order.

A var nobody reads on this order costs nothing (a runaway var that is never used cannot hurt), and
the semantics stay those of working them out top to bottom: a var reads only vars written above
it, and when one is read, the vars it reads (and theirs) are worked out first, in file order, one
after the other. That keeps a chain of 20,000 vars a loop instead of 20,000 nested calls.

A var that went over a bound (see language/budget.py) gets its own problem, filed once; every
expression that reads it afterwards stops with ``ReadsOverBudget``, so a field built from it is not
booked with a silently blank value. Compiled expressions read a var as ``variables[name]``
(``var_reader`` in language/compiled.py): a plain dict lookup once it is known, ``__missing__`` the
first time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from integration.mapping.language.budget import OVER, OverBudget, ReadsOverBudget, check_time
from integration.mapping.language.expressions import EXPRESSION_FAILED, ExpressionError
from integration.mapping.language.transforms import Reject
from integration.problems import Origin

Fail = Callable[[str, str, dict[str, Any], Origin | None], None]


class VarRule(Protocol):
    """What a var is to this module (engine.ValueRule): a name, where it was written, how to compute it."""

    name: str
    origin: Origin

    def compute(self, scope: dict[str, Any]) -> Any:
        """The raw value; raises ExpressionError, Reject or OverBudget."""


class LazyVars(dict):
    """``vars`` of one order: a var is worked out the first time it is read, then a plain dict entry."""

    __slots__ = ("_rules", "_index", "_reads", "_scope", "_fail", "_off")

    def __init__(self, rules: tuple[VarRule, ...], index: dict[str, int], reads: tuple[tuple[int, ...], ...],
                 scope: dict[str, Any], fail: Fail, off: Any):
        super().__init__()
        self._rules = rules
        self._index = index
        self._reads = reads
        self._scope = scope
        self._fail = fail
        self._off = off  # what a var whose ``when`` is false computes to (engine.OFF): no value

    def __missing__(self, name: Any) -> Any:
        # ``variables[name]`` of a var not worked out yet: compiled expressions read vars this
        # way (``vars.x`` costs a plain dict lookup once it is known). Only __missing__ is
        # overridden, so reads, ``in`` and stores stay the dict's own (C) operations.
        index = self._index.get(name)
        if index is None:
            raise KeyError(name)
        rules = self._rules
        for read in self._reads[index]:
            if rules[read].name not in self:  # a var it reads is not known yet: all of those first
                self._work_out(index)
                return self[name]
        return self._one(index)  # the usual var: it reads the order, or vars already known

    def get(self, name: Any, default: Any = None) -> Any:  # noqa: D102 - dict's, worked out on first read
        try:
            value = self[name]
        except KeyError:
            return default
        if value is OVER:
            raise ReadsOverBudget(name)
        return value

    def work_out_all(self) -> dict[str, Any]:
        """Every var, top to bottom, as a plain dict (for a mapping that reads ``vars`` as a whole)."""
        for rule in self._rules:
            self[rule.name]  # noqa: B018 - worked out on the read
        return {name: None if value is OVER else value for name, value in dict.items(self)}

    def _work_out(self, wanted: int) -> None:
        """Work out ``wanted`` and the not yet known vars it reads (through others too), in file order."""
        # A var reads only vars written above it (the loader refuses anything else): no cycles.
        needed: set[int] = set()
        stack = [wanted]
        while stack:
            index = stack.pop()
            if index not in needed and self._rules[index].name not in self:
                needed.add(index)
                stack.extend(self._reads[index])
        for index in sorted(needed):
            self._one(index)

    def _one(self, index: int) -> Any:
        """Work out one var (the vars it reads are known) and remember it; its problems are filed."""
        rule = self._rules[index]
        try:
            if not index & 7:  # each var's value is bounded: the clock every few vars will do
                check_time()
            value = rule.compute(self._scope)
            if value is self._off:
                value = None
        except ExpressionError as exc:
            self._fail(f"vars.{rule.name}", EXPRESSION_FAILED, {"error": str(exc)}, rule.origin)
            value = None
        except Reject as exc:
            self._fail(f"vars.{rule.name}", exc.code, exc.params, rule.origin)
            value = None
        except ReadsOverBudget:
            value = OVER  # the var it read has the problem; this one just cannot be worked out
        except OverBudget as exc:
            self._fail(f"vars.{rule.name}", exc.code, exc.params, rule.origin)
            value = OVER
        self[rule.name] = value
        return value
