"""Turn one stored delivery into a booking request: trigger, mapping, then JNE's schema.

The one path both `preview` and the worker take, so what a store owner previews is exactly what
the worker would send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integration.config import Store
from integration.jne.schema import validate_booking
from integration.mapping import MappingResult


def prepare(store: Store, topic: str, order: Any, now: datetime,
            received_at: datetime | None = None) -> MappingResult:
    """Map ``order`` for ``store``; add JNE's schema problems to the mapping's own when it books.

    A skipped delivery carries its reason and no errors: nothing will be sent, so there is nothing
    to fix (its fields stay, best effort, for `preview`). A field the mapping already reported is
    not reported again by the schema: the mapping's message names the rule to fix, which is what
    the store owner needs. A rule-level key covers the fields it fills (``RECEIVER_ADDR`` covers
    RECEIVER_ADDR1..3).
    """
    event = {"topic": topic, "received_at": (received_at or now).isoformat()}
    result = store.mapping.apply(order, store.facts, event, now)
    if not result.book:
        result.errors.clear()
        return result
    reported = tuple(result.errors)
    for name, messages in validate_booking(result.fields).items():
        if not name.startswith(reported):
            result.errors[name] = list(messages)
    return result
