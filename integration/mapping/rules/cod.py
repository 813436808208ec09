"""The cash-on-delivery rule: COD_FLAG, and COD_AMOUNT = what the courier collects.

For a COD order the courier collects the order total (goods + shipping - discounts) in whole
rupiah; a COD order without a positive total is an error (JNE would collect nothing). Other
orders get COD_FLAG NO and no COD_AMOUNT at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integration.mapping.files.source import Origin
from integration.mapping.language.expressions import Expression, is_false
from integration.mapping.language.values import (
    NotANumber,
    decimal_text,
    is_blank,
    parse_decimal,
    shown,
    whole_rupiah,
)

OUTPUTS = ("COD_FLAG", "COD_AMOUNT")


@dataclass(frozen=True)
class CodRule:
    """The configured COD rule: ``when`` says the order is COD, ``amount`` gives the total."""

    origin: Origin
    when: Expression
    amount: Expression


def collect(rule: CodRule, scope: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """COD_FLAG and COD_AMOUNT for this order, and problems; raises ExpressionError."""
    if is_false(rule.when.evaluate(scope)):
        return {"COD_FLAG": "NO"}, {}
    raw = rule.amount.evaluate(scope)
    if is_blank(raw):
        return {"COD_FLAG": "YES"}, {"COD_AMOUNT": [f"no amount to collect from {rule.amount.source}"]}
    try:
        amount = whole_rupiah(parse_decimal(raw))
    except NotANumber as exc:
        return {"COD_FLAG": "YES"}, {"COD_AMOUNT": [f"{shown(raw)} is not an amount of money ({exc})"]}
    if amount <= 0:
        return {"COD_FLAG": "YES"}, {"COD_AMOUNT": [f"the amount to collect is {decimal_text(amount)}; "
                                                    "a COD order needs an amount above 0"]}
    return {"COD_FLAG": "YES", "COD_AMOUNT": decimal_text(amount)}, {}
