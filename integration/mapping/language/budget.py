"""What one order may cost a mapping: bounded values, a size meter and a clock (issue 14).

A mapping file is data a store owner writes, and a careless or hostile one can make values grow
without end (a var read twice by the next one doubles it: 26 such vars make 2**26 characters).
Every value an expression *makes* (a function's result, a multi-select, a projection that builds
new items) is checked as it is made, before anything bigger is built from it:

- a text holds at most ``MAX_TEXT`` characters, a list at most ``MAX_ITEMS`` items;
- a value as a whole (its texts' characters plus its items, counted through nested lists and
  objects) at most ``MAX_VALUE`` "units";
- one order makes at most ``MAX_ORDER_UNITS`` units in all, and is worked on for at most
  ``MAX_ORDER_SECONDS`` (checked between rules and in the address rule's loops).

The bounds are far above any real order: JNE's longest field takes 200 bytes, a Shopify order
holds at most a few hundred line items, and a webhook body is capped at 2 MB by default. Going
over one raises :class:`OverBudget`, which the engine files as a problem under the rule that was
working (``vars.NAME``, the JNE field or the rule), with its file and line: the order needs
attention and the worker goes on with the next one.
"""

from __future__ import annotations

import contextvars
import time
from typing import Any

from integration.mapping.language.values import Refusal
from integration.problems import define

MAX_TEXT = 64 * 1024             # characters of one text
MAX_ITEMS = 10_000               # items of one list
MAX_VALUE = 4 * 1024 * 1024      # characters + items of one value, nested parts included
MAX_ORDER_UNITS = 16 * 1024 * 1024   # characters + items made while mapping one order
# Wall-clock seconds: reading the thread's CPU clock costs ~2.6 µs here (a system call), the
# monotonic clock ~0.2 µs, and the check runs between every two rules. A normal order takes ~1 ms.
MAX_ORDER_SECONDS = 5.0

_HINT_EN = "see docs/mapping.md, \"Budgets\" (a var read twice by another var doubles at every step)"
_HINT_ID = "lihat docs/mapping.md, \"Budgets\" (var yang dibaca dua kali oleh var lain berlipat ganda tiap langkah)"
TEXT_TOO_LONG = define("budget.text", en=f"made a text of {{size}} characters; one value holds at most {{bound}}: {_HINT_EN}",
                       id=f"membuat teks {{size}} karakter; satu nilai paling banyak {{bound}}: {_HINT_ID}")
TOO_MANY_ITEMS = define("budget.items", en=f"made a list of {{size}} items; one list holds at most {{bound}}: {_HINT_EN}",
                        id=f"membuat daftar {{size}} butir; satu daftar paling banyak {{bound}}: {_HINT_ID}")
VALUE_TOO_BIG = define("budget.value",
                       en=f"made a value of more than {{bound}} characters and list items in all: {_HINT_EN}",
                       id=f"membuat nilai lebih dari {{bound}} karakter dan butir daftar seluruhnya: {_HINT_ID}")
ORDER_TOO_BIG = define("budget.order",
                       en=f"this order made more than {{bound}} characters and list items in all (the bound for one "
                          f"order); stopped here: {_HINT_EN}",
                       id=f"pesanan ini membuat lebih dari {{bound}} karakter dan butir daftar seluruhnya (batas satu "
                          f"pesanan); berhenti di sini: {_HINT_ID}")
ORDER_TOO_SLOW = define("budget.time",
                        en=f"mapping this order took more than {{bound}} seconds (the bound for one order); "
                           f"stopped here: {_HINT_EN}",
                        id=f"pemetaan pesanan ini memakan lebih dari {{bound}} detik (batas satu pesanan); "
                           f"berhenti di sini: {_HINT_ID}")
USES_OVER_BUDGET = define("budget.uses_var", en="reads {var}, which went over a bound (its own problem says which)",
                          id="membaca {var}, yang melewati batas (masalahnya sendiri menyebut batas yang mana)")


class OverBudget(Refusal):
    """A value or an order went over a bound: the code says which, the params say how far."""


class ReadsOverBudget(OverBudget):
    """An expression read a var that went over a bound (that var's own problem says which)."""

    def __init__(self, name: str):
        super().__init__(USES_OVER_BUDGET, var=f"vars.{name}")


# What an order's vars hold for a var that went over a bound: reading it raises ReadsOverBudget.
OVER: Any = type("OverBudgetVar", (), {"__repr__": lambda self: "OVER"})()


class OrderAbandoned(Exception):  # noqa: N818 - not an error of its own: the mapping of the order stops
    """The order went over its time or size and the rule that found it filed the problem: stop mapping it."""


class OrderBudget:
    """What one order has spent: units made, its deadline, and whether it already went over."""

    __slots__ = ("units", "deadline", "over")

    def __init__(self, seconds: float = MAX_ORDER_SECONDS):
        self.units = 0
        self.deadline = time.monotonic() + seconds
        self.over = False

    def went_over(self, code: str, bound: float) -> OverBudget | OrderAbandoned:
        """The exception to raise: the problem the first time, then "stop" (one problem per order)."""
        if self.over:
            return OrderAbandoned()
        self.over = True
        return OverBudget(code, bound=bound)


_CURRENT: contextvars.ContextVar[OrderBudget | None] = contextvars.ContextVar("mapping_budget", default=None)


class order_budget:  # noqa: N801 - used as a function: ``with order_budget():``
    """Meter what the code inside spends (one order's mapping); nested use keeps the outer budget.

    A class rather than a generator: it wraps every order, and this costs a third of the time.
    """

    __slots__ = ("_seconds", "_token")

    def __init__(self, seconds: float = MAX_ORDER_SECONDS):
        self._seconds = seconds
        self._token: contextvars.Token[OrderBudget | None] | None = None

    def __enter__(self) -> OrderBudget:
        current = _CURRENT.get()
        if current is not None:
            return current
        budget = OrderBudget(self._seconds)
        self._token = _CURRENT.set(budget)
        return budget

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None


def check_time() -> None:
    """Raise OverBudget when the order being mapped is past its time (no-op outside an order)."""
    budget = _CURRENT.get()
    if budget is not None and (budget.over or time.monotonic() > budget.deadline):
        raise budget.went_over(ORDER_TOO_SLOW, MAX_ORDER_SECONDS)


def charge(units: int) -> None:
    """Count ``units`` made against the order's total; raise OverBudget past it."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.units += units
        if budget.over or budget.units > MAX_ORDER_UNITS:
            raise budget.went_over(ORDER_TOO_BIG, MAX_ORDER_UNITS)


def weight(value: Any, limit: int = MAX_VALUE) -> int:
    """Characters plus items of ``value`` counted through its nested parts; stops once past ``limit``.

    Stopping early matters: a list holding the same big list twice, nested 26 times, is small in
    memory but 2**26 items to walk (and to print).
    """
    kind = type(value)
    if kind is str:
        return len(value)
    if kind is not list and kind is not dict:
        return 1
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            total += len(item)
        elif kind is list:
            total += len(item)
            stack.extend(item)
        elif kind is dict:
            total += len(item)
            stack.extend(item.values())
        else:
            total += 1
        if total > limit:
            break
    return total


def bounded(value: Any) -> Any:
    """``value`` when within the bounds of one value (and charged to the order); raise OverBudget."""
    kind = type(value)
    if kind is str:
        size = len(value)
        if size > MAX_TEXT:
            raise OverBudget(TEXT_TOO_LONG, size=size, bound=MAX_TEXT)
    elif kind is list or kind is dict:
        if kind is list and len(value) > MAX_ITEMS:
            raise OverBudget(TOO_MANY_ITEMS, size=len(value), bound=MAX_ITEMS)
        size = weight(value)
        if size > MAX_VALUE:
            raise OverBudget(VALUE_TOO_BIG, bound=MAX_VALUE)
    else:
        return value
    if size >= _UNCHARGED:
        charge(size)
    return value


# Values smaller than this are not counted against the order's total: the usual values (a name,
# a phone number) then cost no lookup of the order's budget, and small values cannot add up to
# much memory (each rule keeps one; time is bounded by the order's clock).
_UNCHARGED = 1024


def check_text_size(size: int) -> None:
    """Refuse to build a text of ``size`` characters (checked before joining, not after)."""
    if size > MAX_TEXT:
        raise OverBudget(TEXT_TOO_LONG, size=size, bound=MAX_TEXT)
