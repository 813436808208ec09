"""The Batam customs rule: HS_CODE, TAX_VALUE, ITEM_TYPE and NPWP for shipments from or to Batam.

Batam is a free-trade zone, so JNE needs a customs declaration: each HS code with the goods value
and quantity ("value;qty;code", comma-separated, at most five codes and 300 bytes). Lines are
grouped by HS code (in order of first appearance) before counting, so ten kinds of coffee under
one code are one entry. A line without an HS code, or more than five codes, is an error that names
the lines: the owner must add the code or split the shipment, never guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from integration.mapping.files.source import Origin
from integration.mapping.files.tables import LookupMiss, Table
from integration.mapping.language.expressions import Expression, ExpressionError, is_false
from integration.mapping.language.values import (
    NotANumber,
    decimal_text,
    is_blank,
    parse_decimal,
    shown,
    text_of,
    whole_rupiah,
)

OUTPUTS = ("HS_CODE", "TAX_VALUE", "ITEM_TYPE", "NPWP")
_IMPLAUSIBLE = Decimal(10) ** 15  # rupiah: far above any parcel, far below Decimal's precision
_HS_CODE = re.compile(r"^\d{4}(\.?\d{1,4}){0,3}$")  # and 4 to 10 digits, as JNE's schema says


@dataclass(frozen=True)
class BatamRule:
    """The configured Batam rule (expressions compiled at load)."""

    origin: Origin
    when: Expression | None  # None: origin or destination code starts with BTH
    lines: Expression
    hs_code: Expression      # per line, ``line.*``
    sku: Expression
    sku_table: Table | None
    line_name: Expression
    price: Expression
    quantity: Expression
    tax: Expression
    item_type: Expression
    npwp: Expression
    max_codes: int = 5
    max_bytes: int = 300


def _label(name: Any, sku: Any) -> str:
    title = " ".join(text_of(name).split())[:40] or "(no name)"
    code = " ".join(text_of(sku).split())[:30]
    return f"{title!r} (sku {code})" if code else f"{title!r} (no sku)"


def _names(labels: list[str], limit: int = 6) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def applies(rule: BatamRule, scope: dict[str, Any], fields: dict[str, str]) -> bool:
    """Whether this shipment needs the customs fields; raises ExpressionError from ``when``."""
    if rule.when is None:
        return any(fields.get(k, "").strip().upper().startswith("BTH") for k in ("ORIGIN_CODE", "DESTINATION_CODE"))
    return not is_false(rule.when.evaluate({**scope, "fields": fields}))


def declare(rule: BatamRule, scope: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The four customs fields and the problems, per field (messages without the rule suffix)."""
    out: dict[str, str] = {}
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    try:
        hs_code = _hs_code(rule, scope)
    except ExpressionError as exc:
        fail("HS_CODE", f"the expression failed on this order: {exc}")
    else:
        if isinstance(hs_code, str):
            out["HS_CODE"] = hs_code
        else:
            for message in hs_code:
                fail("HS_CODE", message)

    try:
        tax = rule.tax.evaluate(scope)
        if is_blank(tax):
            out["TAX_VALUE"] = "0"  # an order without a tax amount carries no tax
        else:
            amount = whole_rupiah(parse_decimal(tax))
            if amount < 0:
                fail("TAX_VALUE", f"the tax {text_of(tax)[:30]!r} is negative")
            else:
                out["TAX_VALUE"] = decimal_text(amount)
    except NotANumber as exc:
        fail("TAX_VALUE", f"{text_of(tax)[:30]!r} is not an amount of money ({exc})")
    except ExpressionError as exc:
        fail("TAX_VALUE", f"the expression failed on this order: {exc}")

    for field, expression in (("ITEM_TYPE", rule.item_type), ("NPWP", rule.npwp)):
        try:
            value = expression.evaluate(scope)
        except ExpressionError as exc:
            fail(field, f"the expression failed on this order: {exc}")
            continue
        if isinstance(value, list | dict):
            fail(field, f"got {text_of(value)[:40]!r}, expected text")
        elif not is_blank(value):
            out[field] = " ".join(text_of(value).split())
        elif field == "ITEM_TYPE":
            fail(field, f"no item type from {expression.source} (1-5; set store batam.item_type)")
    return out, errors


def _hs_code(rule: BatamRule, scope: dict[str, Any]) -> str | list[str]:
    """The HS_CODE text, or the problems."""
    lines = rule.lines.evaluate(scope)
    if not isinstance(lines, list) or not lines:
        return [f"no line items to declare from {rule.lines.source}"]
    groups: dict[str, list[Any]] = {}  # code -> [value, qty, labels]; dicts keep first-seen order
    missing: list[str] = []
    problems: list[str] = []
    for item in lines:
        line_scope = {**scope, "line": item}
        sku = rule.sku.evaluate(line_scope)
        label = _label(rule.line_name.evaluate(line_scope), sku)
        code_raw = rule.hs_code.evaluate(line_scope)
        if is_blank(code_raw) and rule.sku_table is not None and not is_blank(sku):
            try:
                code_raw = rule.sku_table.lookup(sku)
            except LookupMiss:
                code_raw = None
        if is_blank(code_raw) or isinstance(code_raw, list | dict):
            missing.append(label)
            continue
        code = "".join(text_of(code_raw).split())
        if not _HS_CODE.match(code) or not 4 <= sum(ch.isdigit() for ch in code) <= 10:
            problems.append(f"{text_of(code_raw)[:30]!r} of line {label} is not an HS code "
                            "(4 to 10 digits and dots, e.g. 0901.21)")
            continue
        try:
            price = parse_decimal(rule.price.evaluate(line_scope))
            qty = parse_decimal(rule.quantity.evaluate(line_scope))
        except NotANumber:
            problems.append(f"line {label} has no numeric price and quantity")
            continue
        if qty <= 0 or price < 0 or price * qty >= _IMPLAUSIBLE:
            problems.append(f"line {label} has quantity {decimal_text(qty)} and price {decimal_text(price)}")
            continue
        group = groups.setdefault(code, [Decimal(0), Decimal(0), []])
        group[0] += price * qty
        group[1] += qty
        group[2].append(label)
    if missing:
        table = f" or add its sku to {rule.sku_table.file_name}" if rule.sku_table else ""
        problems.append(f"no HS code for line(s) {_names(missing)}: give the product an 'HS Code' "
                        f"property{table}")
    if len(groups) > rule.max_codes:
        listed = "; ".join(f"{code}: {_names(g[2], 3)}" for code, g in groups.items())
        problems.append(f"{len(groups)} different HS codes, JNE takes at most {rule.max_codes} per "
                        f"shipment ({listed}): split the order into shipments")
    if problems:
        return problems
    text = ",".join(f"{decimal_text(whole_rupiah(v))};{decimal_text(q)};{code}" for code, (v, q, _) in groups.items())
    size = len(text.encode("utf-8"))
    if size > rule.max_bytes:
        return [f"{shown(text)} is {size} bytes, JNE takes at most {rule.max_bytes}: split the order"]
    return text
