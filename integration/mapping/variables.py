"""An order's vars, each worked out the first time something reads it, then remembered for the order.

A var nobody reads on this order costs nothing (a runaway var that is never used cannot hurt), and
the semantics stay those of working them out top to bottom: a var reads only vars written above
it, and when one is read, the vars it reads (and theirs) are worked out first, in file order, one
after the other. That keeps a chain of 20,000 vars a loop instead of 20,000 nested calls.

A var that went over a bound (see language/budget.py) gets its own problem, filed once; every
expression that reads it afterwards stops with :class:`ReadsOverBudget`, so a field built from it
is not booked with a silently blank value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integration.mapping.language.budget import USES_OVER_BUDGET, OverBudget, check_time
from integration.problems import Origin

_OVER: Any = type("OverBudgetVar", (), {"__repr__": lambda self: "OVER"})()


class ReadsOverBudget(OverBudget):
    """An expression read a var that went over a bound (that var's own problem says which)."""

    def __init__(self, name: str):
        super().__init__(USES_OVER_BUDGET, var=f"vars.{name}")


# compute(index) -> the var's value (None when it failed: its problem is filed by compute);
# fail(key, code, params, origin) files a problem
Compute = Callable[[int], Any]
Fail = Callable[[str, str, dict[str, Any], Origin | None], None]


class LazyVars(dict):
    """``vars`` of one order: ``get`` works a var out on first read (expressions read vars through ``get``)."""

    def __init__(self, names: tuple[str, ...], index: dict[str, int], reads: tuple[tuple[int, ...], ...],
                 origins: tuple[Origin, ...], compute: Compute, fail: Fail):
        super().__init__()
        self._names = names
        self._index = index
        self._reads = reads
        self._origins = origins
        self._compute = compute
        self._fail = fail
        self._busy: set[int] = set()

    def get(self, name: Any, default: Any = None) -> Any:  # noqa: D102 - dict's, worked out on first read
        if not dict.__contains__(self, name):
            index = self._index.get(name) if isinstance(name, str) else None
            if index is None:
                return default
            self._work_out(index)
        value = dict.__getitem__(self, name)
        if value is _OVER:
            raise ReadsOverBudget(name)
        return value

    def work_out_all(self) -> dict[str, Any]:
        """Every var, top to bottom, as a plain dict (for a mapping that reads ``vars`` as a whole)."""
        for index in range(len(self._names)):
            if not dict.__contains__(self, self._names[index]):
                self._work_out(index)
        return {name: None if value is _OVER else value for name, value in dict.items(self)}

    def _work_out(self, wanted: int) -> None:
        """Work out ``wanted`` and the not yet known vars it reads (through others too), in file order."""
        needed: set[int] = set()
        stack = [wanted]
        while stack:
            index = stack.pop()
            if index in needed or index in self._busy or dict.__contains__(self, self._names[index]):
                continue
            needed.add(index)
            stack.extend(self._reads[index])
        for index in sorted(needed):
            self._one(index)

    def _one(self, index: int) -> None:
        name = self._names[index]
        self._busy.add(index)  # a var cannot read itself (the loader refuses it); never loop if one did
        try:
            check_time()
            value = self._compute(index)
        except ReadsOverBudget:
            value = _OVER  # the var it read has the problem; this one just cannot be worked out
        except OverBudget as exc:
            self._fail(f"vars.{name}", exc.code, exc.params, self._origins[index])
            value = _OVER
        finally:
            self._busy.discard(index)
        dict.__setitem__(self, name, value)
