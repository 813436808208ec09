"""The cash-on-delivery rule: COD_FLAG, and COD_AMOUNT = what the courier collects.

For a COD order the courier collects the order total (goods + shipping - discounts) in whole
rupiah; a COD order without a positive total is an error (JNE would collect nothing). Other
orders get COD_FLAG NO and no COD_AMOUNT at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integration.mapping.language.expressions import EXPRESSION_FAILED, Expression, ExpressionError, is_false
from integration.mapping.language.values import (
    NOT_MONEY,
    NotANumber,
    decimal_text,
    is_blank,
    parse_decimal,
    shown,
    whole_rupiah,
)
from integration.mapping.rules.base import REQUIRED, Applied, ConfiguredRule, LoadContext, RuleKind
from integration.problems import Origin, Problem, define

OUTPUTS = ("COD_FLAG", "COD_AMOUNT")

NO_AMOUNT = define("rule.cod.no_amount", en="no amount to collect from {expression}",
                   id="tidak ada jumlah yang ditagih dari {expression}")
NOT_POSITIVE = define("rule.cod.not_positive",
                      en="the amount to collect is {amount}; a COD order needs an amount above 0",
                      id="jumlah yang ditagih {amount}; pesanan COD memerlukan jumlah di atas 0")


@dataclass(frozen=True)
class CodRule(ConfiguredRule):
    """The configured COD rule: ``when`` says the order is COD, ``amount`` gives the total."""

    name = "cod"
    origin: Origin
    when: Expression
    amount: Expression

    @property
    def outputs(self) -> tuple[str, ...]:
        """COD_FLAG and COD_AMOUNT."""
        return OUTPUTS

    def apply(self, scope: dict[str, Any], values: dict[str, str], now: datetime) -> Applied:
        """COD_FLAG and COD_AMOUNT for this order, and the problems."""
        try:
            return self._collect(scope)
        except ExpressionError as exc:
            return {}, [Problem("COD_FLAG", EXPRESSION_FAILED, {"error": str(exc)}, self.origin)]

    def _collect(self, scope: dict[str, Any]) -> Applied:
        if is_false(self.when.evaluate(scope)):
            return {"COD_FLAG": "NO"}, []
        raw = self.amount.evaluate(scope)
        if is_blank(raw):
            return {"COD_FLAG": "YES"}, [self._problem(NO_AMOUNT, expression=self.amount.source)]
        try:
            amount = whole_rupiah(parse_decimal(raw))
        except NotANumber as exc:
            return {"COD_FLAG": "YES"}, [self._problem(NOT_MONEY[exc.why], value=shown(raw))]
        if amount <= 0:
            return {"COD_FLAG": "YES"}, [self._problem(NOT_POSITIVE, amount=decimal_text(amount))]
        return {"COD_FLAG": "YES", "COD_AMOUNT": decimal_text(amount)}, []

    def _problem(self, code: str, **params: Any) -> Problem:
        return Problem("COD_AMOUNT", code, params, self.origin)


def parse(settings: dict[str, Any], ctx: LoadContext) -> CodRule | None:
    """Compile ``when`` and ``amount`` (both required; the loader has reported a missing one)."""
    found = {key: ctx.expression(settings[key], key) for key in ("when", "amount") if settings[key] is not None}
    if ctx.failed or len(found) < 2:
        return None
    return CodRule(ctx.origin(), found["when"], found["amount"])


KIND = RuleKind(name="cod", settings={"when": REQUIRED, "amount": REQUIRED}, fills=OUTPUTS, parse=parse)
