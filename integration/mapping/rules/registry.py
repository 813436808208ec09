"""The mapping rule plug-ins, in the order the engine applies them.

The loader accepts exactly these names under ``rules:`` and the engine loops over them; a new rule
is one module declaring a ``KIND`` (see base.py) and one line here. Rules that ``provide`` a scope
root (pickup) run before vars; the others run after the field rules, in this order (batam reads
the codes the fields and the destination rule produced).

The trigger is not here: it is its own top-level section (``trigger:``), decides book or skip
rather than filling fields, and runs for every mapping (see trigger.py).
"""

from __future__ import annotations

from integration.mapping.rules import address, batam, cod, destination, pickup
from integration.mapping.rules.base import RuleKind

RULES: tuple[RuleKind, ...] = (
    address.KIND,
    destination.KIND,
    cod.KIND,
    batam.KIND,
    pickup.KIND,
)
BY_NAME: dict[str, RuleKind] = {kind.name: kind for kind in RULES}
