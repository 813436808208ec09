"""Turn one stored delivery into a booking request: trigger, mapping, then JNE's schema.

The one path both `preview` and the worker take, so what a store owner previews is exactly what
the worker would send. The result carries :class:`~integration.problems.Problem` values; show them
with ``result.messages(config.language)`` (``result.errors`` is the same in English).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integration.config import Store
from integration.jne.schema import booking_problems
from integration.mapping import Mapping, MappingResult
from integration.webhooks.order_body import unwrap_order


def prepare(store: Store, topic: str, order: Any, now: datetime,
            received_at: datetime | None = None) -> MappingResult:
    """Map ``order`` for ``store``; add JNE's schema problems to the mapping's own when it books.

    A skipped delivery carries its reason and no problems: nothing will be sent, so there is nothing
    to fix (its fields stay, best effort, for `preview`).
    """
    event = {"topic": topic, "received_at": (received_at or now).isoformat()}
    order = unwrap_order(order)  # {"order": {...}} (legacy API v3): the receiver took it the same way
    result = store.mapping.apply(order, store.facts, event, now)
    if not result.book:
        result.problems = []
        return result
    add_schema_problems(store.mapping, result)
    return result


def add_schema_problems(mapping: Mapping, result: MappingResult) -> None:
    """Add what JNE's schema finds in ``result.fields``, except about fields the mapping already reported.

    The mapping's problem names the rule to fix, which is what the store owner needs, so a field it
    reported is not reported again. Fields match by exact name: ``PICKUP_PIC`` does not cover
    ``PICKUP_PIC_PHONE``, ``TYPE`` does not cover ``ITEM_TYPE``; a rule-level key covers exactly the
    fields its rule fills (the address rule's ``RECEIVER_ADDR`` covers RECEIVER_ADDR1..3).
    """
    found = booking_problems(result.fields)
    if not found:
        return
    if result.problems:
        covered = mapping.covered(result.problems)
        found = [p for p in found if p.key not in covered]
    result.problems = [*result.problems, *found]
