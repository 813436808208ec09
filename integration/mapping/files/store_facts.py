"""``store.*`` paths checked by name at load: ``store.shipper.nama`` is a typo, not a blank on every order.

The store block of integration.yaml has a fixed shape (its schema lives in integration/config.py,
which passes it here as nested keys), so a path an expression reads under ``store`` either exists
in that shape or is a mistake. A wrong one would otherwise read as null on every order: a blank
field at best, a silently different booking at worst.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

# key -> the keys under it, None for a value (text, number or list) with nothing named inside, or
# ANY_KEYS for a block whose keys are the owner's own
StoreKeys = Mapping[str, Any]
ANY_KEYS = "*"


def check_store_path(path: tuple[str, ...], known: StoreKeys) -> str | None:
    """None when ``store.<path>`` names a key of the store block, else a message with a suggestion."""
    level: Any = known
    for depth, key in enumerate(path):
        so_far = ".".join(("store", *path[:depth]))
        if level is None:
            return f"{so_far} is a single value; it has no {key!r} inside (write {so_far})"
        if level == ANY_KEYS:  # a block of the owner's own keys: anything goes below it
            return None
        if key not in level:
            names = sorted(level)
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            hint = f", did you mean {so_far}.{close[0]}?" if close else ""
            return (f"{so_far}.{key} is not in the store block{hint} ({so_far} has: "
                    f"{', '.join(names)})")
        level = level[key]
    return None
