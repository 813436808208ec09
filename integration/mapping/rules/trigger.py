"""Trigger rules: does this delivery book a pickup, or is it skipped, and why.

Named ``skip_when`` conditions are checked first, in file order (a cancelled order arriving on
orders/paid reads "skipped: cancelled"); then ``book_when``. A delivery that is not a booking event
carries "not a booking event: <topic>/<status>" so the ledger says what arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integration.mapping.files.source import Origin
from integration.mapping.language.expressions import Expression, ExpressionError, is_false
from integration.mapping.language.values import text_of


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
    """The trigger's answer for one delivery."""

    book: bool
    reason: str | None
    problems: tuple[str, ...] = ()


def decide(trigger: Trigger, scope: dict[str, Any]) -> Decision:
    """Evaluate the trigger.

    A condition that fails on this order (``starts_with()`` on a number, say) cannot say "skip", so
    the order is not skipped: it carries the problem, which keeps it from being booked and puts it
    in front of a person ("needs attention") instead of hiding it among skipped orders.
    """
    problems: list[str] = []
    for condition in trigger.skip_when:
        try:
            hit = not is_false(condition.expression.evaluate(scope))
        except ExpressionError as exc:
            problems.append(f"trigger: skip_when {condition.name!r} failed on this order: {exc} ({condition.origin})")
            continue
        if hit:
            return Decision(False, f"skipped: {condition.name}", tuple(problems))
    if trigger.book_when is None:
        return Decision(True, None, tuple(problems))
    try:
        book = not is_false(trigger.book_when.expression.evaluate(scope))
    except ExpressionError as exc:
        problems.append(f"trigger: book_when failed on this order: {exc} ({trigger.book_when.origin})")
        return Decision(True, None, tuple(problems))
    if book or problems:
        return Decision(True, None, tuple(problems))
    return Decision(False, f"not a booking event: {_topic(scope)}/{_status(trigger, scope)}")


def _topic(scope: dict[str, Any]) -> str:
    event = scope.get("event")
    topic = event.get("topic") if isinstance(event, dict) else None
    return " ".join(text_of(topic).split())[:60] or "(no topic)"


def _status(trigger: Trigger, scope: dict[str, Any]) -> str:
    if trigger.status is None:
        return "-"
    try:
        status = trigger.status.evaluate(scope)
    except ExpressionError:
        return "?"
    if isinstance(status, list | dict):
        return "?"
    return " ".join(text_of(status).split())[:40] or "-"
