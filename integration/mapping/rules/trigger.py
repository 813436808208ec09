"""Trigger rules: does this delivery book a pickup, or is it skipped, and why.

Named ``skip_when`` conditions are checked first, in file order (a cancelled order arriving on
orders/paid is skipped with the reason "cancelled", the condition's name; a name holding
``{value}`` carries the condition's value: ``shipped with {value}, not JNE`` whose expression gives
"SiCepat" is the reason "shipped with SiCepat, not JNE"); then ``book_when``. A
delivery that is not a booking event carries "not a booking event: <topic>/<status>" so the ledger
says what arrived. The reason is the reason only: the status ("skipped") is said by whoever shows it.

The trigger is not a ``rules:`` plug-in (it is its own top-level section and decides book or skip
rather than filling fields), but it parses through the same :class:`LoadContext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integration.mapping.files.documents import suggest
from integration.mapping.language.budget import OverBudget
from integration.mapping.language.expressions import Expression, ExpressionError, is_false
from integration.mapping.language.values import text_of
from integration.mapping.rules.base import LoadContext
from integration.problems import Origin, Problem, define

KEYS = ("book_when", "skip_when", "status")
KEY = "trigger"  # what the trigger's problems and reasons are filed under
VALUE = "{value}"  # in a skip_when name: replaced by the condition's value in the reason

SKIPPED = define("trigger.skipped", en="{condition}", id="{condition}")
NOT_BOOKING_EVENT = define("trigger.not_booking_event", en="not a booking event: {topic}/{status}",
                           id="bukan peristiwa pemesanan: {topic}/{status}")
NOT_BOOKING_EVENT_NO_TOPIC = define("trigger.not_booking_event_no_topic",
                                    en="not a booking event: (no topic)/{status}",
                                    id="bukan peristiwa pemesanan: (tanpa topik)/{status}")
SKIP_WHEN_FAILED = define("trigger.skip_when_failed", en="skip_when {condition} failed on this order: {error}",
                          id="skip_when {condition} gagal pada pesanan ini: {error}")
BOOK_WHEN_FAILED = define("trigger.book_when_failed", en="book_when failed on this order: {error}",
                          id="book_when gagal pada pesanan ini: {error}")


@dataclass(frozen=True)
class Condition:
    """One named condition and where it was written."""

    name: str
    expression: Expression
    origin: Origin


@dataclass(frozen=True)
class Trigger:
    """``book_when`` (None: every delivery books), named ``skip_when`` conditions, a status for reasons."""

    book_when: Condition | None
    skip_when: tuple[Condition, ...]
    status: Expression | None


@dataclass(frozen=True)
class Decision:
    """The trigger's answer for one delivery: book, or the reason not to (as a problem), and problems."""

    book: bool
    reason: Problem | None
    problems: tuple[Problem, ...] = ()


def decide(trigger: Trigger, scope: dict[str, Any]) -> Decision:
    """Evaluate the trigger.

    A condition that fails on this order (``starts_with()`` on a number, say) cannot say "skip", so
    the order is not skipped: it carries the problem, which keeps it from being booked and puts it
    in front of a person ("needs attention") instead of hiding it among skipped orders.
    """
    problems: list[Problem] = []
    for condition in trigger.skip_when:
        try:
            value = condition.expression.evaluate(scope)
        except ExpressionError as exc:
            problems.append(Problem(KEY, SKIP_WHEN_FAILED, {"condition": repr(condition.name), "error": str(exc)},
                                    condition.origin))
            continue
        except OverBudget as exc:
            problems.append(exc.problem(KEY, condition.origin))
            continue
        if not is_false(value):
            return Decision(False, Problem(KEY, SKIPPED, {"condition": _reason(condition.name, value)}),
                            tuple(problems))
    if trigger.book_when is None:
        return Decision(True, None, tuple(problems))
    try:
        book = not is_false(trigger.book_when.expression.evaluate(scope))
    except ExpressionError as exc:
        problems.append(Problem(KEY, BOOK_WHEN_FAILED, {"error": str(exc)}, trigger.book_when.origin))
        return Decision(True, None, tuple(problems))
    except OverBudget as exc:
        problems.append(exc.problem(KEY, trigger.book_when.origin))
        return Decision(True, None, tuple(problems))
    if book or problems:
        return Decision(True, None, tuple(problems))
    topic = _topic(scope)
    status = _status(trigger, scope)
    if topic is None:
        return Decision(False, Problem(KEY, NOT_BOOKING_EVENT_NO_TOPIC, {"status": status}))
    return Decision(False, Problem(KEY, NOT_BOOKING_EVENT, {"topic": topic, "status": status}))


def _reason(name: str, value: Any) -> str:
    """The condition's name as the reason; ``{value}`` in it is the condition's value ("shipped with SiCepat")."""
    if VALUE not in name:
        return name
    shown = (" ".join(text_of(value).split())[:60] if isinstance(value, str | int | float)
             and not isinstance(value, bool) else "") or "?"
    return name.replace(VALUE, shown)


def _topic(scope: dict[str, Any]) -> str | None:
    event = scope.get("event")
    topic = event.get("topic") if isinstance(event, dict) else None
    return " ".join(text_of(topic).split())[:60] or None


def _status(trigger: Trigger, scope: dict[str, Any]) -> str:
    if trigger.status is None:
        return "-"
    try:
        status = trigger.status.evaluate(scope)
    except (ExpressionError, OverBudget):
        return "?"
    if isinstance(status, list | dict):
        return "?"
    return " ".join(text_of(status).split())[:40] or "-"


def parse(spec: dict[str, Any], ctx: LoadContext) -> Trigger:
    """Check the ``trigger:`` section and compile its conditions (problems go through ``ctx``)."""
    for key in spec:
        if key not in KEYS:
            ctx.sub(key, rule=f"trigger.{key}").problem(
                f"unknown key {suggest(text_of(key), KEYS)}(known: {', '.join(KEYS)})")
    book_when = None
    if spec.get("book_when") is not None:
        at = ctx.sub("book_when", rule="trigger.book_when")
        expression = at.expression(spec["book_when"])
        if expression is not None:
            book_when = Condition("book_when", expression, at.origin())
    status = None
    if spec.get("status") is not None:
        status = ctx.sub("status", rule="trigger.status").expression(spec["status"])
    skips: list[Condition] = []
    skip_spec = spec.get("skip_when") or {}
    if not isinstance(skip_spec, dict):
        ctx.sub("skip_when", rule="trigger.skip_when").problem(
            "needs named conditions, e.g. {test order: 'order.test'}")
        skip_spec = {}
    for name, source in skip_spec.items():
        if source is None:
            continue
        at = ctx.sub("skip_when", name, rule=f"trigger.skip_when.{name}")
        expression = at.expression(source)
        if expression is not None:
            skips.append(Condition(text_of(name), expression, at.origin()))
    return Trigger(book_when, tuple(skips), status)
