"""The ``retention:`` block of integration.yaml (DESIGN.md "Personal data").

```yaml
retention:
  personal_days: 90     # days after an order is settled (booked, skipped, failed) before its
                        # personal data is erased: names, phones, e-mails, addresses, notes, raw bodies
```

At least one day (a label is often printed the day after booking), at most ten years; fractions of
a day are allowed (``1.5``: thirty-six hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_PERSONAL_DAYS = 90

# Cerberus rules for the block, for integration/config.py's schema (key "retention").
SCHEMA: dict[str, Any] = {
    "type": "dict",
    "schema": {
        "personal_days": {"type": "number", "check_with": "finite", "min": 1, "max": 3650},
    },
}


@dataclass(frozen=True)
class RetentionSettings:
    """How long an order's personal data is kept once it is settled."""

    personal_days: float = DEFAULT_PERSONAL_DAYS


def from_document(block: dict[str, Any] | None) -> RetentionSettings:
    """The settings of a checked ``retention:`` block (None: the defaults)."""
    days = (block or {}).get("personal_days", DEFAULT_PERSONAL_DAYS)
    return RetentionSettings(personal_days=float(days))
